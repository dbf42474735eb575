"""Resolve a requirement set for one target over nixpkgs and the index together (resolvelib)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name, parse_wheel_filename
from resolvelib import BaseReporter, Resolver
from resolvelib.resolvers import ResolutionImpossible, ResolutionTooDeep

from nixgen.core.kinds import FoundBy, Prefer, as_metadata_source
from nixgen.errors import ResolutionError
from nixgen.overrides import Overrides
from nixgen.resolve.candidates import CandidateSource, IndexLike
from nixgen.resolve.explain import explain_conflict
from nixgen.resolve.model import Artifact, Candidate, Pin, Provider, Relaxation, Req, Resolution
from nixgen.resolve.provider import NixgenProvider, ProviderMemo
from nixgen.resolve.replay import Recording, Shared, carried, replay, traded, unsearched
from nixgen.resolve.target import Target

if TYPE_CHECKING:
    from nixgen.inputs.model import RequirementSet, UserRequirement
    from nixgen.nixpkgs.snapshot import PythonSet


@dataclass(frozen=True)
class ResolveOptions:
    """How to choose among valid resolutions."""

    prefer: Prefer = "nixpkgs"  # "nixpkgs": keep the nixpkgs version when it fits; "latest": newest release
    providers: Mapping[str, Provider] = field(default_factory=dict)
    pre: bool = False
    max_rounds: int = 2000
    overrides: Overrides = field(default_factory=Overrides)
    native_versions: Mapping[str, str] = field(default_factory=dict)
    build_metadata: bool = True
    allow_unboxed_builds: bool = False  # run build backends even where they cannot be boxed
    metadata_target: Target | None = None
    preferred: Mapping[str, str] = field(default_factory=dict)  # re-locking: versions to try first (index pins)
    prefer_wheels: frozenset[str] = frozenset()  # min-build: wheels before the nixpkgs candidate for these
    strict: bool = False  # --no-relax: refuse nixpkgs' relaxations of upstream pins between its packages
    search: bool = False  # always resolvelib's search (or an exact replay of one): nothing unsearched or carried


def _user_req(ur: UserRequirement, *, constraint: bool = False) -> Req:
    r = ur.requirement
    extras = frozenset(canonicalize_name(e) for e in r.extras)
    text = f"{r.name}{'[' + ','.join(sorted(r.extras)) + ']' if r.extras else ''}"
    text += f" @ {r.url}" if r.url else str(r.specifier)
    return Req(name=canonicalize_name(r.name), specifier=r.specifier, extras=extras, origin=str(ur.origin),
               text=text, url=r.url, hashes=frozenset(ur.hashes), constraint=constraint)


def user_requirements(reqset: RequirementSet, target: Target) -> tuple[list[Req], dict[str, list[Req]]]:
    """The requirements and constraints whose PEP 508 markers hold on the target.

    Identical requirements (same name, extras, specifier, URL and hashes) are kept once, at their first
    origin: resolvelib checks every candidate against every requirement of a project, so 10,000 copies of
    one line would make resolution quadratic in the file's length.
    """
    env = {**target.markers, "extra": ""}
    reqs = _once(_user_req(u) for u in reqset.requirements
                 if u.requirement.marker is None or u.requirement.marker.evaluate(env))
    constraints: dict[str, list[Req]] = defaultdict(list)
    for c in _once(_user_req(u, constraint=True) for u in reqset.constraints
                   if u.requirement.marker is None or u.requirement.marker.evaluate(env)):
        constraints[c.name].append(c)
    return reqs, dict(constraints)


def _once(reqs: Iterable[Req]) -> list[Req]:
    """Requirements in order, each that asks the same as an earlier one dropped (its origin aside)."""
    seen: set[tuple[object, ...]] = set()
    out: list[Req] = []
    for r in reqs:
        key = (r.name, r.extras, str(r.specifier), r.url, r.hashes, r.same_provider, r.kind, r.constraint)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


@dataclass
class ResolveMemo:
    """What one resolution for a target learns that the next for the same target can reuse: project pages,
    candidate lists, and each candidate's dependencies (pass the same memo to both of min-build's)."""

    pages: dict[str, Any] = field(default_factory=dict)
    lists: dict[Any, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    provider: ProviderMemo = field(default_factory=ProviderMemo)
    first: dict[str, Candidate] | None = None  # the resolution without min-build's trades, once made
    first_found: tuple[FoundBy, str | None] = ("search", None)  # how that one was found, and from whom


def resolve(reqset: RequirementSet, index: IndexLike, pyset: PythonSet | None, target: Target,
            options: ResolveOptions | None = None, memo: ResolveMemo | None = None,
            shared: Shared | None = None) -> Resolution:
    """Pick one candidate per project so that every requirement holds for ``target``.

    ``shared`` holds the recordings of the run's earlier resolutions (other systems'): one that this target's
    provider answers identically is this target's resolution too (resolve/replay.py); a search made here is
    added to it. min-build's second resolution (``prefer_wheels``) is the first's pins traded where that
    holds, and a search otherwise.
    """
    options = options or ResolveOptions()
    memo = memo or ResolveMemo()
    reqs, constraints = user_requirements(reqset, target)
    source = CandidateSource(index=index, pyset=pyset, target=target, prefer=options.prefer,
                             overrides=options.overrides, native_versions=options.native_versions,
                             build_metadata=options.build_metadata,
                             allow_unboxed_builds=options.allow_unboxed_builds,
                             local={p.name: p for p in reqset.local_projects},
                             metadata_target=options.metadata_target,
                             forced=dict(options.providers), allow_pre=options.pre or reqset.pre,
                             preferred=options.preferred, prefer_wheels=options.prefer_wheels,
                             strict=options.strict,
                             constraints=constraints, notes=memo.notes, _pages=memo.pages, _lists=memo.lists)
    index.prefetch({r.name for r in reqs})
    provider = NixgenProvider(source, constraints, memo.provider)
    shared = shared if shared is not None else Shared()
    # Other systems' resolutions first (replayed where every answer is the same, else carried where that is a
    # resolution here), then one found without a search, then resolvelib's search.
    recordings = [r for r in shared.recordings if r.options == options]
    for recording in recordings:
        if (mapping := replay(recording, provider, reqs, constraints)) is not None:
            shared.replayed += 1
            return _first(memo, options, mapping, reqs, provider, target, source, "replayed", recording.system)
    for recording in recordings if not options.search else ():
        if (mapping := carried(recording.mapping, provider, reqs, constraints)) is not None:
            shared.carried += 1
            return _first(memo, options, mapping, reqs, provider, target, source, "carried", recording.system)
    if (options.prefer_wheels and memo.first is not None and not options.search
            and (mapping := traded(memo.first, provider, reqs, constraints, options.prefer_wheels)) is not None):
        shared.traded += 1
        return _to_resolution(mapping, reqs, provider, target, source, *memo.first_found)
    shared.searches += 1
    recording = Recording(options, reqs, constraints, target.system)
    if not options.search and (mapping := unsearched(provider, reqs, constraints)) is not None:
        # Every project at its most preferred candidate that all the requirements on it allow: a resolution
        # found without searching (nothing conflicts). Another system may carry it, not replay it.
        recording.mapping, recording.exact = dict(mapping), False
        shared.recordings.append(recording)
        shared.direct += 1
        return _first(memo, options, mapping, reqs, provider, target, source, "unsearched")
    provider.recording = recording
    resolver: Resolver[Req, Candidate, str] = Resolver(provider, BaseReporter())
    try:
        result = resolver.resolve(reqs, max_rounds=options.max_rounds)
    except ResolutionImpossible as exc:
        raise ResolutionError(explain_conflict(list(exc.causes), provider, target, reqs),
                              hint="loosen one of the pins named above, or check the requirement that "
                                   "introduces it") from None
    except ResolutionTooDeep:
        raise ResolutionError(f"gave up after {options.max_rounds} resolution rounds for "
                              f"{target.describe()}",
                              hint="pin the packages that have many versions to narrow the search") from None
    recording.mapping = dict(result.mapping)
    shared.recordings.append(recording)
    return _first(memo, options, result.mapping, reqs, provider, target, source)


def _first(memo: ResolveMemo, options: ResolveOptions, mapping: Mapping[str, Candidate], reqs: list[Req],
           provider: NixgenProvider, target: Target, source: CandidateSource, found_by: FoundBy = "search",
           found_from: str | None = None) -> Resolution:
    """The resolution of ``mapping``, kept in ``memo`` when it is made without min-build's trades."""
    if not options.prefer_wheels:
        memo.first, memo.first_found = dict(mapping), (found_by, found_from)
    return _to_resolution(mapping, reqs, provider, target, source, found_by, found_from)


def _native(filename: str) -> bool:
    _, _, _, tags = parse_wheel_filename(filename)
    return any(t.abi != "none" or t.platform != "any" for t in tags)


def _attr(cand: Candidate, pyset: PythonSet | None, *, runtime: bool) -> str:
    """The package-set attribute a pin lives at: nixpkgs' own, or the project's normalized name.

    A build-only pin that differs from nixpkgs' version gets an attribute of its own
    (``cython_0_29_37``): replacing the set's ``cython`` would change, and so rebuild, every nixpkgs
    package that builds with it.
    """
    nix = pyset.by_pypi_name(cand.name) if pyset is not None else None
    if cand.attr:
        # nixpkgs' versioned attribute (pydantic_1) at run time stands in for the canonical one, so that
        # every package of the set that depends on the project gets this version too.
        return nix.attr if runtime and cand.from_nixpkgs and nix is not None else cand.attr
    if nix is None:
        return cand.name
    if not runtime:
        return f"{nix.attr}_{re.sub(r'[^0-9A-Za-z]+', '_', str(cand.version))}"
    return nix.attr


def _nixpkgs_version(name: str, pyset: PythonSet | None) -> str | None:
    nix = pyset.by_pypi_name(name) if pyset is not None else None
    return nix.version if nix is not None else None


def _nix_artifact(cand: Candidate, source: CandidateSource) -> Artifact | None:
    """For a nixpkgs pin, the index file of the same version (what a lock's other readers would install)."""
    for f in source.nix_metadata_files(cand, source.target):
        if f.sha256 and (f.kind == "sdist" or any(t in source.target.tag_priority for t in f.tags)):
            return Artifact(f.filename, f.url, f.sha256, f.size)
    return None


def _to_resolution(mapping: Mapping[str, Candidate], roots: list[Req], provider: NixgenProvider,
                   target: Target, source: CandidateSource, found_by: FoundBy = "search",
                   found_from: str | None = None) -> Resolution:
    base = {c.name: c for c in mapping.values() if not c.extras}
    extras: dict[str, set[str]] = defaultdict(set)
    run_deps: dict[str, set[str]] = defaultdict(set)
    build_deps: dict[str, set[str]] = defaultdict(set)
    relaxations: set[Relaxation] = set()
    for cand in mapping.values():
        extras[cand.name] |= cand.extras
        for dep in provider.dependencies.get(cand, []):
            if dep.name == cand.name:
                continue
            (build_deps if dep.kind == "build" else run_deps)[cand.name].add(dep.name)
            child = base.get(dep.name)
            if (dep.relaxable and child is not None and child.from_nixpkgs
                    and not dep.specifier.contains(child.version, prereleases=True)):
                relaxations.add(Relaxation(cand.name, str(cand.version), dep.text, child.name,
                                           str(child.version)))
    requested = {r.name for r in roots}
    hashed = {r.name for r in roots if r.hashes}
    runtime: set[str] = set()
    stack = sorted(requested)
    while stack:
        name = stack.pop()
        if name in runtime:
            continue
        runtime.add(name)
        stack.extend(sorted(run_deps[name] - runtime))
    pins = []
    for name in sorted(base):
        cand = base[name]
        if cand.version.is_prerelease and not source.allow_pre and not cand.from_nixpkgs:
            source.notes.append(f"{name} {cand.version} is a pre-release: no final release of {name} satisfies "
                                "what asks for it")
        attr = _attr(cand, source.pyset, runtime=name in runtime)
        pins.append(Pin(
            name=name, version=str(cand.version), provider=cand.provider, attr=attr,
            artifact=cand.artifact if not cand.from_nixpkgs else _nix_artifact(cand, source),
            dependencies=tuple(sorted(run_deps[name])),
            build_requires=tuple(sorted(build_deps[name])), extras=tuple(sorted(extras[name])),
            requested=name in requested, runtime=name in runtime,
            metadata_source=as_metadata_source(provider.metadata_source.get(cand, "none")),
            metadata_file=provider.metadata_file.get(cand),
            native_code=(cand.provider == "wheel" and cand.artifact is not None
                         and _native(cand.artifact.filename)),
            nixpkgs_version=_nixpkgs_version(name, source.pyset),
            source_path=cand.source_path,
            release=cand.release,
            added=provider.added.get(cand, ()),
            version_from_vcs=((cand.provider == "local" and source.local[name].version_from_vcs)
                              or (cand.vcs is not None and cand.direct_url is not None
                                  and source.git(name, cand.direct_url).version_from_vcs)),
            vcs=cand.vcs,
            hashed=name in hashed,
            replaces=((not cand.from_nixpkgs or (cand.attr is not None and cand.attr != attr))
                      and source.pyset is not None
                      and (nix := source.pyset.by_pypi_name(name)) is not None and nix.attr == attr),
            versioned_attr=cand.attr if cand.from_nixpkgs and cand.attr is not None and cand.attr != attr else None,
        ))
    return Resolution(interpreter=target.interpreter, python_version=target.python_version,
                      system=target.system, roots=tuple(sorted(requested)), pins=tuple(pins),
                      relaxations=tuple(sorted(relaxations, key=lambda r: (r.parent, r.child))),
                      notes=tuple(dict.fromkeys(source.notes)), found_by=found_by, found_from=found_from)
