"""The pipeline, cut where the lock file cuts it: inputs → index + snapshot → resolve → plan → text.

``lock_requirements`` does the I/O-bound half (index and snapshot), ``render`` the pure half; both
``nixgen generate`` and ``nixgen lock`` are these two calls in sequence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from nixgen.emit.flake import NixpkgsPin, render_flake
from nixgen.errors import NixgenError, ResolutionError, UsageError
from nixgen.inputs.model import RequirementSet
from nixgen.nixpkgs.snapshot import CacheFact, PythonSet, Snapshot
from nixgen.overrides import Overrides, load_overrides
from nixgen.plan import Plan, make_plan
from nixgen.plan.status import predict
from nixgen.resolve import SYSTEMS, Resolution, ResolveOptions, Target, resolve
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
    systems: tuple[str, ...] = tuple(SYSTEMS)  # every Nix system nixgen knows, x86_64-linux first
    snapshot_dir: Path | None = None
    override_files: tuple[Path, ...] = ()
    tests: bool = False
    strategy: str = "min-build"  # "min-build": least estimated build time; "latest": newest versions
    build_metadata: bool = True  # may run PEP 517 metadata hooks of sdists whose metadata is not static


@dataclass(frozen=True)
class Locked:
    """Resolutions (one per Nix system that resolved) with the snapshot pin and provenance."""

    resolutions: tuple[Resolution, ...]
    nixpkgs: NixpkgsPin
    sources: tuple[str, ...]
    exclude_newer: datetime | None = None
    forced: frozenset[str] = frozenset()
    tests: bool = False
    override_files: tuple[str, ...] = ()
    traded: frozenset[str] = frozenset()  # nixpkgs packages min-build took as wheels instead of rebuilding
    strategy_notes: tuple[str, ...] = ()
    failures: tuple[tuple[str, str], ...] = ()  # (system, why) for systems that could not resolve

    @property
    def resolution(self) -> Resolution:
        """The first system's resolution (what single-target reports show)."""
        return self.resolutions[0]


@lru_cache(maxsize=8)
def _overrides(snapshot: Snapshot, files: tuple[Path, ...]) -> Overrides:
    """Curated and user override rules, read and validated once per process (resolving and planning
    both need them)."""
    return load_overrides(snapshot.knows_toplevel, files)


def nixpkgs_pin(snapshot: Snapshot) -> NixpkgsPin:
    meta = snapshot.meta
    note = f"nixpkgs snapshot from {meta.generated_from}"
    if re.fullmatch(r"[0-9a-f]{40}", meta.nixpkgs_rev):
        return NixpkgsPin(rev=meta.nixpkgs_rev, nar_hash=meta.nar_hash or None, note=note)
    # No revision known (a snapshot evaluated from a local checkout or path flake): pin what was evaluated.
    url = meta.source if ":" in meta.source else f"path:{meta.source}"
    return NixpkgsPin(rev=meta.nixpkgs_rev, nar_hash=meta.nar_hash or None, note=note + f" ({url})", url=url)


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
    # The system's own data (its set, plus what the first system's has and it lacks; glibc); the first
    # system's where the snapshot has none for it (darwin).
    data = snapshot.for_system(system) or snapshot.default
    pyset = snapshot.candidate_set(system, interpreter)
    target = Target(interpreter=interpreter, python_version=snapshot.interpreters[interpreter],
                    system=system, glibc_version=data.glibc_version)
    return target, pyset


def python_candidates(snapshot: Snapshot) -> list[str]:
    """The snapshot's interpreters as ``X.Y``: python3 first, then the others, newest first (no pre-releases)."""
    from packaging.version import Version

    default = snapshot.meta.python3
    ordered = sorted(snapshot.interpreters.items(), key=lambda kv: (kv[0] != default, -Version(kv[1]).minor))
    return [".".join(v.split(".")[:2]) for _a, v in ordered if not Version(v).is_prerelease]


def lock_requirements(reqset: RequirementSet, options: Options,
                      on_fetch: Callable[[str, int], None] | None = None) -> Locked:
    """Resolve ``reqset`` against the index and the nixpkgs snapshot.

    With ``python="auto"``, the first nixpkgs interpreter (python3 first) for which the requirements resolve;
    when the default interpreter fails, the error says which other interpreters would work.
    """
    if options.python == "auto":
        snapshot = Snapshot.load(options.snapshot_dir)
        tried: list[str] = []
        for version in python_candidates(snapshot):
            try:
                locked = _lock_for_python(reqset, replace(options, python=version), on_fetch)
            except ResolutionError as err:
                tried.append(f"Python {version}: {' '.join(err.message.split())}")
                continue
            return replace(locked, strategy_notes=(*locked.strategy_notes, f"--python auto chose {version}"))
        raise ResolutionError("no nixpkgs Python satisfies the requirements:\n  " + "\n  ".join(tried),
                              hint="loosen the pins that need an old Python")
    try:
        return _lock_for_python(reqset, options, on_fetch)
    except ResolutionError as err:
        if options.python is not None:
            raise
        snapshot = Snapshot.load(options.snapshot_dir)
        others = python_candidates(snapshot)[1:]
        for version in others:
            try:
                _lock_for_python(reqset, replace(options, python=version, strategy="latest"), None)
            except NixgenError:
                continue
            attr = f"python{version.replace('.', '')}"
            has_set = snapshot.has_python_set(attr)
            raise ResolutionError(
                f"{err.message}\n  these requirements do resolve for Python {version} (nixpkgs {attr}, "
                f"{'with' if has_set else 'without'} a package set in the snapshot)",
                hint=f"pass --python {version}, or --python auto to choose automatically") from None
        interpreters = ", ".join(f"{a} {v}" for a, v in sorted(snapshot.interpreters.items()))
        raise ResolutionError(f"{err.message}\n  no other nixpkgs interpreter resolves them either "
                              f"({interpreters})", hint=err.hint) from None


def _lock_for_python(reqset: RequirementSet, options: Options,
                     on_fetch: Callable[[str, int], None] | None = None) -> Locked:
    """Resolve ``reqset`` for ``options.python`` on each system."""
    from nixgen.pypi import Index  # network stack loads only when something is resolved

    snapshot = Snapshot.load(options.snapshot_dir)
    _first, pyset = choose_target(snapshot, options.python, options.systems[0])
    overrides = _overrides(snapshot, tuple(options.override_files))
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
    prefer = "latest" if options.strategy == "latest" else options.prefer
    with Index(urls or None, cache_dir=options.cache_dir, offline=options.offline,
               exclude_newer=options.exclude_newer, on_fetch=on_fetch) as index:

        resolutions: list[Resolution] = []
        failures: list[tuple[str, str]] = []
        traded: set[str] = set()
        notes: list[str] = []
        reference, _pyset = choose_target(snapshot, options.python, options.systems[0])
        for system in dict.fromkeys(options.systems):
            target, _pyset = choose_target(snapshot, options.python, system)
            where = f" ({system})" if len(options.systems) > 1 else ""

            def resolve_with(providers: Mapping[str, Provider], target: Target = target,
                             pyset: PythonSet | None = _pyset) -> Resolution:
                return resolve(reqset, index, pyset, target,
                               ResolveOptions(prefer=prefer, providers=dict(providers), overrides=overrides,
                                              native_versions=native_versions,
                                              build_metadata=options.build_metadata,
                                              metadata_target=reference))

            try:
                resolution = resolve_with(options.providers)
            except ResolutionError as err:
                if len(options.systems) == 1:
                    raise
                failures.append((system, err.message))
                continue
            if target.facts.deprecation:
                notes.append(f"note: {system}: {target.facts.deprecation}")
            cache_of = cache_facts(snapshot, system, target.interpreter)
            if options.strategy == "min-build":
                resolution, system_traded, system_notes = min_build(resolution, resolve_with, options.providers,
                                                                    overrides, cache_of)
                traded |= system_traded
                notes += [n + where for n in system_notes]
            else:
                total = predict(make_plan(resolution, frozenset(options.providers), overrides,
                                          cache_of=cache_of)).total_minutes
                notes.append(f"strategy latest: about {total:g} estimated build minutes{where}")
            resolutions.append(resolution)
    if not resolutions:
        raise ResolutionError("no system could be resolved:\n" + "\n".join(f"{s}: {m}" for s, m in failures))
    return Locked(resolutions=tuple(resolutions), nixpkgs=nixpkgs_pin(snapshot), sources=reqset.sources,
                  exclude_newer=options.exclude_newer, forced=frozenset(options.providers), tests=options.tests,
                  override_files=tuple(str(p) for p in options.override_files), traded=frozenset(traded),
                  strategy_notes=tuple(notes), failures=tuple(failures))


def cache_facts(snapshot: Snapshot, system: str, interpreter: str) -> Callable[[str], CacheFact]:
    """attr → whether ``system``'s binary-cache data lists it (for :func:`make_plan`)."""
    return lambda attr: snapshot.cache_fact(system, interpreter, attr)


def min_build(resolution: Resolution, resolve_with: Callable[[Mapping[str, Provider]], Resolution],
              providers: Mapping[str, Provider], overrides: Overrides,
              cache_of: Callable[[str], CacheFact] | None = None) -> tuple[Resolution, frozenset[str], list[str]]:
    """Among valid resolutions, move toward the one with the least estimated build time.

    A nixpkgs package that must be built (something in its closure is replaced, or the system's cache data
    does not list it) is tried as a wheel instead, the most expensive first, and kept that way when the
    estimated total goes down; one whose cache is unknown (``unverified``) is never traded. Then the user is
    told which replaced packages cost rebuilds and what pinning them to nixpkgs' version would save.
    """
    forced = frozenset(providers)
    plan = make_plan(resolution, forced, overrides, cache_of=cache_of)
    best = predict(plan)
    keep = overrides.always_nixpkgs() | forced
    from_nixpkgs = {p.name for p in plan.packages if p.provider == "nixpkgs"}
    traded: set[str] = set()
    notes: list[str] = []
    for status in sorted((s for s in best.statuses if s.state in ("rebuild", "build") and s.name in from_nixpkgs
                          and s.name not in keep), key=lambda s: (-s.minutes, s.name)):
        trial: dict[str, Provider] = {**providers, **{n: "wheel" for n in traded}, status.name: "wheel"}
        try:
            alternative = resolve_with(trial)
        except NixgenError:
            continue
        predicted = predict(make_plan(alternative, forced, overrides, cache_of=cache_of))
        if predicted.total_minutes < best.total_minutes:
            what = "a rebuild of nixpkgs' build" if status.state == "rebuild" else "building nixpkgs' (not cached)"
            notes.append(f"min-build: {status.name} as a wheel instead of {what} "
                         f"(~{best.total_minutes - predicted.total_minutes:g} min less)")
            resolution, best = alternative, predicted
            traded.add(status.name)
    plan = make_plan(resolution, forced, overrides, cache_of=cache_of)
    for p in plan.packages:
        if not p.replaces:
            continue
        saving = sum(s.minutes for s in best.statuses if s.state == "rebuild" and s.cause
                     and s.cause[-1].startswith(f"{p.name} "))
        if saving:
            notes.append(f"alternative: a requirement set that allows {p.name}=={p.nixpkgs_version} (nixpkgs' "
                         f"version) would save ~{saving:g} min of rebuilds")
    return resolution, frozenset(traded), notes


def plans_of(locked: Locked, snapshot_dir: Path | None = None) -> list[Plan]:
    """One plan per resolved system, with the overrides that apply now (curated + the lock's files)."""
    snapshot = Snapshot.load(snapshot_dir)
    overrides = _overrides(snapshot, tuple(Path(p) for p in locked.override_files))
    plans = []
    for r in locked.resolutions:
        pyset = snapshot.candidate_set(r.system, r.interpreter)
        edges = pyset.edges if pyset is not None else {}
        plans.append(make_plan(r, locked.forced, overrides, locked.tests, locked.traded, edges,
                               cache_facts(snapshot, r.system, r.interpreter)))
    return plans


def plan_of(locked: Locked, snapshot_dir: Path | None = None) -> Plan:
    """The first system's plan (reports, explain, verify)."""
    return plans_of(locked, snapshot_dir)[0]


def header_lines(locked: Locked) -> list[str]:
    lines = [f"from: {', '.join(locked.sources) or '(none)'}"]
    if locked.exclude_newer is not None:
        lines.append(f"exclude-newer: {locked.exclude_newer.isoformat()}")
    relaxations = dict.fromkeys(rel.describe() for r in locked.resolutions for rel in r.relaxations)
    lines += [f"relaxed (as nixpkgs has it): {rel}" for rel in relaxations]
    lines.extend(locked.strategy_notes)
    lines += [f"not generated for {system}: {' '.join(why.split())}" for system, why in locked.failures]
    return lines


def render(locked: Locked, snapshot_dir: Path | None = None, flake_dir: Path | None = None) -> tuple[str, Plan]:
    """The flake text for a locked resolution (written into ``flake_dir``), and the plan it shows."""
    plans = plans_of(locked, snapshot_dir)
    return render_flake(plans, locked.nixpkgs, header_lines(locked), flake_dir), plans[0]
