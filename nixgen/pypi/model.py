"""What the index says about a project's files (PEP 503/691/592/658/700) and a distribution's core metadata.

These are the values the resolver sees. ``DistFile`` objects are built by the thousand on every run (numpy
alone has over a thousand usable files), so :func:`make_distfile` builds them without the dataclass
``__init__`` and shares ``Version`` and tag sets between files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from packaging.requirements import Requirement
from packaging.tags import Tag
from packaging.version import Version

Kind = Literal["wheel", "sdist"]


@dataclass(frozen=True)
class DistFile:
    """One file of a project on the index: a wheel (PEP 427) or an sdist (PEP 625 and older spellings)."""

    project: str  # PEP 503-normalized
    filename: str
    url: str  # absolute, without a fragment
    version: Version  # from the filename
    kind: Kind
    sha256: str | None
    requires_python: str | None  # PEP 503 data-requires-python / PEP 691 requires-python
    yanked: bool  # PEP 592
    upload_time: datetime | None  # PEP 700, timezone-aware (UTC)
    size: int | None  # PEP 700
    has_metadata: bool  # PEP 658/714: the index advertises ``<url>.metadata``
    tags: frozenset[Tag]  # PEP 425 tags of a wheel; empty for an sdist
    metadata_sha256: str | None = field(default=None, compare=False, repr=False)  # PEP 658 hash, if given


class ProjectFiles:
    """A project's files on the index (all indexes merged, ``exclude_newer`` applied), by release.

    A big project's page lists tens of thousands of files and a resolution looks at a few of its releases,
    so each release's ``DistFile`` objects are made when first asked for, by ``make`` from the page's rows.
    Releases keep the page's order (of each one's first file), and files within a release theirs."""

    __slots__ = ("_groups", "_made", "_make", "_newest", "name")

    def __init__(self, name: str, groups: Mapping[Version, Sequence[Any]],
                 make: Callable[[Sequence[Any]], Sequence[DistFile]]) -> None:
        self.name = name
        self._groups = groups
        self._make = make
        self._made: dict[Version, tuple[DistFile, ...]] = {}
        self._newest: tuple[Version, ...] | None = None

    @classmethod
    def of(cls, name: str, files: Iterable[DistFile]) -> ProjectFiles:
        """A project made of ready ``DistFile`` objects."""
        groups: dict[Version, list[DistFile]] = {}
        for f in files:
            groups.setdefault(f.version, []).append(f)
        return cls(name, groups, tuple)

    @property
    def versions(self) -> tuple[Version, ...]:
        """Every release with at least one file, in page order."""
        return tuple(self._groups)

    def newest_first(self) -> tuple[Version, ...]:
        """The releases, newest first (PEP 440 order; sorted once, for every target that asks)."""
        if self._newest is None:
            self._newest = tuple(sorted(self._groups, reverse=True))
        return self._newest

    def files_of(self, version: Version) -> tuple[DistFile, ...]:
        """The files of one release (none for a version the page does not have)."""
        made = self._made.get(version)
        if made is None:
            rows = self._groups.get(version)
            made = self._made[version] = tuple(self._make(rows)) if rows else ()
        return made

    @property
    def files(self) -> tuple[DistFile, ...]:
        """Every file, release by release."""
        return tuple(f for v in self._groups for f in self.files_of(v))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProjectFiles):
            return NotImplemented
        return self.name == other.name and self.files == other.files

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ProjectFiles({self.name!r}, {len(self._groups)} releases)"


@dataclass(frozen=True)
class CoreMetadata:
    """The part of a distribution's core metadata (PEP 566/643) that resolution needs."""

    name: str
    version: str
    requires_dist: tuple[Requirement, ...]
    requires_python: str | None
    provides_extra: tuple[str, ...]
    source: str  # "pep658" | "range" | "download" | "pkg-info" | "pyproject" | "egg-info"
    trusted: bool  # False only for best-effort guesses from old sdists

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version,
                "requires_dist": [str(r) for r in self.requires_dist],
                "requires_python": self.requires_python, "provides_extra": list(self.provides_extra),
                "source": self.source, "trusted": self.trusted}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CoreMetadata:
        return cls(name=data["name"], version=data["version"],
                   requires_dist=tuple(Requirement(r) for r in data["requires_dist"]),
                   requires_python=data["requires_python"], provides_extra=tuple(data["provides_extra"]),
                   source=data["source"], trusted=data["trusted"])


_new = object.__new__


def make_distfile(project: str, filename: str, url: str, version: Version, kind: Kind, sha256: str | None,
                  requires_python: str | None, yanked: bool, upload_time: datetime | None, size: int | None,
                  has_metadata: bool, tags: frozenset[Tag], metadata_sha256: str | None) -> DistFile:
    """A ``DistFile``, built at a third of the cost of the frozen dataclass' ``__init__`` (hot path)."""
    obj: DistFile = _new(DistFile)
    obj.__dict__.update(project=project, filename=filename, url=url, version=version, kind=kind,
                        sha256=sha256, requires_python=requires_python, yanked=yanked,
                        upload_time=upload_time, size=size, has_metadata=has_metadata, tags=tags,
                        metadata_sha256=metadata_sha256)
    return obj
