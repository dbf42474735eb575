"""A :class:`~nixgen.lock.model.Lock` as PEP 751 ``pylock.toml``, written and read from one schema.

The standard part (built and validated with ``packaging.pylock``) lists every pin with the index file another
installer would use; ``[tool.nixgen]`` (file level and per package) holds the rest of the lock's values,
encoded by :mod:`nixgen.lock.schema` from the model's dataclasses — a field added to a model is written and
read with no change here. Pins nixpkgs has but the index does not (no artifact to name) live only under
``[tool.nixgen] nixpkgs-only``, since PEP 751 requires a source for every package.

Paths (sources, override files, the snapshot directory, local projects) are stored relative to the lock's
directory, absolute only outside the project (the nearest ancestor holding ``.git``; without one, the lock
directory's parent).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomli_w
from packaging.markers import Marker
from packaging.pylock import (
    Package,
    PackageDirectory,
    PackageSdist,
    PackageVcs,
    PackageWheel,
    Pylock,
    PylockValidationError,
)
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from nixgen.core.kinds import CacheFact, FoundBy, ReasonKind
from nixgen.errors import InputError
from nixgen.lock.model import (
    Alternative,
    Lock,
    LockOptions,
    NixpkgsPin,
    OverridesRef,
    SnapshotRef,
    SystemFailure,
    Trade,
)
from nixgen.lock.schema import decode, encode
from nixgen.plan.model import BuildRecipe, Plan, PlannedPackage
from nixgen.plan.planner import link
from nixgen.resolve.model import Artifact, Pin, Relaxation, VcsSource
from nixgen.resolve.target import SYSTEMS, Target

FORMAT = 2
_STANDARD = ("name", "version", "artifact", "source-path", "vcs")  # pin keys that live in PEP 751's own fields


@dataclass(frozen=True)
class TargetEntry:
    """One resolved system in ``[[tool.nixgen.targets]]``: the plan's own fields but its packages."""

    system: str
    interpreter: str
    python_version: str
    roots: tuple[str, ...] = ()
    relaxations: tuple[Relaxation, ...] = ()
    notes: tuple[str, ...] = ()
    found_by: FoundBy | None = None  # None: a lock made before it was recorded
    found_from: str | None = None


@dataclass(frozen=True)
class LockHeader:
    """``[tool.nixgen]`` without the targets and packages."""

    format: int
    nixpkgs: NixpkgsPin
    snapshot: SnapshotRef
    overrides: OverridesRef = field(default_factory=OverridesRef)
    options: LockOptions = field(default_factory=LockOptions)
    trades: tuple[Trade, ...] = ()
    alternatives: tuple[Alternative, ...] = ()
    failures: tuple[SystemFailure, ...] = ()


@dataclass(frozen=True)
class PackageTool:
    """``[packages.tool.nixgen]``: a planned package less what PEP 751's fields hold."""

    reason: ReasonKind
    pin: dict[str, Any]
    cache: CacheFact = "listed"
    recipe: BuildRecipe = field(default_factory=BuildRecipe)
    systems: tuple[str, ...] = ()
    vcs_hash: str | None = None  # a git source's NAR hash (fetchgit's hash), which [packages.vcs] has no key for


# -- paths ------------------------------------------------------------------------------------------------
def _project_root(directory: Path) -> Path:
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():
            return candidate
    return directory.parent


def relative_to(path: str, directory: Path) -> str:
    """``path`` relative to ``directory`` when both are in one project, else absolute."""
    target = Path(os.path.abspath(path))
    base = Path(os.path.abspath(directory))
    root = _project_root(base)
    if target == root or root in target.parents:
        return os.path.relpath(target, base)
    return str(target)


def absolute_from(path: str, directory: Path) -> str:
    """A stored path made absolute again (relative ones are relative to the lock's directory)."""
    return os.path.normpath(os.path.join(os.path.abspath(directory), path))


def _map_paths(lock: Lock, convert: Callable[[str], str]) -> Lock:
    options = lock.options
    options = replace(options, sources=tuple(convert(s) for s in options.sources),
                      snapshot=convert(options.snapshot) if options.snapshot else None)
    files = tuple(replace(f, path=convert(f.path)) for f in lock.overrides.files)
    snapshot = lock.snapshot
    if snapshot.location:
        snapshot = replace(snapshot, location=convert(snapshot.location))

    def plan(p: Plan) -> Plan:
        return replace(p, packages=tuple(
            replace(pkg, pin=replace(pkg.pin, source_path=convert(pkg.pin.source_path)))
            if pkg.pin.source_path else pkg for pkg in p.packages))

    return replace(lock, options=options, overrides=replace(lock.overrides, files=files), snapshot=snapshot,
                   plans=tuple(plan(p) for p in lock.plans))


# -- writing ----------------------------------------------------------------------------------------------
def environment_marker(system: str) -> str:
    """A PEP 508 marker selecting one Nix system."""
    facts = SYSTEMS[system]
    return f'sys_platform == "{facts.sys_platform}" and platform_machine == "{facts.platform_machine}"'


def _pin_tool(pin: Pin) -> dict[str, Any]:
    data = encode(pin)
    for key in _STANDARD:
        data.pop(key, None)
    return data


def write_pylock(lock: Lock, directory: Path, command: str = "") -> str:
    """The lock text for a file in ``directory``; the same lock always gives the same bytes.

    A planned package that is the same on every resolved system is one entry with no marker; one that
    differs is an entry per variant, with a marker selecting its systems (PEP 751 allows several entries of
    one name).
    """
    lock = _map_paths(lock, lambda p: relative_to(p, directory))
    systems = list(lock.systems)
    variants: dict[PlannedPackage, list[str]] = {}
    for plan in lock.plans:
        for pkg in plan.packages:
            variants.setdefault(replace(pkg, dependencies=(), build_system=()), []).append(plan.system)
    packages: list[Package] = []
    nix_only: list[dict[str, Any]] = []
    for pkg, on in sorted(variants.items(), key=lambda item: (item[0].name, item[0].version, item[1])):
        pin = pkg.pin
        tool = encode(PackageTool(reason=pkg.reason, pin=_pin_tool(pin), cache=pkg.cache, recipe=pkg.recipe,
                                  systems=tuple(on) if on != systems else (),
                                  vcs_hash=pin.vcs.nar_hash if pin.vcs is not None else None))
        marker = Marker(" or ".join(f"({environment_marker(s)})" for s in on)) if on != systems else None
        common: dict[str, Any] = {"name": canonicalize_name(pin.name), "version": Version(pin.version),
                                  "marker": marker, "dependencies": [{"name": d} for d in pin.dependencies] or None,
                                  "tool": {"nixgen": tool}}
        if pin.vcs is not None:
            vcs = pin.vcs
            packages.append(Package(**common, vcs=PackageVcs(type="git", url=vcs.url, commit_id=vcs.commit_id,
                                                              requested_revision=vcs.requested_revision,
                                                              subdirectory=vcs.subdirectory)))
        elif pin.provider == "local" and pin.source_path is not None:
            packages.append(Package(**common, directory=PackageDirectory(path=pin.source_path)))
        elif pin.artifact is None:
            nix_only.append({"name": pin.name, "version": pin.version, **tool})
        elif pin.artifact.filename.endswith(".whl"):
            art = pin.artifact
            packages.append(Package(**common, wheels=[PackageWheel(name=art.filename, url=art.url, size=art.size,
                                                                   hashes={"sha256": art.sha256})]))
        else:
            art = pin.artifact
            packages.append(Package(**common, sdist=PackageSdist(name=art.filename, url=art.url, size=art.size,
                                                                 hashes={"sha256": art.sha256})))
    header = LockHeader(format=FORMAT, nixpkgs=lock.nixpkgs, snapshot=lock.snapshot, overrides=lock.overrides,
                        options=lock.options, trades=lock.trades, alternatives=lock.alternatives,
                        failures=lock.failures)
    top: dict[str, Any] = {}
    if command:
        top["command"] = command
    top.update(encode(header))
    top["targets"] = [encode(TargetEntry(system=p.system, interpreter=p.interpreter,
                                         python_version=p.python_version, roots=p.roots,
                                         relaxations=p.relaxations, notes=p.notes, found_by=p.found_by,
                                         found_from=p.found_from)) for p in lock.plans]
    if nix_only:
        top["nixpkgs-only"] = nix_only
    first = lock.plans[0]
    major, minor = Target(first.interpreter, first.python_version, first.system).python_tuple
    pylock = Pylock(
        lock_version=Version("1.0"),
        environments=[Marker(environment_marker(s)) for s in systems],
        requires_python=SpecifierSet(f"=={major}.{minor}.*"),
        created_by="nixgen",
        packages=packages,
        tool={"nixgen": top},
    )
    return tomli_w.dumps(pylock.to_dict())


# -- reading ----------------------------------------------------------------------------------------------
def _artifact(pkg: Package) -> Artifact | None:
    source = pkg.wheels[0] if pkg.wheels else pkg.sdist
    if source is None:
        return None
    sha256 = source.hashes.get("sha256")
    if not sha256:
        raise InputError(f"package {pkg.name}: its file has no sha256 hash")
    return Artifact(source.name or "", source.url or "", sha256, source.size)


def _vcs(pkg: Package, nar_hash: str | None, where: str) -> VcsSource | None:
    """PEP 751 ``[packages.vcs]`` (git only, with a URL and nixgen's NAR hash beside it) as a VcsSource."""
    if pkg.vcs is None:
        return None
    vcs = pkg.vcs
    if vcs.type != "git" or not vcs.url:
        raise InputError(f"{where}: a {vcs.type} source{'' if vcs.url else ' without a url'}; nixgen reads git "
                         "sources with a url only")
    if not nar_hash:
        raise InputError(f"{where}: the git source has no vcs-hash (the checkout's Nix hash)",
                         hint="write the lock again with `nixgen lock`")
    return VcsSource(url=vcs.url, commit_id=vcs.commit_id, nar_hash=nar_hash,
                     requested_revision=vcs.requested_revision, subdirectory=vcs.subdirectory)


def _pin(name: str, version: str, data: dict[str, Any], artifact: Artifact | None, source_path: str | None,
         where: str, vcs: VcsSource | None = None) -> Pin:
    for key in _STANDARD:
        if key in data:
            raise InputError(f"{where} has {key}, which belongs in the package's own PEP 751 fields")
    pin = decode(Pin, {**data, "name": name, "version": version, "artifact": None}, where)
    return replace(pin, artifact=artifact, source_path=source_path, vcs=vcs)


def read_pylock(path: Path) -> Lock:
    """Parse and validate (PEP 751 and nixgen's own tables) a lock nixgen wrote."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        pylock = Pylock.from_dict(data)
    except FileNotFoundError:
        raise InputError("no such file", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the lock: {err}", path=str(path)) from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"not valid TOML: {err}", path=str(path)) from None
    except PylockValidationError as err:
        raise InputError(f"not a valid PEP 751 lock: {err}", path=str(path)) from None
    top = (pylock.tool or {}).get("nixgen")
    if not isinstance(top, dict):
        raise InputError("this lock has no [tool.nixgen] table, so it was not written by nixgen",
                         path=str(path), hint="run `nixgen lock` on the requirements to make one")
    where = f"{path}: [tool.nixgen]"
    if top.get("format") != FORMAT:
        raise InputError(f"lock format {top.get('format')!r}; this nixgen reads format {FORMAT}", path=str(path),
                         hint="write the lock again with `nixgen lock` from its sources")
    body = {k: v for k, v in top.items() if k not in ("command", "targets", "nixpkgs-only")}
    header = decode(LockHeader, body, where)
    targets_data = top.get("targets")
    if not isinstance(targets_data, list) or not targets_data:
        raise InputError(f"{where} has no targets")
    targets = [decode(TargetEntry, t, f"{where}.targets[{i}]") for i, t in enumerate(targets_data)]
    systems = [t.system for t in targets]
    for system in systems:
        if system not in SYSTEMS:
            raise InputError(f"{where}: unknown system {system!r}")
    per_system: dict[str, list[PlannedPackage]] = {s: [] for s in systems}

    def add(tool_data: Any, name: str, version: str, artifact: Artifact | None, source_path: str | None,
            at: str, pkg: Package | None = None) -> None:
        if not isinstance(tool_data, dict):
            raise InputError(f"{at} must be a table")
        tool = decode(PackageTool, tool_data, at)
        vcs = _vcs(pkg, tool.vcs_hash, at) if pkg is not None else None
        pin = _pin(name, version, tool.pin, artifact, source_path, f"{at}.pin", vcs)
        planned = PlannedPackage(pin, tool.recipe, tool.reason, cache=tool.cache)
        for system in tool.systems or systems:
            if system not in per_system:
                raise InputError(f"{at}: system {system!r} is not one of the lock's targets")
            per_system[system].append(planned)

    for i, pkg in enumerate(pylock.packages):
        at = f"{path}: packages[{i}] ({pkg.name}) tool.nixgen"
        tool_data = (pkg.tool or {}).get("nixgen")
        source_path = pkg.directory.path if pkg.directory is not None else None
        add(tool_data, str(pkg.name), str(pkg.version), _artifact(pkg), source_path, at, pkg)
    for i, extra in enumerate(top.get("nixpkgs-only", [])):
        at = f"{where}.nixpkgs-only[{i}]"
        if not isinstance(extra, dict) or not isinstance(extra.get("name"), str) \
                or not isinstance(extra.get("version"), str):
            raise InputError(f"{at} needs a name and a version")
        rest = {k: v for k, v in extra.items() if k not in ("name", "version")}
        add(rest, extra["name"], extra["version"], None, None, at)
    plans = tuple(Plan(interpreter=t.interpreter, python_version=t.python_version, system=t.system, roots=t.roots,
                       packages=link(per_system[t.system]), relaxations=t.relaxations, notes=t.notes,
                       found_by=t.found_by, found_from=t.found_from)
                  for t in targets)
    lock = Lock(plans=plans, nixpkgs=header.nixpkgs, snapshot=header.snapshot, overrides=header.overrides,
                options=header.options, trades=header.trades, alternatives=header.alternatives,
                failures=header.failures)
    return _map_paths(lock, lambda p: absolute_from(p, path.parent))

