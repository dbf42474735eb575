"""The resolvelib provider: resolvelib asks, :class:`CandidateSource` answers.

Requirement matching implements PEP 440 specifiers and PEP 508 markers and extras, evaluated for the target.
The one nixgen-specific rule: an edge between two nixpkgs packages never rules out the nixpkgs candidate
(nixpkgs builds its set together and relaxes upstream pins); all other edges are strict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from resolvelib import AbstractProvider
from resolvelib.structs import RequirementInformation

from nixgen.resolve.abi import abi_constraints
from nixgen.resolve.candidates import CandidateSource
from nixgen.resolve.model import Candidate, Req, identifier_for
from nixgen.resolve.replay import Recording, seen

if TYPE_CHECKING:
    from nixgen.pypi.model import CoreMetadata


def marker_applies(req: Requirement, env: Mapping[str, str], extras: Iterable[str]) -> bool:
    """PEP 508: does ``req``'s marker hold for the target with any of ``extras`` (or none) requested?"""
    if req.marker is None:
        return True
    return any(req.marker.evaluate({**env, "extra": extra}) for extra in (*extras, ""))


def _causes(backtrack_causes: Sequence[RequirementInformation[Req, Candidate]]) -> frozenset[str]:
    """The projects of the requirements and parents that made the resolver backtrack last."""
    names = {c.requirement.name for c in backtrack_causes}
    names |= {c.parent.name for c in backtrack_causes if c.parent is not None}
    return frozenset(names)


def _preference(identifier: str, information: Mapping[str, Iterator[RequirementInformation[Req, Candidate]]],
                causes: frozenset[str]) -> tuple[bool, bool, bool, bool, str]:
    """Which project to pin next (least first): direct URLs, then ``==`` pins, then the causes of the last
    backtrack, then the user's own requirements, then by name (so the order is stable)."""
    infos = list(information[identifier])
    direct = any(i.requirement.url for i in infos)
    pinned = any(i.requirement.exact for i in infos)
    from_user = any(i.parent is None for i in infos)
    name = identifier.split("[", 1)[0]
    return (not direct, not pinned, name not in causes, not from_user, identifier)


@dataclass
class ProviderMemo:
    """What the provider learns of candidates for one target, for the next resolution of the same target
    (min-build's second one)."""

    dependencies: dict[Candidate, list[Req]] = field(default_factory=dict)
    metadata_source: dict[Candidate, str] = field(default_factory=dict)
    metadata_file: dict[Candidate, str | None] = field(default_factory=dict)
    added: dict[Candidate, tuple[str, ...]] = field(default_factory=dict)


class NixgenProvider(AbstractProvider[Req, Candidate, str]):
    """Answers resolvelib's questions from one :class:`CandidateSource`."""

    def __init__(self, source: CandidateSource, constraints: Mapping[str, Sequence[Req]],
                 memo: ProviderMemo | None = None, recording: Recording | None = None) -> None:
        self.source = source
        self.recording = recording  # what resolvelib asks, for other systems to replay (resolve/replay.py)
        self._satisfied: dict[tuple[int, int], tuple[bool, Req, Candidate]] = {}
        self.constraints = constraints
        memo = memo or ProviderMemo()
        # A candidate's dependencies are the same in every resolution for one target: kept in ``memo``.
        self.dependencies: dict[Candidate, list[Req]] = memo.dependencies
        self.metadata_source: dict[Candidate, str] = memo.metadata_source
        self.metadata_file: dict[Candidate, str | None] = memo.metadata_file
        self.added: dict[Candidate, tuple[str, ...]] = memo.added  # requirements nixgen added (resolve/abi.py)

    def identify(self, requirement_or_candidate: Req | Candidate) -> str:
        if isinstance(requirement_or_candidate, Req):
            return requirement_or_candidate.identifier
        return identifier_for(requirement_or_candidate.name, requirement_or_candidate.extras)

    def get_preference(self, identifier: str, resolutions: Mapping[str, Candidate],
                       candidates: Mapping[str, Iterator[Candidate]],
                       information: Mapping[str, Iterator[RequirementInformation[Req, Candidate]]],
                       backtrack_causes: Sequence[RequirementInformation[Req, Candidate]]) -> Any:
        return _preference(identifier, information, _causes(backtrack_causes))

    def narrow_requirement_selection(self, identifiers: Iterable[str], resolutions: Mapping[str, Candidate],
                                     candidates: Mapping[str, Iterator[Candidate]],
                                     information: Mapping[str, Iterator[RequirementInformation[Req, Candidate]]],
                                     backtrack_causes: Sequence[RequirementInformation[Req, Candidate]]
                                     ) -> Iterable[str]:
        """The one identifier :meth:`get_preference` ranks first, found in one pass (the backtrack causes
        gathered once, not once per identifier): resolvelib then pins it without sorting."""
        causes = _causes(backtrack_causes)
        return [min(identifiers, key=lambda i: _preference(i, information, causes))]

    def find_matches(self, identifier: str, requirements: Mapping[str, Iterator[Req]],
                     incompatibilities: Mapping[str, Iterator[Candidate]]) -> Callable[[], Iterator[Candidate]]:
        reqs = list(requirements[identifier])
        bad = set(incompatibilities[identifier])

        def matches() -> Iterator[Candidate]:
            if not reqs:
                return
            name, extras = reqs[0].name, reqs[0].extras
            checks = [*reqs, *self.constraints.get(name, ())]
            first = True
            query = None
            if self.recording is not None:
                query = self.recording.query(self.source.query_key(name, extras, reqs), name, extras, reqs)
            position = 0
            for cand in self.source.candidates(name, extras, reqs):
                if query is not None:
                    seen(query, position, cand)
                    position += 1
                if cand in bad or not all(self.is_satisfied_by(r, cand) for r in checks):
                    continue
                if first:
                    self.source.prefetch(cand)
                first = False
                yield cand
            if query is not None:
                query.exhausted = True

        return matches

    def is_satisfied_by(self, requirement: Req, candidate: Candidate) -> bool:
        # resolvelib asks the same pairs again every round (is each current pin still good?): answered once.
        # Keyed by identity, the objects kept alive with the answer so an id is never reused.
        key = (id(requirement), id(candidate))
        hit = self._satisfied.get(key)
        if hit is None:
            hit = self._satisfied[key] = (self._satisfies(requirement, candidate), requirement, candidate)
        return hit[0]

    def _satisfies(self, requirement: Req, candidate: Candidate) -> bool:
        if requirement.same_provider and candidate.provider != requirement.same_provider:
            return False
        if requirement.url is not None:
            if candidate.direct_url == requirement.url:
                return True
            # A git source at a locked commit satisfies a requirement on the same repository at a ref.
            from nixgen.pypi.vcs import same_git_source

            return (candidate.vcs is not None and candidate.direct_url is not None
                    and same_git_source(candidate.direct_url, requirement.url))
        if candidate.from_nixpkgs:
            if requirement.hashes:
                return False
            if requirement.relaxable and not self.source.strict:
                return True
        elif requirement.hashes and (candidate.artifact is None
                                     or f"sha256:{candidate.artifact.sha256}" not in requirement.hashes):
            return False
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate: Candidate) -> list[Req]:
        if candidate not in self.dependencies:
            deps = self._dependencies(candidate)
            self.dependencies[candidate] = deps
            self.source.index.prefetch({d.name for d in deps})
        if self.recording is not None:
            self.recording.fetched.setdefault(candidate, self.dependencies[candidate])
        return self.dependencies[candidate]

    def _dependencies(self, cand: Candidate) -> list[Req]:
        env = self.source.target.markers
        deps: list[Req] = []
        if cand.extras:
            deps.append(Req(name=cand.name, specifier=SpecifierSet(f"=={cand.version}"), parent=cand,
                            url=cand.direct_url, same_provider=cand.provider,
                            text=f"{cand.name}=={cand.version}"))
        found = self.source.metadata(cand)
        self.metadata_source[cand] = found.source
        self.metadata_file[cand] = found.filename
        if found.metadata is not None:
            deps += self._from_metadata(cand, found.metadata, env)
            added = abi_constraints(cand, deps)
            if added:
                self.added[cand] = tuple(r.text for r in added)
                deps += added
        if cand.built_here() and not cand.extras:
            for text in self.source.build_requires(cand):
                req = Requirement(text)
                if marker_applies(req, env, ()):
                    deps.append(self._req(req, cand, "build"))
        return deps

    def _from_metadata(self, cand: Candidate, meta: CoreMetadata, env: Mapping[str, str]) -> list[Req]:
        out: list[Req] = []
        applied = self.source.overrides.applied(cand.name, cand.version)
        # A nixpkgs package is used as nixpkgs built it: what its expression deletes from the metadata
        # (nixpkgs-removes) is not part of it.
        dropped = applied.remove_dependencies | (applied.nixpkgs_removes if cand.from_nixpkgs else frozenset())
        declared = [r for r in meta.requirements(cand.extras) if canonicalize_name(r.name) not in dropped]
        if not cand.extras:
            declared += [Requirement(text) for text in applied.dependencies]
        for req in declared:
            if cand.extras:
                # The extras candidate adds only what its extras bring; the base candidate has the rest.
                if req.marker is None or not any(
                        req.marker.evaluate({**env, "extra": e}) for e in cand.extras):
                    continue
                if marker_applies(req, env, ()):
                    continue
            elif not marker_applies(req, env, ()):
                continue
            out.append(self._req(req, cand, "run"))
        return out

    @staticmethod
    def _req(req: Requirement, parent: Candidate, kind: str) -> Req:
        extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
        text = f"{req.name}{extras} @ {req.url}" if req.url else f"{req.name}{extras}{req.specifier}"
        return Req(name=canonicalize_name(req.name), specifier=req.specifier,
                   extras=frozenset(canonicalize_name(e) for e in req.extras), parent=parent,
                   text=text, url=req.url, kind="build" if kind == "build" else "run")
