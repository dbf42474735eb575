"""The pipeline, orchestration only: inputs → index + snapshot → resolve → plan → lock → text.

``lock`` does the I/O-bound half (the index, through the session's snapshot and overrides) and returns a
:class:`~nixgen.lock.model.Lock`; ``render`` turns a lock into flake text and needs nothing else. ``nixgen
generate`` is these two calls in sequence, ``nixgen lock`` the first and the PEP 751 writer.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from nixgen.core.kinds import CacheFact, ForcedProvider, OutputFormat, Prefer, Strategy
from nixgen.errors import InfeasibleBuild, NixgenError, ResolutionError, UsageError
from nixgen.inputs.model import RequirementSet
from nixgen.lock.model import Alternative, Lock, LockOptions, NixpkgsPin, SystemFailure, Trade
from nixgen.nixpkgs.snapshot import PythonSet, Snapshot
from nixgen.nixpkgs.versioned import VersionedExpression, versioned_in
from nixgen.overrides import Overrides
from nixgen.plan import Plan, make_plan
from nixgen.plan.optimize import min_build, python_candidates
from nixgen.resolve import SYSTEMS, Resolution, ResolveOptions, Target, resolve
from nixgen.resolve.replay import Shared
from nixgen.resolve.resolver import ResolveMemo
from nixgen.session import Session


@dataclass(frozen=True)
class Options:
    """Everything the CLI lets a user choose, with the defaults a plain ``nixgen FILE`` uses."""

    index_urls: tuple[str, ...] = ()
    offline: bool = False
    exclude_newer: datetime | None = None
    cache_dir: Path | None = None
    prefer: Prefer = "nixpkgs"
    providers: Mapping[str, ForcedProvider] = field(default_factory=dict)
    python: str | None = None
    systems: tuple[str, ...] = tuple(SYSTEMS)  # every Nix system nixgen knows, x86_64-linux first
    snapshot_dir: Path | None = None
    override_files: tuple[Path, ...] = ()
    tests: bool = False
    strategy: Strategy = "min-build"
    build_metadata: bool = True  # may run PEP 517 metadata hooks of sdists whose metadata is not static
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    all_extras: bool = False  # uv.lock: every extra, every group, or not the dev group
    all_groups: bool = False
    no_dev: bool = False
    with_groups: tuple[str, ...] = ()  # Poetry: --with, --without, --only
    without_groups: tuple[str, ...] = ()
    only_groups: tuple[str, ...] = ()
    image_cmd: tuple[str, ...] = ()  # the container image's command
    no_relax: bool = False  # refuse nixpkgs' relaxations of upstream pins (resolve strictly)
    full_search: bool = False  # a resolvelib search for every system: no unsearched or carried resolution
    upgrade: bool = False  # re-locking: drop every preference for the previous lock's pins
    upgrade_packages: frozenset[str] = frozenset()  # … or only for these
    allow_unboxed_builds: bool = False  # ... even where the platform cannot box them (nixgen.pypi.box)
    allow_infeasible: bool = False  # write a plan whose builds from source the evidence says cannot work


def nixpkgs_pin(snapshot: Snapshot) -> NixpkgsPin:
    meta = snapshot.meta
    note = f"nixpkgs snapshot from {meta.generated_from}"
    if re.fullmatch(r"[0-9a-f]{40}", meta.nixpkgs_rev):
        return NixpkgsPin(rev=meta.nixpkgs_rev, nar_hash=meta.nar_hash, note=note)
    # No revision known (a snapshot evaluated from a local checkout or path flake): pin what was evaluated.
    url = meta.source if ":" in meta.source else f"path:{meta.source}"
    return NixpkgsPin(rev=meta.nixpkgs_rev, nar_hash=meta.nar_hash, note=note + f" ({url})", url=url)


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


def lock_options(reqset: RequirementSet, options: Options) -> LockOptions:
    """What the lock records of the run: absolute source paths, and the options as given."""
    from nixgen.pypi.urls import redact_url

    return LockOptions(
        sources=tuple(os.path.abspath(s) for s in reqset.sources),
        index_urls=tuple(redact_url(u) for u in options.index_urls), prefer=options.prefer,
        strategy=options.strategy, providers=tuple(sorted(options.providers.items())), python=options.python,
        systems=options.systems if options.systems != tuple(SYSTEMS) else (), tests=options.tests,
        build_metadata=options.build_metadata, exclude_newer=options.exclude_newer, extras=options.extras,
        groups=options.groups, all_extras=options.all_extras, all_groups=options.all_groups,
        no_dev=options.no_dev, with_groups=options.with_groups, without_groups=options.without_groups,
        only_groups=options.only_groups, image_cmd=options.image_cmd, no_relax=options.no_relax,
        full_search=options.full_search,
        snapshot=os.path.abspath(options.snapshot_dir) if options.snapshot_dir is not None else None)


def preferences(previous: Lock | None, options: Options) -> dict[str, str]:
    """Re-locking keeps the previous lock's index pins (nixpkgs pins follow the snapshot), less ``--upgrade``
    and ``--upgrade-package NAME``."""
    if previous is None or options.upgrade:
        return {}
    out: dict[str, str] = {}
    for plan in previous.plans:
        for p in plan.packages:
            if p.provider != "nixpkgs" and p.name not in options.upgrade_packages:
                out.setdefault(p.name, p.version)
    return out


def lock(reqset: RequirementSet, session: Session, options: Options,
         on_fetch: Callable[[str, int], None] | None = None, previous: Lock | None = None) -> Lock:
    """Resolve ``reqset`` against the index and the session's nixpkgs snapshot, plan it, and lock it.

    With ``python="auto"``, of the nixpkgs interpreters for which the requirements resolve with no
    infeasible build, the one whose plans build least (python3's first on a tie); when the default
    interpreter fails, the error says which other interpreters would work.
    """
    snapshot = session.snapshot
    if options.python == "auto":
        tried: list[str] = []
        infeasible: list[tuple[str, InfeasibleBuild]] = []
        working: list[Lock] = []
        for version in python_candidates(snapshot.meta.python3, dict(snapshot.interpreters)):
            try:
                found = _lock_for_python(reqset, session, replace(options, python=version, allow_infeasible=False),
                                         on_fetch, previous)
            except ResolutionError as err:
                tried.append(f"Python {version}: {' '.join(err.message.split())}")
                continue
            except InfeasibleBuild as err:
                tried.append(f"Python {version}: {err.message}")
                infeasible.append((version, err))
                continue
            working.append(found)
            if not build_minutes(found):
                break  # nothing to build: no interpreter does better
        if working:  # the least estimated build time; on a tie the earlier interpreter (python3's first)
            best = min(working, key=build_minutes)
            return replace(best, options=replace(best.options, python="auto"))
        if infeasible and options.allow_infeasible:
            found = _lock_for_python(reqset, session, replace(options, python=infeasible[0][0]), on_fetch, previous)
            return replace(found, options=replace(found.options, python="auto"))
        if infeasible:
            raise InfeasibleBuild("no nixpkgs Python has a plan whose builds can work:\n  " + "\n  ".join(tried),
                                  hint=_newer_pins_hint(infeasible[0][1]) or "loosen the pins that need an old "
                                  "Python, or pass --allow-infeasible to write the plan anyway")
        raise ResolutionError("no nixpkgs Python satisfies the requirements:\n  " + "\n  ".join(tried),
                              hint="loosen the pins that need an old Python")
    try:
        return _lock_for_python(reqset, session, options, on_fetch, previous)
    except InfeasibleBuild as err:
        raise _with_alternatives(err, reqset, session, options) from None
    except ResolutionError as err:
        if options.python is not None:
            raise
        for version in python_candidates(snapshot.meta.python3, dict(snapshot.interpreters))[1:]:
            try:
                _lock_for_python(reqset, session, replace(options, python=version, strategy="latest"), None, None,
                                 probe=True)
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


def _index_note(note: str) -> None:
    """What the index layer dropped or repaired (a malformed file entry, a damaged cache row), on stderr."""
    import sys

    sys.stderr.write(f"nixgen: note: {note}\n")


def _newer_pins_hint(err: InfeasibleBuild) -> str:
    """What newer pins would work, from the evidence (the first release with wheels for the target)."""
    pins = [f"{name}>={version}" for name, version in err.newer]
    return f"or pin {', '.join(pins)} (the first releases with wheels for this Python)" if pins else ""


def _with_alternatives(err: InfeasibleBuild, reqset: RequirementSet, session: Session,
                       options: Options) -> InfeasibleBuild:
    """``err`` with what would work: another nixpkgs interpreter whose plan has no infeasible build (each is
    resolved to find out), a newer pin, or ``--allow-infeasible``."""
    snapshot = session.snapshot
    working: list[tuple[float, int, str]] = []  # build minutes, order, version
    current = err.python
    for version in python_candidates(snapshot.meta.python3, dict(snapshot.interpreters)):
        if version == current:
            continue
        try:
            other = _lock_for_python(reqset, session, replace(options, python=version, strategy="latest",
                                                              allow_infeasible=False), None, None, probe=True)
        except NixgenError:
            continue
        working.append((build_minutes(other), len(working), version))
    working.sort()  # the one that builds least first
    hints = [f"pass --python {working[0][2]} (its plan has no build the evidence rules out)"] if working else []
    if (newer := _newer_pins_hint(err)):
        hints.append(newer)
    hints.append("or pass --allow-infeasible to write the plan anyway")
    others = (f"\n  the plans for Python {', '.join(sorted(v for _m, _i, v in working))} have no such build"
              if working
              else "\n  no other nixpkgs interpreter has a plan without such a build")
    out = InfeasibleBuild(err.message + others, hint="; ".join(hints).removeprefix("or "))
    out.python, out.newer = err.python, err.newer
    return out


def _curated_caps(plan: Plan, name: str, overrides: Overrides) -> list[tuple[str, str, str]]:
    """The override rules' build requirements on ``name`` in ``plan``: (requirement, who, rule) each."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    found = []
    for q in plan.packages:
        if name not in q.pin.build_requires:
            continue
        applied = overrides.applied(q.name, q.version)
        for text in applied.build_system:
            try:
                req = Requirement(text)
            except InvalidRequirement:
                continue
            if canonicalize_name(req.name) == name and req.specifier:
                found.append((text, f"{q.name} {q.version}", ", ".join(applied.sources)))
    return found


def build_minutes(lock: Lock) -> float:
    """The estimated build minutes of a lock's plans together (what ``--python auto`` keeps least)."""
    from nixgen.plan.predict import predict

    return sum(predict(plan).total_minutes for plan in lock.plans)


def _check_feasible(plans: list[Plan], python: str, overrides: Overrides | None = None) -> None:
    """Raise :class:`InfeasibleBuild` naming every build from source the evidence rules out; a newer pin is
    suggested only where no curated build requirement (``overrides/``) rules it out."""
    from packaging.requirements import Requirement
    from packaging.version import Version

    from nixgen.emit import words

    bad = [(plan, p) for plan in plans for p in plan.packages if p.recipe.verdict == "infeasible"]
    if not bad:
        return
    lines = []
    capped: set[str] = set()
    for plan, p in bad:
        lines.append(f"{p.name} {p.version} cannot be built from source for {plan.interpreter} on {plan.system}:")
        lines += [f"    {words.evidence(e)}" for e in p.recipe.evidence if e.verdict == "infeasible"]
        newer = p.pin.release.wheels_from if p.pin.release is not None else None
        for text, who, rule in _curated_caps(plan, p.name, overrides) if overrides is not None else []:
            lines.append(f"    {who}'s build needs {text} (overrides: {rule})")
            if newer is not None and not Requirement(text).specifier.contains(newer, prereleases=True):
                capped.add(p.name)
    err = InfeasibleBuild("\n  ".join(lines))
    err.python = python
    err.newer = tuple(dict.fromkeys((p.name, r.wheels_from) for _plan, p in bad
                                    if (r := p.pin.release) is not None and r.wheels_from is not None
                                    and Version(r.wheels_from) > Version(p.version) and p.name not in capped))
    raise err


def _lock_for_python(reqset: RequirementSet, session: Session, options: Options,
                     on_fetch: Callable[[str, int], None] | None, previous: Lock | None, *,
                     probe: bool = False) -> Lock:
    """Resolve and plan ``reqset`` for ``options.python`` on each system.

    A ``probe`` (would this interpreter do? asked to suggest one) reads no wheel's linkage: what a wheel's
    binaries link decides no verdict, and reading it means downloading every native wheel of the plan."""
    from nixgen.pypi import Index  # network stack loads only when something is resolved
    from nixgen.pypi.linkage import WheelLinkage, plan_linkage, start_linkage
    from nixgen.pypi.sourcefacts import SourceFacts, plan_source_facts, start_source_facts

    snapshot, overrides = session.snapshot, session.overrides
    reference, pyset = choose_target(snapshot, options.python, options.systems[0])
    native_versions = {}
    for name in sorted(overrides.always_nixpkgs()):
        native = snapshot.native(name)
        if (pyset is None or pyset.by_pypi_name(name) is None) and native is not None:
            native_versions[name] = native.store_name.removeprefix(f"{name}-").split("-")[0]
    urls: list[str] = list(options.index_urls)
    if not urls:
        if reqset.index_url:
            urls.append(reqset.index_url)
        urls.extend(reqset.extra_index_urls)
    prefer: Prefer = "latest" if options.strategy == "latest" else options.prefer
    forced = frozenset(options.providers)
    keep = overrides.always_nixpkgs() | forced
    preferred = preferences(previous, options)
    edges = pyset.edges if pyset is not None else {}
    plans: list[Plan] = []
    failures: list[SystemFailure] = []
    trades: list[Trade] = []
    alternatives: list[Alternative] = []
    linkage_memo: dict[str, WheelLinkage | None] = {}  # what each wheel links, read once per run
    sources_memo: dict[str, SourceFacts | None] = {}  # what each sdist's setup.py imports
    shared = Shared()  # the systems' resolutions, for the next system to re-use where it may
    # Every system is resolved first, then each is planned: what a plan reads of its pins' files (what a
    # wheel links, what an sdist's setup.py imports) is read in the background while the next system resolves.
    firsts: list[tuple[Resolution, Callable[..., Resolution], Callable[[Resolution, frozenset[str]], Plan]]] = []
    with Index(urls or None, cache_dir=options.cache_dir, offline=options.offline,
               exclude_newer=options.exclude_newer, on_fetch=on_fetch, on_note=_index_note) as index:
        for system in dict.fromkeys(options.systems):
            target, system_set = choose_target(snapshot, options.python, system)
            cache_of = _cache_facts(snapshot, system, target.interpreter)
            system_edges = system_set.edges if system_set is not None else edges
            versioned = versioned_in(system_set)

            memo = ResolveMemo()  # shared by the system's two resolutions (min-build's trades)

            def resolve_with(prefer_wheels: frozenset[str] = frozenset(), target: Target = target,
                             system_set: PythonSet | None = system_set, memo: ResolveMemo = memo) -> Resolution:
                return resolve(reqset, index, system_set, target,
                               ResolveOptions(prefer=prefer, providers=dict(options.providers), overrides=overrides,
                                              native_versions=native_versions,
                                              build_metadata=options.build_metadata, metadata_target=reference,
                                              allow_unboxed_builds=options.allow_unboxed_builds,
                                              preferred=preferred, prefer_wheels=prefer_wheels,
                                              strict=options.no_relax, search=options.full_search),
                               memo, shared)

            def plan_of(resolution: Resolution, traded: frozenset[str],
                        cache_of: Callable[[str], CacheFact] = cache_of,
                        system_edges: Mapping[str, tuple[str, ...]] = system_edges,
                        versioned: Mapping[str, tuple[VersionedExpression, ...]] = versioned) -> Plan:
                linkage = {} if probe else plan_linkage(index, resolution.pins, linkage_memo)
                sources = plan_source_facts(index, resolution.pins, sources_memo)
                return make_plan(resolution, forced, overrides, options.tests, traded, system_edges, cache_of,
                                 linkage, sources, versioned)

            try:
                first = resolve_with()
            except ResolutionError as err:
                if len(options.systems) == 1:
                    raise
                failures.append(SystemFailure(system, err.message))
                continue
            if not probe:
                start_linkage(index, first.pins)
            start_source_facts(index, first.pins)
            firsts.append((first, resolve_with, plan_of))
        for first, again, planner in firsts:
            if options.strategy == "min-build":
                best = min_build(first, planner, again, keep)
                plans.append(best.plan)
                trades += [Trade(t.name, t.version, t.minutes_saved, first.system) for t in best.traded]
                alternatives += [Alternative(s.name, s.nixpkgs_version, s.minutes, first.system)
                                 for s in best.savings]
            else:
                plans.append(planner(first, frozenset()))
    if not plans:
        raise ResolutionError("no system could be resolved:\n" + "\n".join(f"{f.system}: {f.why}" for f in failures))
    if not options.allow_infeasible:
        _check_feasible(plans, ".".join(plans[0].python_version.split(".")[:2]), session.overrides)
    return Lock(plans=tuple(plans), nixpkgs=nixpkgs_pin(snapshot), snapshot=session.snapshot_ref,
                overrides=session.overrides_ref, options=lock_options(reqset, options), trades=tuple(trades),
                alternatives=tuple(alternatives), failures=tuple(failures), resolutions=shared.searches)


def _cache_facts(snapshot: Snapshot, system: str, interpreter: str) -> Callable[[str], CacheFact]:
    """attr → what ``system``'s binary-cache data says of it (for :func:`make_plan`)."""
    return lambda attr: snapshot.cache_fact(system, interpreter, attr)


def render(lock: Lock, flake_dir: Path | None = None, cache_dir: Path | None = None) -> str:
    """The flake text for a lock (written into ``flake_dir``, default the current directory); compiled
    templates are kept in ``cache_dir`` (the run's cache directory), when given."""
    from nixgen.emit.flake import render_flake  # jinja2 loads only when something is rendered
    from nixgen.emit.header import header_lines

    return render_flake(lock.plans, lock.nixpkgs, header_lines(lock), flake_dir, lock.options.image_cmd, cache_dir)


def render_files(lock: Lock, fmt: OutputFormat, out_dir: Path | None = None,
                 cache_dir: Path | None = None) -> dict[str, str]:
    """The files of output format ``fmt`` by name: ``flake.nix``; ``default.nix`` and ``shell.nix``; or
    ``overlay.nix`` (``cache_dir``: see :func:`render`)."""
    from nixgen.emit.flake import render_classic, render_overlay_file
    from nixgen.emit.header import header_lines

    if fmt == "flake":
        return {"flake.nix": render(lock, out_dir, cache_dir)}
    if fmt == "nix":
        return render_classic(lock.plans, lock.nixpkgs, header_lines(lock), out_dir, cache_dir)
    return {"overlay.nix": render_overlay_file(lock.plans, lock.nixpkgs, header_lines(lock), out_dir, cache_dir)}
