"""Resolving several systems together: one system's resolution, re-used for another only where it is provably
the one that system's own resolution would give.

resolvelib's run is a function of what the provider answers: the candidates each query yields (in order),
whether a requirement is satisfied by a candidate, and each candidate's dependencies. A :class:`Recording`
keeps, for one resolution, every candidate query and how far resolvelib read it, and every candidate whose
dependencies it asked for. :func:`replay` asks another system's provider the same questions; when every
answer is the same (candidates compare by name, version, provider and extras, so requirement checks give
the same results), resolvelib would walk the same path there, and the recorded result, made of that
system's own candidates, is its resolution. Any difference (a wheel missing for the platform, a marker that
evaluates otherwise, another nixpkgs version) and the system is resolved on its own. This is uv's universal
resolution turned around: uv forks where markers differ; here systems share a resolution where nothing
they would see differs.

Where something differs (torch's CUDA libraries are dependencies on x86_64 Linux only), :func:`carried`
tries the other system's versions as this system's resolution: each project at the version the other
system pinned, as this system's own candidate, kept only if that is a resolution here and every pin is the
candidate this system's search would try first for it (the first of its candidates that all the
requirements on it allow); a project only this system needs (appnope on macOS) gets that candidate too.
The systems then share their versions, as uv's universal resolution keeps one version across forks where
it can; only where that fails does a system search on its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING

from nixgen.errors import NixgenError
from nixgen.resolve.model import Candidate, Req

if TYPE_CHECKING:
    from nixgen.resolve.provider import NixgenProvider


@dataclass
class Query:
    """One candidate query (``CandidateSource.candidates``) and the most of its answer resolvelib read."""

    name: str
    extras: frozenset[str]
    reqs: tuple[Req, ...]
    seen: list[Candidate] = field(default_factory=list)
    exhausted: bool = False  # read to its end: another system's answer must end there too


@dataclass
class Recording:
    """What one resolution asked its provider, and what it found (see the module docstring)."""

    options: object  # the ResolveOptions it ran with: another system replays it only under equal options
    reqs: list[Req]
    constraints: Mapping[str, Sequence[Req]]
    queries: dict[tuple[object, ...], Query] = field(default_factory=dict)  # by CandidateSource.query_key
    fetched: dict[Candidate, list[Req]] = field(default_factory=dict)  # dependencies read, in order
    mapping: dict[str, Candidate] = field(default_factory=dict)  # the result, identifier → candidate

    def query(self, key: tuple[object, ...], name: str, extras: frozenset[str], reqs: Sequence[Req]) -> Query:
        """The query with this key (``CandidateSource.query_key``), recorded with its first arguments."""
        found = self.queries.get(key)
        if found is None:
            found = self.queries[key] = Query(name, extras, tuple(reqs))
        return found


@dataclass
class Shared:
    """A run's resolutions so far, for the next system to re-use, and how each resolution was come by."""

    recordings: list[Recording] = field(default_factory=list)
    searches: int = 0  # resolvelib searches made
    replayed: int = 0  # resolutions re-used from another system's recording
    carried: int = 0  # resolutions made of another system's versions (:func:`carried`)
    traded: int = 0  # min-build second resolutions made by trading pins of the first


def seen(query: Query, position: int, cand: Candidate) -> None:
    """Record that resolvelib read ``cand`` at ``position`` of ``query``'s answer."""
    if position == len(query.seen):
        query.seen.append(cand)


def replay(recording: Recording, provider: NixgenProvider, reqs: list[Req],
           constraints: Mapping[str, Sequence[Req]]) -> dict[str, Candidate] | None:
    """The recorded resolution in ``provider``'s own candidates, if ``provider`` answers every recorded
    question as the recording's provider did; else None (resolve this system on its own)."""
    if recording.reqs != reqs or dict(recording.constraints) != dict(constraints):
        return None
    if any(r.hashes for r in reqs) or any(r.hashes for rs in constraints.values() for r in rs):
        return None  # a --hash check reads each file's sha256, which differs between platforms' wheels
    own: dict[Candidate, Candidate] = {}
    source = provider.source
    try:
        for q in recording.queries.values():
            want = len(q.seen) + (1 if q.exhausted else 0)
            got = list(islice(source.candidates(q.name, q.extras, q.reqs), want))
            if got[:len(q.seen)] != q.seen or len(got) != (len(q.seen) if q.exhausted else want):
                return None
            for c in got:
                own.setdefault(c, c)
        # This system's files (its platform's wheels) may not be read yet: fetched together, not one by one.
        files = [f for c in recording.fetched if (mine := own.get(c)) is not None and not mine.from_nixpkgs
                 for f in mine.metadata_files]
        source.index.prefetch_metadata(files)  # type: ignore[arg-type]
        for cand in recording.fetched:
            mine = own.get(cand)
            if mine is None or provider.get_dependencies(mine) != recording.fetched[cand]:
                return None
    except NixgenError:
        return None  # this system's answers differ (a missing page, unreadable metadata): resolve it alone
    return {ident: own[c] for ident, c in recording.mapping.items()}


def carried(base: Mapping[str, Candidate], provider: NixgenProvider, reqs: list[Req],
            constraints: Mapping[str, Sequence[Req]]) -> dict[str, Candidate] | None:
    """Another system's resolution ``base`` carried over to ``provider``'s system (see the module docstring):
    the identifiers this system needs, each pinned to this system's candidate at ``base``'s version (one
    ``base`` lacks to this system's most preferred candidate), if every pin is the first of its candidates
    that all the requirements on it (the user's, the constraints, the pins' dependencies here) allow; else
    None (search)."""
    if any(r.hashes for r in reqs) or any(r.hashes for rs in constraints.values() for r in rs):
        return None  # as in replay(): a --hash check differs between platforms' files
    source = provider.source
    on: dict[str, list[Req]] = defaultdict(list)  # the requirements on each identifier
    for r in reqs:
        on[r.identifier].append(r)
    mapping: dict[str, Candidate] = {}
    stack = [r.identifier for r in reversed(reqs)]
    try:
        while stack:
            ident = stack.pop()
            if ident in mapping:
                continue
            theirs = base.get(ident)
            first = on[ident][0]
            found = source.candidates(first.name, first.extras, on[ident])
            if theirs is None:
                # Needed here, not there (appnope on macOS): this system's most preferred candidate that the
                # requirements so far allow; the check below holds it to all of them.
                checks = [*on[ident], *constraints.get(first.name, ())]
                mine = next((c for c in found if all(provider.is_satisfied_by(r, c) for r in checks)), None)
            else:
                mine = next((c for c in found if c.version == theirs.version and c.provider == theirs.provider),
                            None)
            if mine is None:
                return None
            mapping[ident] = mine
            for dep in provider.get_dependencies(mine):
                on[dep.identifier].append(dep)
                stack.append(dep.identifier)
        for ident, pinned in mapping.items():
            asked = on[ident]
            checks = [*asked, *constraints.get(pinned.name, ())]
            best = next((c for c in source.candidates(asked[0].name, asked[0].extras, asked)
                         if all(provider.is_satisfied_by(r, c) for r in checks)), None)
            if best != pinned:
                return None
    except NixgenError:
        return None
    return mapping


def traded(base: Mapping[str, Candidate], provider: NixgenProvider, reqs: list[Req],
           constraints: Mapping[str, Sequence[Req]], names: frozenset[str]) -> dict[str, Candidate] | None:
    """min-build's second resolution without a second search: ``base`` (the first resolution) with each
    nixpkgs pin in ``names`` traded for the index wheel of the same version, if that is a resolution: every
    requirement of the user, every constraint and every dependency (now strict where a wheel asks) holds,
    and nothing new is needed; what no longer is needed is left out. Else None (search again)."""
    mapping = dict(base)
    source = provider.source
    try:
        for ident, cand in base.items():
            if cand.name not in names or not cand.from_nixpkgs:
                continue
            asked = [r for r in reqs if r.name == cand.name]
            wheel = next((c for c in source.candidates(cand.name, cand.extras, asked)
                          if c.provider == "wheel" and c.version == cand.version), None)
            if wheel is None:
                return None
            mapping[ident] = wheel
        needed: set[str] = set()
        stack = [r.identifier for r in reqs]
        for r in reqs:
            pinned = mapping.get(r.identifier)
            if pinned is None or not provider.is_satisfied_by(r, pinned):
                return None
        while stack:
            ident = stack.pop()
            if ident in needed:
                continue
            needed.add(ident)
            cand = mapping[ident]
            if not all(provider.is_satisfied_by(c, cand) for c in constraints.get(cand.name, ())):
                return None
            for dep in provider.get_dependencies(cand):
                pinned = mapping.get(dep.identifier)
                if pinned is None or not provider.is_satisfied_by(dep, pinned):
                    return None
                stack.append(dep.identifier)
    except NixgenError:
        return None
    return {ident: c for ident, c in mapping.items() if ident in needed}
