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
it can; only where that fails does a system resolve on its own.

On its own, a system first tries :func:`unsearched`: the same check with nothing to carry, every project at
the first of its candidates that all the requirements on it allow. Where nothing conflicts (most real sets:
NetBox, ml-handson) that is a valid resolution found with no search at all, each pin locally the most
preferred (for both sets, and every packse scenario, it is what resolvelib's search finds; where several
such resolutions exist the two may pick different ones); where a conflict needs backtracking (packse's
backtracking scenarios) it does not settle within a few rounds and resolvelib searches.
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
    system: str  # the Nix system it was made for
    queries: dict[tuple[object, ...], Query] = field(default_factory=dict)  # by CandidateSource.query_key
    fetched: dict[Candidate, list[Req]] = field(default_factory=dict)  # dependencies read, in order
    mapping: dict[str, Candidate] = field(default_factory=dict)  # the result, identifier → candidate
    exact: bool = True  # made by a resolvelib search whose questions are recorded (else only carried)

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
    searches: int = 0  # resolutions made on their own: a resolvelib search, or one found without (direct)
    replayed: int = 0  # resolutions re-used from another system's recording
    carried: int = 0  # resolutions made of another system's versions (:func:`carried`)
    direct: int = 0  # of the searches, those that needed no resolvelib search (nothing conflicted)
    traded: int = 0  # min-build second resolutions made by trading pins of the first


def seen(query: Query, position: int, cand: Candidate) -> None:
    """Record that resolvelib read ``cand`` at ``position`` of ``query``'s answer."""
    if position == len(query.seen):
        query.seen.append(cand)


def replay(recording: Recording, provider: NixgenProvider, reqs: list[Req],
           constraints: Mapping[str, Sequence[Req]]) -> dict[str, Candidate] | None:
    """The recorded resolution in ``provider``'s own candidates, if ``provider`` answers every recorded
    question as the recording's provider did; else None (resolve this system on its own)."""
    if not recording.exact or recording.reqs != reqs or dict(recording.constraints) != dict(constraints):
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
    return _fixpoint(base, provider, reqs, constraints, {})[0]


def unsearched(provider: NixgenProvider, reqs: list[Req], constraints: Mapping[str, Sequence[Req]],
               rounds: int = 3) -> dict[str, Candidate] | None:
    """A resolution found without a search, when nothing conflicts: every project needed pinned to the first
    of its candidates that all the requirements on it allow (the same check as :func:`carried`). A pin that
    a requirement found later rules out is chosen again in the next round, knowing that requirement; None
    when ``rounds`` do not settle it (then resolvelib searches)."""
    hints: Mapping[str, list[Req]] = {}
    for _ in range(rounds):
        mapping, on = _fixpoint({}, provider, reqs, constraints, hints)
        if mapping is not None or on is None:
            return mapping
        hints = on
    return None


def _fixpoint(base: Mapping[str, Candidate], provider: NixgenProvider, reqs: list[Req],
              constraints: Mapping[str, Sequence[Req]], hints: Mapping[str, list[Req]]
              ) -> tuple[dict[str, Candidate] | None, dict[str, list[Req]] | None]:
    """The pins of :func:`carried` (a project ``base`` lacks takes its first candidate that the requirements
    so far, and ``hints``, allow), and the requirements on each identifier they gave; the pins are None when
    one is not the first its requirements allow, and both are None when this cannot work at all."""
    if any(r.hashes for r in reqs) or any(r.hashes for rs in constraints.values() for r in rs):
        return None, None  # as in replay(): a --hash check differs between platforms' files
    source = provider.source
    on: dict[str, list[Req]] = defaultdict(list)  # the requirements on each identifier
    for r in reqs:
        on[r.identifier].append(r)
    mapping: dict[str, Candidate] = {}
    # Wave by wave: pick each new identifier's candidate and start reading its metadata, then read the
    # wave's dependencies (a cold run reads a wave's metadata in parallel, not one file at a time).
    wave = list(dict.fromkeys(r.identifier for r in reqs))
    try:
        while wave:
            picked: list[Candidate] = []
            for ident in wave:
                if ident in mapping:
                    continue
                theirs = base.get(ident)
                first = on[ident][0]
                found = source.candidates(first.name, first.extras, on[ident])
                if theirs is None:
                    # Needed here, not there (appnope on macOS): this system's most preferred candidate that
                    # the requirements so far allow; the check below holds it to all of them.
                    checks = [*on[ident], *hints.get(ident, ()), *constraints.get(first.name, ())]
                    mine = next((c for c in found if all(provider.is_satisfied_by(r, c) for r in checks)), None)
                else:
                    mine = next((c for c in found if c.version == theirs.version and c.provider == theirs.provider),
                                None)
                if mine is None:
                    return None, None
                mapping[ident] = mine
                source.prefetch(mine)
                picked.append(mine)
            after: list[str] = []
            for mine in picked:
                for dep in provider.get_dependencies(mine):
                    on[dep.identifier].append(dep)
                    after.append(dep.identifier)
            wave = [i for i in dict.fromkeys(after) if i not in mapping]
        for ident, pinned in mapping.items():
            asked = on[ident]
            checks = [*asked, *constraints.get(pinned.name, ())]
            best = next((c for c in source.candidates(asked[0].name, asked[0].extras, asked)
                         if all(provider.is_satisfied_by(r, c) for r in checks)), None)
            if best != pinned:
                return None, on
    except NixgenError:
        return None, None
    return mapping, on


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
