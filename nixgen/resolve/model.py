"""The values the resolver hands on: requirements, candidates and the finished ``Resolution``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from nixgen.core.kinds import FORCED_PROVIDERS, DepKind, FoundBy, MetadataSource
from nixgen.core.kinds import Provider as Provider  # re-exported: candidates and pins name it here

PROVIDERS = FORCED_PROVIDERS  # what --provider may force; "local" is the project itself

if TYPE_CHECKING:
    from nixgen.pypi.model import CoreMetadata
    from nixgen.resolve.candidates import CandidateSource


@dataclass(frozen=True)
class Artifact:
    """One file from the index that a package is built or installed from, pinned by hash."""

    filename: str
    url: str
    sha256: str
    size: int | None = None


@dataclass(frozen=True)
class VcsSource:
    """A git source pinned to a commit (PEP 751 ``[packages.vcs]``, PEP 610 ``vcs_info``): the URL as written
    to locks and flakes (no credentials), the ref the user asked for, the commit, the project's directory in
    the repository, and the checkout's NAR hash (what ``fetchgit``'s ``hash`` checks)."""

    url: str
    commit_id: str
    nar_hash: str
    requested_revision: str | None = None
    subdirectory: str | None = None

    @property
    def short(self) -> str:
        return self.commit_id[:9]


BuildSystem = tuple[tuple[str, ...], str | None]  # PEP 518 [build-system]: requires, build-backend


@dataclass(frozen=True)
class FoundMetadata:
    """A candidate's core metadata (None: none to be had), how it was read (``pep658``, ``range``,
    ``pkg-info``, ``build``, …) and the file it was read from (None for the local project or nothing)."""

    metadata: CoreMetadata | None
    source: str
    filename: str | None
@dataclass(frozen=True)
class ReleaseFacts:
    """What an index release's files say about building it for a target (feasibility's evidence): when the
    chosen file was uploaded (PEP 700), which interpreters its wheels are for (PEP 425 interpreter tags:
    ``cp312``, ``py3``), the oldest release of the project with a wheel for the target's interpreter, and the
    newest CPython any later final release has wheels for (the project went on past this release)."""

    uploaded: datetime | None = None
    wheel_pythons: tuple[str, ...] = ()
    wheels_from: str | None = None
    later_wheels: str | None = None  # e.g. "cp313"


@dataclass(frozen=True, eq=False)
class Candidate:
    """One way to satisfy a project: the nixpkgs attribute at its one version, or an index release.

    ``provider`` is decided with the candidate: a nixpkgs attr is ``nixpkgs``; an index release is ``wheel``
    when a wheel for the target exists (and the user did not ask for ``sdist``), ``sdist`` otherwise.
    Candidates with extras stand for the base candidate plus the extras' dependencies (PEP 508 extras).
    The kinds (``nixgen.resolve.candidates``: nixpkgs, index, direct, local) are subclasses that answer
    :meth:`metadata` and :meth:`build_system` themselves; equality is by :attr:`key` whatever the kind.
    """

    name: str
    version: Version
    provider: Provider
    extras: frozenset[str] = frozenset()
    attr: str | None = None
    artifact: Artifact | None = None
    metadata_files: tuple[object, ...] = field(default=(), repr=False)
    direct_url: str | None = None
    source_path: str | None = None
    release: ReleaseFacts | None = field(default=None, repr=False)  # an index release: what its files say
    vcs: VcsSource | None = None  # a git source at a commit

    @property
    def key(self) -> tuple[str, str, str, frozenset[str]]:
        return (self.name, str(self.version), self.provider, self.extras)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Candidate) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    @property
    def from_nixpkgs(self) -> bool:
        return self.provider == "nixpkgs"

    def describe(self) -> str:
        extras = f"[{','.join(sorted(self.extras))}]" if self.extras else ""
        return f"{self.name}{extras} {self.version}"

    def built_here(self) -> bool:
        """Built from source by the flake (so its PEP 518 build requirements are resolved too)."""
        return False

    def metadata(self, source: CandidateSource) -> FoundMetadata:
        """Core metadata for the resolver (each kind reads its own)."""
        raise NotImplementedError

    def build_system(self, source: CandidateSource) -> BuildSystem | None:
        """PEP 518 ``[build-system]`` of a candidate built here; None when it declares none."""
        return None


@dataclass(frozen=True)
class Req:
    """A requirement on one project, with who asked for it.

    ``parent`` is None for the user's own requirements. ``relaxable`` marks edges between two nixpkgs
    packages: nixpkgs builds its set together and relaxes upstream pins, so such an edge never rules out
    a nixpkgs candidate. ``kind`` is ``run`` for runtime dependencies, ``build`` for an sdist's build system.
    """

    name: str
    specifier: SpecifierSet
    extras: frozenset[str] = frozenset()
    parent: Candidate | None = None
    origin: str = ""
    text: str = ""
    url: str | None = None
    hashes: frozenset[str] = frozenset()
    kind: DepKind = "run"
    same_provider: Provider | None = None
    constraint: bool = False

    @cached_property
    def identifier(self) -> str:
        return identifier_for(self.name, self.extras)

    @cached_property
    def exact(self) -> bool:
        """Does the specifier pin one version (``==`` or ``===``)? (Asked every resolution round.)"""
        return any(s.operator in ("==", "===") for s in self.specifier)

    @property
    def relaxable(self) -> bool:
        return self.parent is not None and self.parent.from_nixpkgs and self.kind == "run"

    def who(self) -> str:
        """Who asked, in words: ``requirements.txt:3`` or ``distributed 2022.5.1``."""
        if self.parent is None:
            return self.origin or "the requirements"
        return self.parent.describe()


def identifier_for(name: str, extras: frozenset[str]) -> str:
    return f"{name}[{','.join(sorted(extras))}]" if extras else name


@dataclass(frozen=True)
class Pin:
    """One resolved project: version, provider and the edges the resolver followed."""

    name: str
    version: str
    provider: Provider
    attr: str
    artifact: Artifact | None
    dependencies: tuple[str, ...]
    build_requires: tuple[str, ...]
    extras: tuple[str, ...]
    requested: bool
    runtime: bool
    metadata_source: MetadataSource
    native_code: bool = False
    nixpkgs_version: str | None = None  # the version nixpkgs has, when it has the project at all
    replaces: bool = False  # built here in place of the attribute nixpkgs has (so its dependents change)
    source_path: str | None = None  # the project's directory, for the local project
    metadata_file: str | None = None  # the file metadata_source read (a wheel of the version for an sdist)
    release: ReleaseFacts | None = None  # an index release's upload date and wheels (feasibility's evidence)
    added: tuple[str, ...] = ()  # requirements nixgen added to its metadata's (numpy<2 for a numpy-1.x wheel)
    version_from_vcs: bool = False  # the version comes from git (setuptools-scm, hatch-vcs): given to the build
    vcs: VcsSource | None = None  # a git source: fetched at build time with fetchgit
    hashed: bool = False  # the user pinned it with --hash (so nixpkgs' build, from its own source, is not used)
    # nixpkgs' versioned attribute (pydantic_1) a nixpkgs pin is taken from, standing in for ``attr`` (pydantic)
    versioned_attr: str | None = None


@dataclass(frozen=True)
class Relaxation:
    """An upstream pin between two nixpkgs packages that nixpkgs does not honour, accepted as nixpkgs has it."""

    parent: str
    parent_version: str
    requirement: str
    child: str
    child_version: str


@dataclass(frozen=True)
class Resolution:
    """Pins and graph for one target, plus what was relaxed and any notes for the user."""

    interpreter: str
    python_version: str
    system: str
    roots: tuple[str, ...]
    pins: tuple[Pin, ...]
    relaxations: tuple[Relaxation, ...] = ()
    notes: tuple[str, ...] = ()
    # How the resolution was found (nixgen.core.kinds.FoundBy), and whose resolution it re-used: the same
    # resolution found another way is equal.
    found_by: FoundBy = field(default="search", compare=False)
    found_from: str | None = field(default=None, compare=False)

    def pin(self, name: str) -> Pin | None:
        for p in self.pins:
            if p.name == name:
                return p
        return None
