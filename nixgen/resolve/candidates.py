"""Where candidates come from: the nixpkgs set (one version per attr) and the index's releases.

Both sources stand behind :class:`CandidateSource`, so the resolvelib provider never asks where a candidate
came from. Filtering follows PEP 440 (pre-releases), PEP 345/503 (``Requires-Python``), PEP 592 (yanked
files count only for an exact ``==`` pin) and PEP 425 (wheel tags of the target, never the host).
"""

from __future__ import annotations

import contextlib
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from nixgen.errors import MetadataError, ProjectNotFound, UsageError
from nixgen.inputs.model import LocalProject
from nixgen.overrides import Overrides
from nixgen.resolve.model import Artifact, Candidate, Provider, Req
from nixgen.resolve.target import Target

if TYPE_CHECKING:
    from nixgen.nixpkgs.snapshot import PythonSet
    from nixgen.pypi.model import CoreMetadata, DistFile, ProjectFiles


class IndexLike(Protocol):
    """What the resolver needs of a package index (``nixgen.pypi.Index`` is the real one)."""

    def project(self, name: str, *, undated: bool = False) -> ProjectFiles: ...
    def metadata(self, file: DistFile) -> CoreMetadata: ...
    def prefetch(self, names: Iterable[str]) -> None: ...
    def prefetch_metadata(self, files: Iterable[DistFile]) -> None: ...
    def sdist_build_system(self, file: DistFile) -> tuple[tuple[str, ...], str | None] | None: ...
    def direct(self, name: str, url: str) -> tuple[DistFile, CoreMetadata]: ...
    def metadata_by_build(self, file: DistFile, timeout: float = 300.0, *, python: str | None = None,
                          allow_unboxed: bool = False) -> CoreMetadata: ...


@lru_cache(maxsize=4096)
def _python_fits(requires_python: str, python_version: str) -> bool:
    """PEP 345 ``Requires-Python`` for one interpreter version (memoized: a few hundred distinct strings)."""
    try:
        return SpecifierSet(requires_python).contains(python_version, prereleases=True)
    except InvalidSpecifier:
        return True  # as pip does: an unparsable Requires-Python does not exclude the file


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


@dataclass
class Exclusion:
    """Why a release of a project was not offered as a candidate (for error messages)."""

    version: str
    reason: str


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
    notes: list[str] = field(default_factory=list)
    excluded: dict[str, list[Exclusion]] = field(default_factory=lambda: defaultdict(list))
    _pages: dict[str, ProjectFiles | None] = field(default_factory=dict)
    _direct: dict[str, tuple[DistFile, CoreMetadata]] = field(default_factory=dict)

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

    def direct(self, name: str, url: str) -> tuple[DistFile, CoreMetadata]:
        if url not in self._direct:
            self._direct[url] = self.index.direct(name, url)
        return self._direct[url]

    # -- candidates -----------------------------------------------------------------------------------
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
            yield Candidate(name=name, version=Version(project.version), provider="local", extras=extras,
                            source_path=project.directory)
            return
        urls = {r.url for r in reqs if r.url}
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
        if nix is not None and (self.prefer != "latest" or forced == "nixpkgs"):
            yield nix
        if forced == "nixpkgs":
            return
        page = self.page(name, required=nix is None)
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
        merged = [nix, *index_cands]
        merged.sort(key=lambda c: (c.version, c.from_nixpkgs), reverse=True)
        yield from merged

    def _wheels_first(self, name: str, extras: frozenset[str], reqs: Sequence[Req]) -> Iterator[Candidate]:
        """The index's wheels (nixpkgs' version first), then the nixpkgs candidate as the fallback."""
        nix = self._nix_candidate(name, extras)
        page = self.page(name, required=nix is None)
        if page is not None:
            wheels = list(self._index_candidates(name, extras, page, reqs, "wheel", set()))
            if nix is not None:
                wheels.sort(key=lambda c: c.version != nix.version)
            yield from wheels
        if nix is not None:
            yield nix

    def _nix_candidate(self, name: str, extras: frozenset[str]) -> Candidate | None:
        if self.pyset is None:
            return None
        pkg = self.pyset.by_pypi_name(name)
        if pkg is None:
            if name in self.native_versions:  # e.g. gdal: the Python module is the native package's build
                return Candidate(name=name, version=Version(self.native_versions[name]), provider="nixpkgs",
                                 extras=extras, attr=name)
            return None
        try:
            version = Version(pkg.version)
        except InvalidVersion:
            self.notes.append(f"nixpkgs' {pkg.attr} has version {pkg.version!r}, which is not a PEP 440 "
                              "version; it is not offered as a candidate")
            return None
        return Candidate(name=name, version=version, provider="nixpkgs", extras=extras, attr=pkg.attr)

    def nix_metadata_files(self, cand: Candidate, target: Target | None = None) -> list[DistFile]:
        """Index files of a nixpkgs candidate's version, best first for ``target``.

        Without a target (reading metadata), the order is the same for every system of a run, so the
        systems share one metadata read: Requires-Dist is the same in every wheel of a release, and its
        markers are evaluated per system anyway.
        """
        page = self.page(cand.name, required=False)
        if page is None:
            return []
        same = [f for f in page.files if f.version == cand.version]
        if not same:
            # nixpkgs' version is kept whatever --exclude-newer says (the binary cache does not move), so its
            # metadata comes from the files of that version uploaded after the date too.
            same = [f for f in self.index.project(cand.name, undated=True).files if f.version == cand.version]
        ranks = (target or self.metadata_target or self.target).tag_priority
        far = len(ranks) + 1

        def order(f: DistFile) -> tuple[int, int, str]:
            if f.kind == "wheel":
                rank = min((ranks.get(t, far) for t in f.tags), default=far)
                return (0 if rank < far else 1, rank, f.filename)
            return (2, 0, f.filename)

        return sorted(same, key=order)

    def _requires_python_ok(self, f: DistFile) -> bool:
        if not f.requires_python:
            return True
        return _python_fits(f.requires_python, self.target.python_version)

    def _index_candidates(self, name: str, extras: frozenset[str], page: ProjectFiles, reqs: Sequence[Req],
                          forced: Provider | None, hashes: set[str]) -> Iterator[Candidate]:
        allow_pre = self.allow_pre or any(r.specifier.prereleases for r in reqs)
        exact: set[Version] = set()
        for r in reqs:
            for spec in r.specifier:
                if spec.operator in ("==", "===") and "*" not in spec.version:
                    with contextlib.suppress(InvalidVersion):
                        exact.add(Version(spec.version))
        by_version: dict[Version, list[DistFile]] = defaultdict(list)
        for f in page.files:
            by_version[f.version].append(f)
        ranks = self.target.tag_priority
        excluded = self.excluded[name]
        excluded.clear()
        for version in sorted(by_version, reverse=True):
            files = by_version[version]
            if version.is_prerelease and not allow_pre:
                continue
            usable = [f for f in files if not f.yanked or version in exact]
            if not usable:
                excluded.append(Exclusion(str(version), "yanked"))
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
            wheels = sorted(
                ((min((ranks[t] for t in f.tags if t in ranks), default=-1), f) for f in fitting
                 if f.kind == "wheel"),
                key=lambda rf: (rf[0], rf[1].filename))
            wheels = [(r, f) for r, f in wheels if r >= 0]
            sdists = sorted((f for f in fitting if f.kind == "sdist"),
                            key=lambda f: (not f.filename.endswith(".tar.gz"), f.filename))
            chosen: DistFile | None = None
            provider: Provider
            if forced != "sdist" and wheels:
                chosen, provider = wheels[0][1], "wheel"
            elif forced != "wheel" and sdists:
                chosen, provider = sdists[0], "sdist"
            else:
                want = {"wheel": "a wheel", "sdist": "an sdist"}.get(forced or "", "a wheel or an sdist")
                excluded.append(Exclusion(str(version), f"has no {want} for {self.target.describe()}"))
                continue
            if not chosen.sha256:
                excluded.append(Exclusion(str(version), f"{chosen.filename} has no sha256 on the index"))
                continue
            yield Candidate(
                name=name, version=version, provider=provider, extras=extras,
                artifact=Artifact(chosen.filename, chosen.url, chosen.sha256, chosen.size),
                metadata_files=(chosen,),
            )

    def _direct_candidate(self, name: str, extras: frozenset[str], url: str) -> Candidate:
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
        return Candidate(name=name, version=Version(meta.version), provider=provider, extras=extras,
                         artifact=Artifact(dist.filename, dist.url, dist.sha256, dist.size),
                         metadata_files=(dist,), direct_url=url)

    # -- metadata -------------------------------------------------------------------------------------
    def metadata(self, cand: Candidate) -> tuple[CoreMetadata | None, str]:
        """The candidate's core metadata and where it came from; None (with a note) if it cannot be had."""
        if cand.direct_url:
            return self.direct(cand.name, cand.direct_url)[1], "direct"
        if cand.provider == "local":
            from nixgen.pypi.model import CoreMetadata

            project = self.local[cand.name]
            reqs = [Requirement(t) for t in (project.requires_dist if project.requires_dist is not None
                                            else project.dependencies)]
            for extra, texts in project.optional if project.requires_dist is None else ():
                reqs += [Requirement(f"{t} ; extra == '{extra}'") if ";" not in t
                         else Requirement(f"{t.split(';', 1)[0]} ; ({t.split(';', 1)[1]}) and extra == '{extra}'")
                         for t in texts]
            return CoreMetadata(name=project.name, version=project.version, requires_dist=tuple(reqs),
                                requires_python=project.requires_python,
                                provides_extra=tuple(e for e, _ in project.optional), source="pyproject",
                                trusted=True), "pyproject"
        files: Sequence[object] = cand.metadata_files
        if cand.from_nixpkgs:
            files = self.nix_metadata_files(cand)
            if not files:
                self.notes.append(f"{cand.name} {cand.version} (nixpkgs) is not on the index; its "
                                  "dependencies are taken as nixpkgs declares them")
                return None, "none"
        last: MetadataError | None = None
        for f in files:
            try:
                md = self.index.metadata(f)  # type: ignore[arg-type]
            except MetadataError as err:
                last = err
                continue
            if not md.trusted:
                self.notes.append(f"{cand.name} {cand.version}: dependencies read from {md.source}, which "
                                  "is a best guess for old sdists")
            return md, md.source
        if cand.from_nixpkgs:
            self.notes.append(f"{cand.name} {cand.version} (nixpkgs): no usable metadata on the index "
                              f"({last.message if last else 'no files'}); dependencies taken as nixpkgs has them")
            return None, "none"
        assert last is not None
        if cand.provider == "sdist" and files:
            if not self.build_metadata:
                raise MetadataError(f"{cand.name} {cand.version}: {last.message}; --no-build-metadata forbids "
                                    "running its build backend to find out",
                                    hint=f"add its dependencies with --overrides ([{cand.name}] dependencies = "
                                         "[…]), or allow the build")
            python = "{}.{}".format(*self.target.python_tuple)
            md = self.index.metadata_by_build(files[0], python=python,  # type: ignore[arg-type]
                                              allow_unboxed=self.allow_unboxed_builds)
            self.notes.append(f"{cand.name} {cand.version}: dependencies from its PEP 517 metadata hook")
            return md, "build"
        raise last

    def build_requires(self, cand: Candidate) -> tuple[str, ...]:
        """The PEP 518 build requirements of an sdist candidate (PEP 517's setuptools default if none)."""
        system: tuple[tuple[str, ...], str | None] | None
        if cand.provider == "local":
            project = self.local[cand.name]
            system = (project.build_requires, None) if project.build_requires is not None else None
        else:
            assert cand.metadata_files
            system = self.index.sdist_build_system(cand.metadata_files[0])  # type: ignore[arg-type]
        # PEP 518: no [build-system] table means setuptools; an explicit empty `requires` means nothing.
        declared = system[0] if system is not None else ("setuptools>=40.8.0",)
        extra = self.overrides.applied(cand.name, cand.version).build_system
        return tuple(dict.fromkeys(_same_set(r) for r in (*declared, *extra)))
