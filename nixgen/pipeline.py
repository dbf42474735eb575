"""The pipeline, cut where the lock file cuts it: inputs → index + snapshot → resolve → plan → text.

``lock_requirements`` does the I/O-bound half (index and snapshot), ``render`` the pure half; both
``nixgen generate`` and ``nixgen lock`` are these two calls in sequence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from nixgen.emit.flake import NixpkgsPin, render_flake
from nixgen.errors import UsageError
from nixgen.inputs.model import RequirementSet
from nixgen.nixpkgs.snapshot import PythonSet, Snapshot
from nixgen.overrides import load_overrides
from nixgen.plan import Plan, make_plan
from nixgen.resolve import Resolution, ResolveOptions, Target, resolve
from nixgen.resolve.model import Provider


@dataclass(frozen=True)
class Options:
    """Everything the CLI lets a user choose, with the defaults a plain ``nixgen FILE`` uses."""

    index_urls: tuple[str, ...] = ()
    offline: bool = False
    exclude_newer: datetime | None = None
    cache_dir: Path | None = None
    prefer: str = "nixpkgs"
    providers: Mapping[str, Provider] = field(default_factory=dict)
    python: str | None = None
    system: str = "x86_64-linux"
    snapshot_dir: Path | None = None
    override_files: tuple[Path, ...] = ()
    tests: bool = False


@dataclass(frozen=True)
class Locked:
    """A resolution with the snapshot pin and provenance it was made with."""

    resolution: Resolution
    nixpkgs: NixpkgsPin
    sources: tuple[str, ...]
    exclude_newer: datetime | None = None
    forced: frozenset[str] = frozenset()
    tests: bool = False
    override_files: tuple[str, ...] = ()


def nixpkgs_pin(snapshot: Snapshot) -> NixpkgsPin:
    meta = snapshot.meta
    return NixpkgsPin(rev=meta.nixpkgs_rev, nar_hash=meta.nar_hash or None,
                      note=f"nixpkgs snapshot from {meta.generated_from}")


def choose_target(snapshot: Snapshot, python: str | None, system: str) -> tuple[Target, PythonSet | None]:
    """The target interpreter (default: the snapshot's python3) and its nixpkgs package set."""
    if python is None:
        interpreter = snapshot.meta.python3
    else:
        parts = python.split(".")
        if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
            raise UsageError(f"--python {python!r} is not a Python version", hint="use e.g. --python 3.13")
        interpreter = f"python{parts[0]}{parts[1]}"
    if interpreter not in snapshot.interpreters:
        known = ", ".join(f"{k} ({v})" for k, v in sorted(snapshot.interpreters.items()))
        raise UsageError(f"the nixpkgs snapshot has no interpreter {interpreter}",
                         hint=f"interpreters in the snapshot: {known}")
    try:
        pyset: PythonSet | None = snapshot.python_set(interpreter)
    except KeyError:
        pyset = None
    target = Target(interpreter=interpreter, python_version=snapshot.interpreters[interpreter],
                    system=system, glibc_version=snapshot.meta.glibc_version)
    return target, pyset


def lock_requirements(reqset: RequirementSet, options: Options,
                      on_fetch: Callable[[str, int], None] | None = None) -> Locked:
    """Resolve ``reqset`` for the chosen target against the index and the nixpkgs snapshot."""
    from nixgen.pypi import Index  # network stack loads only when something is resolved

    snapshot = Snapshot.load(options.snapshot_dir)
    target, pyset = choose_target(snapshot, options.python, options.system)
    overrides = load_overrides(snapshot.knows_toplevel, options.override_files)
    native_versions = {}
    for name in sorted(overrides.always_nixpkgs()):
        native = snapshot.native(name)
        if (pyset is None or pyset.by_pypi_name(name) is None) and native is not None:
            version = native.store_name.removeprefix(f"{name}-").split("-")[0]
            native_versions[name] = version
    urls: list[str] = list(options.index_urls)
    if not urls:
        if reqset.index_url:
            urls.append(reqset.index_url)
        urls.extend(reqset.extra_index_urls)
    with Index(urls or None, cache_dir=options.cache_dir, offline=options.offline,
               exclude_newer=options.exclude_newer, on_fetch=on_fetch) as index:
        resolution = resolve(reqset, index, pyset, target,
                             ResolveOptions(prefer=options.prefer, providers=dict(options.providers),
                                            overrides=overrides, native_versions=native_versions))
    return Locked(resolution=resolution, nixpkgs=nixpkgs_pin(snapshot), sources=reqset.sources,
                  exclude_newer=options.exclude_newer, forced=frozenset(options.providers), tests=options.tests,
                  override_files=tuple(str(p) for p in options.override_files))


def plan_of(locked: Locked, snapshot_dir: Path | None = None) -> Plan:
    """The plan for a locked resolution, with the overrides that apply now (curated + the lock's files)."""
    snapshot = Snapshot.load(snapshot_dir)
    overrides = load_overrides(snapshot.knows_toplevel, [Path(p) for p in locked.override_files])
    return make_plan(locked.resolution, locked.forced, overrides, locked.tests)


def header_lines(locked: Locked) -> list[str]:
    lines = [f"from: {', '.join(locked.sources) or '(none)'}"]
    if locked.exclude_newer is not None:
        lines.append(f"exclude-newer: {locked.exclude_newer.isoformat()}")
    for rel in locked.resolution.relaxations:
        lines.append(f"relaxed (as nixpkgs has it): {rel.describe()}")
    return lines


def render(locked: Locked, snapshot_dir: Path | None = None) -> tuple[str, Plan]:
    """The flake text for a locked resolution, and the plan it shows."""
    plan = plan_of(locked, snapshot_dir)
    return render_flake(plan, locked.nixpkgs, header_lines(locked)), plan
