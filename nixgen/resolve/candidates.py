"""Where candidates come from: the nixpkgs set (one version per attr) and the index's releases.

Both sources stand behind :class:`CandidateSource`, so the resolvelib provider never asks where a candidate
came from. Filtering follows PEP 440 (pre-releases), PEP 345/503 (``Requires-Python``), PEP 592 (yanked
files count only for an exact ``==``/``===`` pin) and PEP 425 (wheel tags of the target, never the host).

The rules where the standards leave a choice follow current uv (0.13) and pip (26):

- pre-releases come after every final release of a project (newest first within each), so one is chosen
  only where no final release satisfies the requirements on it, whoever made them (uv >= 0.12: stable
  releases are preferred; a requirement that names a pre-release, the user's or a dependency's, lets one
  in only when nothing final fits); a project with only pre-releases therefore gets its newest, and
  ``--pre`` orders all releases newest first;
- a yanked release is a candidate only for the user's own exact pin (a requirement or a constraint with
  ``==``/``===``), never because a dependency pins it;
- a project a dependency names but the index does not have is a requirement without candidates, so the
  resolver backtracks over the dependent; only a missing project the user asked for is an error at once.

Each project's candidate list is worked out once per target and option set (``_index_list``): resolvelib
asks for the same project many times while it backtracks.
"""

from __future__ import annotations

import contextlib
import re
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from nixgen.errors import MetadataError, ProjectNotFound, UsageError
from nixgen.inputs.model import LocalProject
from nixgen.nixpkgs.versioned import stands_for, versioned_suffix
from nixgen.overrides import Overrides
from nixgen.resolve.model import Artifact, BuildSystem, Candidate, FoundMetadata, Provider, ReleaseFacts, Req
from nixgen.resolve.target import Target

if TYPE_CHECKING:
    from packaging.tags import Tag

    from nixgen.nixpkgs.snapshot import PythonSet
    from nixgen.pypi.model import CoreMetadata, DistFile, ProjectFiles
    from nixgen.pypi.vcs import GitFound


def best_files(page: ProjectFiles, version: Version, ranks: Mapping[Tag, int]) -> list[DistFile]:
    """The page's files of ``version``, best first to read its metadata from: wheels for the target by PEP 425
    tag priority (``ranks``), then other wheels, then sdists; ties by file name, so the order is stable."""
    far = len(ranks) + 1

    def order(f: DistFile) -> tuple[int, int, str]:
        if f.kind == "wheel":
            rank = min((ranks.get(t, far) for t in f.tags), default=far)
            return (0 if rank < far else 1, rank, f.filename)
        return (2, 0, f.filename)

    return sorted(page.files_of(version), key=order)


class IndexLike(Protocol):
    """What the resolver needs of a package index (``nixgen.pypi.Index`` is the real one)."""

    def project(self, name: str, *, undated: bool = False) -> ProjectFiles: ...
    def metadata(self, file: DistFile) -> CoreMetadata: ...
    def prefetch(self, names: Iterable[str]) -> None: ...
    def prefetch_metadata(self, files: Iterable[DistFile]) -> None: ...
    def prefetch_chosen(self, name: str, what: Hashable,
                        choose: Callable[[ProjectFiles], Sequence[DistFile]]) -> None: ...
    def sdist_build_system(self, file: DistFile) -> BuildSystem | None: ...
    def direct(self, name: str, url: str) -> tuple[DistFile, CoreMetadata]: ...
    def git(self, name: str, url: str, *, python: str | None = None, allow_unboxed: bool = False,
            build_metadata: bool = True) -> GitFound: ...
    def metadata_by_build(self, file: DistFile, timeout: float = 300.0, *, python: str | None = None,
                          allow_unboxed: bool = False) -> CoreMetadata: ...


@lru_cache(maxsize=4096)
def _python_fits(requires_python: str, python_version: str) -> bool:
    """PEP 345 ``Requires-Python`` for one interpreter version (memoized: a few hundred distinct strings)."""
    try:
        return SpecifierSet(requires_python).contains(python_version, prereleases=True)
    except InvalidSpecifier:
        return True  # as pip does: an unparsable Requires-Python does not exclude the file


def _cpython_minor(interpreter: str) -> int | None:
    """The minor version of a PEP 425 CPython 3 interpreter tag (``cp313`` → 13); None for others."""
    return int(interpreter[3:]) if interpreter.startswith("cp3") and interpreter[3:].isdigit() else None


# Build requirements that stand for "the numpy this environment has": mapped onto the set's own numpy, so a
# C extension compiles against the exact numpy it runs with.
_META_PACKAGES = {"oldest-supported-numpy": "numpy"}


def _same_set(text: str) -> str:
    """A build requirement with meta-packages such as ``oldest-supported-numpy`` mapped to the real one."""
    head = re.split(r"[\s\[;<>=!~]", text.strip(), maxsplit=1)[0]
    target = _META_PACKAGES.get(canonicalize_name(head))
    if target is None:
        return text
    marker = text.split(";", 1)[1] if ";" in text else None
    return target + (f"; {marker.strip()}" if marker else "")


@dataclass(frozen=True)
class Exclusion:
    """Why a release of a project was not offered as a candidate (for error messages)."""

    version: str
    reason: str


class _Lazy:
    """A project's index candidates, made as resolvelib asks for them and kept for the run: most of a
    project's releases are never looked at once a newer one is accepted."""

    __slots__ = ("_source", "done", "excluded", "items")

    def __init__(self, source: Iterator[Candidate], excluded: list[Exclusion]) -> None:
        self._source = source
        self.items: list[Candidate] = []
        self.excluded = excluded
        self.done = False

    def __iter__(self) -> Iterator[Candidate]:
        i = 0
        while True:
            if i < len(self.items):
                yield self.items[i]
                i += 1
                continue
            if self.done:
                return
            try:
                self.items.append(next(self._source))
            except StopIteration:
                self.done = True
                return

    def drain(self) -> None:
        for _ in self:
            pass


@dataclass
class CandidateSource:
    """Builds and orders the candidates of each project for one target."""

    index: IndexLike
    pyset: PythonSet | None
    target: Target
    prefer: str = "nixpkgs"
    forced: Mapping[str, Provider] = field(default_factory=dict)
    overrides: Overrides = field(default_factory=Overrides)
    native_versions: Mapping[str, str] = field(default_factory=dict)  # always-nixpkgs attrs outside the set
    build_metadata: bool = True  # may run an sdist's PEP 517 metadata hook when its metadata is not static
    allow_unboxed_builds: bool = False  # ... even where the platform cannot box it (see nixgen.pypi.box)
    local: Mapping[str, LocalProject] = field(default_factory=dict)  # projects built from their source tree
    metadata_target: Target | None = None  # whose wheels to read nixpkgs candidates' metadata from
    allow_pre: bool = False
    preferred: Mapping[str, str] = field(default_factory=dict)  # re-locking: the previous lock's index pins
    prefer_wheels: frozenset[str] = frozenset()  # min-build: wheels first, nixpkgs only as a fallback
    strict: bool = False  # --no-relax: edges between nixpkgs packages are checked like any other
    constraints: Mapping[str, Sequence[Req]] = field(default_factory=dict)  # the user's -c lines, by project
    notes: list[str] = field(default_factory=list)
    excluded: dict[str, list[Exclusion]] = field(default_factory=lambda: defaultdict(list))
    missing: set[str] = field(default_factory=set)  # projects asked for by a dependency the index lacks
    _pages: dict[str, ProjectFiles | None] = field(default_factory=dict)
    _lists: dict[tuple[str, frozenset[str], bool, frozenset[str], str | None], _Lazy] = field(default_factory=dict)
    _direct: dict[str, tuple[DistFile, CoreMetadata]] = field(default_factory=dict)
    _ranks: dict[frozenset[Tag], int] = field(default_factory=dict)

    # -- index access -------------------------------------------------------------------------------
    def page(self, name: str, *, required: bool) -> ProjectFiles | None:
        """The project's files, or None when it is not on the index and ``required`` is false."""
        if name not in self._pages:
            try:
                self._pages[name] = self.index.project(name)
            except ProjectNotFound:
                if required:
                    raise
                self._pages[name] = None
        return self._pages[name]

    def git(self, name: str, url: str) -> GitFound:
        """A git source of ``name`` at its commit (:meth:`IndexLike.git`), for the target's Python."""
        python = "{}.{}".format(*self.target.python_tuple)
        return self.index.git(name, url, python=python, allow_unboxed=self.allow_unboxed_builds,
                              build_metadata=self.build_metadata)

    def direct(self, name: str, url: str) -> tuple[DistFile, CoreMetadata]:
        if url not in self._direct:
            self._direct[url] = self.index.direct(name, url)
        return self._direct[url]

    # -- candidates -----------------------------------------------------------------------------------
    def query_key(self, name: str, extras: frozenset[str], reqs: Sequence[Req]) -> tuple[object, ...]:
        """What :meth:`candidates` depends on of its arguments: equal keys, equal answers (for one source)."""
        urls = frozenset(r.url for r in reqs if r.url)
        hashes = frozenset(h for r in reqs for h in r.hashes)
        return (name, extras, urls, hashes, any(r.parent is None for r in reqs), frozenset(self.user_pins(name, reqs)))

    def candidates(self, name: str, extras: frozenset[str], reqs: Sequence[Req]) -> Iterator[Candidate]:
        """Every candidate for ``name`` in preference order (first = most preferred), built lazily: with
        ``prefer="nixpkgs"`` the index's releases are only looked at if the nixpkgs candidate is rejected.

        A version ``preferred`` (re-locking) comes first when it is an index candidate; for a name in
        ``prefer_wheels`` (min-build's trades) the index's wheels come first and nixpkgs' candidate last.
        """
        found = self._candidates(name, extras, reqs)
        want = self.preferred.get(name)
        if want is None:
            yield from found
            return
        ordered = list(found)
        ordered.sort(key=lambda c: c.from_nixpkgs or str(c.version) != want)
        yield from ordered

    def _candidates(self, name: str, extras: frozenset[str], reqs: Sequence[Req]) -> Iterator[Candidate]:
        if name in self.local:
            project = self.local[name]
            yield LocalCandidate(name=name, version=Version(project.version), provider="local",
                                 extras=extras, source_path=project.directory)
            return
        # A URL constraint (a lock's git commit) stands for the project whatever the requirements say.
        urls = {r.url for r in self.constraints.get(name, ()) if r.url} or {r.url for r in reqs if r.url}
        if urls:
            yield from (self._direct_candidate(name, extras, url) for url in sorted(urls))
            return
        hashes: set[str] = set()
        for r in reqs:
            hashes |= r.hashes
        forced = self.forced.get(name)
        if forced is None and name in self.overrides.always_nixpkgs():
            forced = "nixpkgs"
        if forced is None and not hashes and name in self.prefer_wheels:
            yield from self._wheels_first(name, extras, reqs)
            return
        nix = None if hashes or forced in ("wheel", "sdist") else self._nix_candidate(name, extras)
        if forced == "nixpkgs" and nix is None:
            raise UsageError(f"--provider {name}=nixpkgs, but the nixpkgs snapshot has no package "
                             f"installing {name} for {self.target.packages_attr}",
                             hint="drop the --provider option or choose wheel or sdist")
        versioned = self._versioned_candidates(name, extras) if nix is not None else []
        if nix is not None and (self.prefer != "latest" or forced == "nixpkgs"):
            yield nix
            yield from versioned
        if forced == "nixpkgs":
            return
        # A missing project is an error at once only when the user asked for it; a dependency's missing
        # project just leaves the dependent without a way to be installed (backtracking, as uv and pip do).
        page = self.page(name, required=nix is None and any(r.parent is None for r in reqs))
        if page is None and nix is None:
            self.missing.add(name)
        index_cands = self._index_candidates(name, extras, page, reqs, forced, hashes) if page else iter(())
        if nix is None and self.prefer != "latest":
            # Built from the index all the same (a forced provider, a --hash pin): nixpkgs' version first,
            # the one the rest of the nixpkgs set was built and tested with.
            skipped = self._nix_candidate(name, extras) if self.pyset is not None else None
            if skipped is not None:
                cands = list(index_cands)
                cands.sort(key=lambda c: c.version != skipped.version)
                index_cands = iter(cands)
        if nix is None or self.prefer != "latest":
            yield from index_cands
            return
        merged = [nix, *versioned, *index_cands]
        merged.sort(key=lambda c: (c.version, c.from_nixpkgs), reverse=True)
        yield from merged

    def _wheels_first(self, name: str, extras: frozenset[str], reqs: Sequence[Req]) -> Iterator[Candidate]:
        """The index's wheels (nixpkgs' version first), then the nixpkgs candidate as the fallback."""
        nix = self._nix_candidate(name, extras)
        page = self.page(name, required=nix is None)
        if page is not None:
            same = None
            if nix is not None:  # read only as far as nixpkgs' version: what comes after may never be asked for
                same = next((c for c in self._index_candidates(name, extras, page, reqs, "wheel", set())
                             if c.version == nix.version), None)
                if same is not None:
                    yield same
            yield from (c for c in self._index_candidates(name, extras, page, reqs, "wheel", set()) if c is not same)
        if nix is not None:
            yield nix

    def _nix_candidate(self, name: str, extras: frozenset[str]) -> Candidate | None:
        if self.pyset is None:
            return None
        pkg = self.pyset.by_pypi_name(name)
        if pkg is None:
            if name in self.native_versions:  # e.g. gdal: the Python module is the native package's build
                return NixpkgsCandidate(name=name, version=Version(self.native_versions[name]),
                                        provider="nixpkgs", extras=extras, attr=name)
            return None
        try:
            version = Version(pkg.version)
        except InvalidVersion:
            self.notes.append(f"nixpkgs' {pkg.attr} has version {pkg.version!r}, which is not a PEP 440 "
                              "version; it is not offered as a candidate")
            return None
        return NixpkgsCandidate(name=name, version=version, provider="nixpkgs", extras=extras, attr=pkg.attr)

    def _versioned_candidates(self, name: str, extras: frozenset[str]) -> list[Candidate]:
        """nixpkgs' versioned attributes of ``name`` (``pydantic_1``, ``sqlalchemy_1_4``), newest first: the
        older major versions nixpkgs keeps beside the canonical attribute, each a candidate at its version.

        An attr counts when it is named ``<canonical attr>_<n>[_<n>…]`` and the numbers begin its version's
        release (``sqlalchemy_1_3``, which nixpkgs points at 1.4.54, is not 1.3's); another attr installing
        the same version (``torchWithCuda``) is another build of it, not another version.
        """
        if self.pyset is None:
            return []
        attrs = self.pyset.attrs_for(name)
        if len(attrs) < 2:
            return []
        canonical = attrs[0]
        seen = {canonical.version}
        found: list[NixpkgsCandidate] = []
        for pkg in attrs[1:]:
            suffix = versioned_suffix(pkg.attr)
            if suffix is None or suffix[0] != canonical.attr or pkg.version in seen:
                continue
            try:
                version = Version(pkg.version)
            except InvalidVersion:
                continue
            if not stands_for(pkg.attr, version):
                continue
            seen.add(pkg.version)
            found.append(NixpkgsCandidate(name=name, version=version, provider="nixpkgs", extras=extras,
                                          attr=pkg.attr))
        found.sort(key=lambda c: c.version, reverse=True)
        return list(found)

    def nix_metadata_files(self, cand: Candidate, target: Target | None = None) -> list[DistFile]:
        """Index files of a nixpkgs candidate's version, best first for ``target``.

        Without a target (reading metadata), the order is the same for every system of a run, so the
        systems share one metadata read: Requires-Dist is the same in every wheel of a release, and its
        markers are evaluated per system anyway.
        """
        page = self.page(cand.name, required=False)
        if page is None:
            return []
        ranks = (target or self.metadata_target or self.target).tag_priority
        found = best_files(page, cand.version, ranks)
        if not found:
            # nixpkgs' version is kept whatever --exclude-newer says (the binary cache does not move), so its
            # metadata comes from the files of that version uploaded after the date too.
            found = best_files(self.index.project(cand.name, undated=True), cand.version, ranks)
        return found

    def prefetch(self, cand: Candidate) -> None:
        """Start reading, in the background, the metadata the candidate's dependencies will be read from: an
        index candidate's file, or what :meth:`NixpkgsCandidate.metadata` reads first (its project page, then
        the best file of its version), so a cold run reads either kind's metadata in parallel."""
        if not cand.from_nixpkgs:
            if cand.metadata_files:
                self.index.prefetch_metadata(cand.metadata_files)  # type: ignore[arg-type]
            return
        ranks = (self.metadata_target or self.target).tag_priority
        version = cand.version
        self.index.prefetch_chosen(cand.name, ("nixpkgs", version),
                                   lambda page: best_files(page, version, ranks)[:1])

    def _tag_rank(self, tags: frozenset[Tag]) -> int:
        """The best PEP 425 priority of a wheel's tags for the target (0 = best), -1 if none installs; once per
        tag set (wheels share their tag sets, see ``nixgen.pypi.pages``)."""
        rank = self._ranks.get(tags)
        if rank is None:
            ranks = self.target.tag_priority
            rank = self._ranks[tags] = min((ranks[t] for t in tags if t in ranks), default=-1)
        return rank

    def _requires_python_ok(self, f: DistFile) -> bool:
        if not f.requires_python:
            return True
        return _python_fits(f.requires_python, self.target.python_version)

    def user_pins(self, name: str, reqs: Sequence[Req]) -> set[Version]:
        """Versions the user pinned exactly (``==``/``===``, no wildcard): the only ones PEP 592 lets a
        yanked file be selected for."""
        exact: set[Version] = set()
        for r in (*reqs, *self.constraints.get(name, ())):
            if r.parent is not None:
                continue
            for spec in r.specifier:
                if spec.operator in ("==", "===") and "*" not in spec.version:
                    with contextlib.suppress(InvalidVersion):
                        exact.add(Version(spec.version))
        return exact

    def _index_candidates(self, name: str, extras: frozenset[str], page: ProjectFiles, reqs: Sequence[Req],
                          forced: Provider | None, hashes: set[str]) -> Iterator[Candidate]:
        allow_pre = self.allow_pre
        key = (name, extras, allow_pre, frozenset(hashes), forced)
        memo = self._lists.get(key)
        if memo is None:
            excluded: list[Exclusion] = []
            memo = self._lists[key] = _Lazy(self._index_list(name, extras, page, allow_pre,
                                                              self.user_pins(name, reqs), forced, hashes, excluded),
                                            excluded)
        self.excluded[name] = memo.excluded
        return iter(memo)

    def drain_exclusions(self, name: str) -> None:
        """Look at every release of ``name`` (for an error message: why each was passed over)."""
        for key, memo in self._lists.items():
            if key[0] == name:
                memo.drain()

    def _index_list(self, name: str, extras: frozenset[str], page: ProjectFiles, allow_pre: bool,
                    pinned: set[Version], forced: Provider | None, hashes: set[str],
                    excluded: list[Exclusion]) -> Iterator[Candidate]:
        """The index's releases of ``name`` usable on the target, best first (newest final releases, then
        newest pre-releases; newest first overall with ``--pre``), made as they are asked for; why the others
        are not usable is appended to ``excluded`` as they are passed over."""
        versions, files_of = page.versions, page.files_of
        rank_of = self._tag_rank
        own = self.target.interpreter_tag
        first_wheels: list[str | None] = []  # the oldest release with a wheel for the target: found once, if asked

        def wheels_from() -> str | None:
            if not first_wheels:
                found = min((v for v in versions if not v.is_prerelease
                             and any(f.kind == "wheel" and not f.yanked and any(t.interpreter == own for t in f.tags)
                                     for f in files_of(v))), default=None)
                first_wheels.append(str(found) if found is not None else None)
            return first_wheels[0]

        newest_cp: list[list[tuple[Version, int]]] = []  # per final release, its newest CPython wheel: once

        def later_wheels(version: Version) -> str | None:
            if not newest_cp:
                newest_cp.append([(v, max(minors)) for v in versions if not v.is_prerelease
                                  and (minors := [m for f in files_of(v) if f.kind == "wheel" for t in f.tags
                                                  if (m := _cpython_minor(t.interpreter)) is not None])])
            found = max((m for v, m in newest_cp[0] if v > version), default=None)
            return f"cp3{found}" if found is not None else None

        newest = page.newest_first()
        order = newest if allow_pre else [*(v for v in newest if not v.is_prerelease),
                                          *(v for v in newest if v.is_prerelease)]
        for version in order:
            files = files_of(version)
            usable = [f for f in files if not f.yanked or version in pinned]
            if not usable:
                excluded.append(Exclusion(str(version), "is yanked (PEP 592: only your own == pin selects a "
                                                         "yanked release)"))
                continue
            if hashes:
                usable = [f for f in usable if f.sha256 and f"sha256:{f.sha256}" in hashes]
                if not usable:
                    excluded.append(Exclusion(str(version), "no file matches the --hash values"))
                    continue
            fitting = [f for f in usable if self._requires_python_ok(f)]
            if not fitting:
                rp = usable[0].requires_python
                excluded.append(Exclusion(str(version), f"requires Python {rp}"))
                continue
            # The best wheel for the target: lowest PEP 425 tag rank, then by file name (stable).
            wheel = min(((r, f.filename, f) for f in fitting if f.kind == "wheel" and (r := rank_of(f.tags)) >= 0),
                        default=None, key=lambda rnf: rnf[:2])
            sdists = sorted((f for f in fitting if f.kind == "sdist"),
                            key=lambda f: (not f.filename.endswith(".tar.gz"), f.filename))
            chosen: DistFile | None = None
            provider: Provider
            if forced != "sdist" and wheel is not None:
                chosen, provider = wheel[2], "wheel"
            elif forced != "wheel" and sdists:
                chosen, provider = sdists[0], "sdist"
            else:
                want = {"wheel": "no wheel", "sdist": "no sdist"}.get(forced or "", "neither a wheel nor an sdist")
                excluded.append(Exclusion(str(version), f"has {want} for {self.target.describe()}"))
                continue
            if not chosen.sha256:
                excluded.append(Exclusion(str(version), f"{chosen.filename} has no sha256 on the index"))
                continue
            yield IndexCandidate(
                name=name, version=version, provider=provider, extras=extras,
                artifact=Artifact(chosen.filename, chosen.url, chosen.sha256, chosen.size),
                metadata_files=(chosen,),
                # The project-wide facts are feasibility's, which judges only what is built from source.
                release=ReleaseFacts(
                    uploaded=chosen.upload_time,
                    wheel_pythons=tuple(sorted({t.interpreter for f in files if f.kind == "wheel" for t in f.tags})),
                    wheels_from=wheels_from() if provider == "sdist" else None,
                    later_wheels=later_wheels(version) if provider == "sdist" else None),
            )

    def _direct_candidate(self, name: str, extras: frozenset[str], url: str) -> Candidate:
        from nixgen.pypi.vcs import is_vcs_url

        if is_vcs_url(url):
            found = self.git(name, url)
            if canonicalize_name(found.metadata.name) != name:
                raise MetadataError(f"{found.source.url}@{found.source.short} holds {found.metadata.name}, not "
                                    f"{name}", hint="check the name before '@' in the requirement")
            return VcsCandidate(name=name, version=Version(found.metadata.version), provider="sdist",
                                extras=extras, direct_url=url, vcs=found.source)
        dist, meta = self.direct(name, url)
        if canonicalize_name(meta.name) != name:
            raise MetadataError(f"{url} holds {meta.name} {meta.version}, not {name}",
                                hint="check the name before '@' in the requirement")
        provider: Provider = "sdist"
        if dist.kind == "wheel":
            if not any(t in self.target.tag_priority for t in dist.tags):
                raise MetadataError(f"{dist.filename} does not install on {self.target.describe()}",
                                    hint="point the requirement at a wheel for this target, or at an sdist")
            provider = "wheel"
        assert dist.sha256 is not None
        return DirectCandidate(name=name, version=Version(meta.version), provider=provider, extras=extras,
                               artifact=Artifact(dist.filename, dist.url, dist.sha256, dist.size),
                               metadata_files=(dist,), direct_url=url)

    # -- metadata -------------------------------------------------------------------------------------
    def metadata(self, cand: Candidate) -> FoundMetadata:
        """The candidate's core metadata, how it was read and from which file (each kind answers itself)."""
        return cand.metadata(self)

    def read_metadata(self, files: Sequence[DistFile]) -> tuple[FoundMetadata | None, FoundMetadata | None,
                                                                 MetadataError | None]:
        """The first trusted metadata among ``files``, else the first best guess, and the last error."""
        last: MetadataError | None = None
        guess: FoundMetadata | None = None
        for f in files:
            try:
                md = self.index.metadata(f)
            except MetadataError as err:
                last = err
                continue
            if md.trusted:
                return FoundMetadata(md, md.source, f.filename), None, None
            guess = guess or FoundMetadata(md, md.source, f.filename)
        return None, guess, last

    def guessed(self, cand: Candidate, guess: FoundMetadata) -> FoundMetadata:
        self.notes.append(f"{cand.name} {cand.version}: dependencies read from {guess.source}, which "
                          "is a best guess for old sdists")
        return guess

    def sibling_wheel_metadata(self, cand: Candidate) -> FoundMetadata | None:
        """METADATA of a wheel of the sdist candidate's version, for whatever platform (best tag first)."""
        page = self.page(cand.name, required=False)
        if page is None:
            return None
        ranks = self.target.tag_priority
        far = len(ranks) + 1
        wheels = sorted((f for f in page.files_of(cand.version) if f.kind == "wheel"),
                        key=lambda f: (min((ranks.get(t, far) for t in f.tags), default=far), f.filename))
        for f in wheels:
            try:
                md = self.index.metadata(f)
            except MetadataError:
                continue
            with contextlib.suppress(InvalidVersion):
                if canonicalize_name(md.name) == cand.name and Version(md.version) == cand.version:
                    return FoundMetadata(md, md.source, f.filename)
        return None

    def build_requires(self, cand: Candidate) -> tuple[str, ...]:
        """The PEP 518 build requirements of an sdist candidate (PEP 517's setuptools default if none)."""
        system = cand.build_system(self)
        # PEP 518: no [build-system] table means setuptools; an explicit empty `requires` means nothing.
        declared = system[0] if system is not None else ("setuptools>=40.8.0",)
        extra = self.overrides.applied(cand.name, cand.version).build_system
        return tuple(dict.fromkeys(_same_set(r) for r in (*declared, *extra)))


# -- candidates by kind -----------------------------------------------------------------------------------
# Each kind answers for its own metadata and build system; equality and hashing stay those of Candidate
# (name, version, provider, extras), which resolvelib relies on.


class NixpkgsCandidate(Candidate):
    """nixpkgs' attribute at its one version: used as nixpkgs builds it, never built here. Its dependencies
    are read from the index's files of the same version (PEP 658 / wheel METADATA / sdist PKG-INFO)."""

    def metadata(self, source: CandidateSource) -> FoundMetadata:
        files = source.nix_metadata_files(self)
        if not files:
            source.notes.append(f"{self.name} {self.version} (nixpkgs) is not on the index; its "
                                "dependencies are taken as nixpkgs declares them")
            return FoundMetadata(None, "none", None)
        found, guess, last = source.read_metadata(files)
        if found is not None:
            return found
        if guess is not None:
            return source.guessed(self, guess)
        source.notes.append(f"{self.name} {self.version} (nixpkgs): no usable metadata on the index "
                            f"({last.message if last else 'no files'}); dependencies taken as nixpkgs has them")
        return FoundMetadata(None, "none", None)


class IndexCandidate(Candidate):
    """A release on the index, installed from a wheel for the target or built from its sdist.

    An sdist's metadata comes from the sdist when it is static (PEP 643), else from a wheel of the same
    version for any platform (Requires-Dist is per release), else from its PEP 517 metadata hook."""

    @property
    def file(self) -> DistFile:
        return self.metadata_files[0]  # type: ignore[return-value]

    def built_here(self) -> bool:
        return self.provider == "sdist"

    def metadata(self, source: CandidateSource) -> FoundMetadata:
        found, guess, last = source.read_metadata([self.file])
        if found is not None:
            return found
        if self.built_here():
            wheel = source.sibling_wheel_metadata(self)
            if wheel is not None:
                return wheel
        if guess is not None:
            return source.guessed(self, guess)
        assert last is not None
        if not self.built_here():
            raise last
        if not source.build_metadata:
            raise MetadataError(f"{self.name} {self.version}: {last.message}; --no-build-metadata forbids "
                                "running its build backend to find out",
                                hint=f"add its dependencies with --overrides ([{self.name}] dependencies = "
                                     "[…]), or allow the build")
        python = "{}.{}".format(*source.target.python_tuple)
        md = source.index.metadata_by_build(self.file, python=python, allow_unboxed=source.allow_unboxed_builds)
        source.notes.append(f"{self.name} {self.version}: dependencies from its PEP 517 metadata hook")
        return FoundMetadata(md, "build", self.file.filename)

    def build_system(self, source: CandidateSource) -> BuildSystem | None:
        return source.index.sdist_build_system(self.file)


class DirectCandidate(IndexCandidate):
    """A PEP 508 direct reference (``name @ url``) to a wheel or sdist, read when it was downloaded."""

    def metadata(self, source: CandidateSource) -> FoundMetadata:
        assert self.direct_url is not None
        dist, meta = source.direct(self.name, self.direct_url)
        return FoundMetadata(meta, "direct", dist.filename)


class VcsCandidate(Candidate):
    """A git source (``name @ git+URL@ref``) at the commit the ref named: built from the checkout, its
    metadata from the checkout's static ``[project]`` or its build backend (:mod:`nixgen.pypi.vcs`)."""

    def built_here(self) -> bool:
        return True

    def metadata(self, source: CandidateSource) -> FoundMetadata:
        assert self.direct_url is not None
        found = source.git(self.name, self.direct_url)
        return FoundMetadata(found.metadata, "vcs", None)

    def build_system(self, source: CandidateSource) -> BuildSystem | None:
        assert self.direct_url is not None
        found = source.git(self.name, self.direct_url)
        return (found.build_requires, None) if found.build_requires is not None else None


class LocalCandidate(Candidate):
    """The project of a pyproject.toml, built from its own source tree ([project] and [build-system])."""

    def built_here(self) -> bool:
        return True

    def metadata(self, source: CandidateSource) -> FoundMetadata:
        from nixgen.pypi.model import CoreMetadata

        project = source.local[self.name]
        # Requires-Dist from the project's own metadata hook (anything dynamic), else its static [project].
        reqs = [Requirement(t) for t in (project.requires_dist if project.requires_dist is not None
                                        else project.dependencies)]
        for extra, texts in project.optional if project.requires_dist is None else ():
            reqs += [Requirement(f"{t} ; extra == '{extra}'") if ";" not in t
                     else Requirement(f"{t.split(';', 1)[0]} ; ({t.split(';', 1)[1]}) and extra == '{extra}'")
                     for t in texts]
        md = CoreMetadata(name=project.name, version=project.version, parsed=tuple(reqs),
                          requires_python=project.requires_python,
                          provides_extra=tuple(e for e, _ in project.optional), source="pyproject",
                          trusted=True)
        return FoundMetadata(md, "pyproject", None)

    def build_system(self, source: CandidateSource) -> BuildSystem | None:
        project = source.local[self.name]
        return (project.build_requires, None) if project.build_requires is not None else None
