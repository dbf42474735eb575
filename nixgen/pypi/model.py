"""What the index says about a project's files (PEP 503/691/592/658/700) and a distribution's core metadata.

These are the values the resolver sees. ``DistFile`` objects are built by the thousand on every run (numpy
alone has over a thousand usable files), so :func:`make_distfile` builds them without the dataclass
``__init__`` and shares ``Version`` and tag sets between files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import Tag
from packaging.utils import canonicalize_name, canonicalize_version
from packaging.version import InvalidVersion, Version

from nixgen.errors import MetadataError

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


@lru_cache(maxsize=65536)
def parse_version(text: str) -> Version | None:
    """``text`` as a PEP 440 version, or None (memoized: one object per spelling, shared by every file)."""
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _parsed(text: object) -> Version | None:
    """A spelling from the cache as a version (None for anything else)."""
    return parse_version(text) if isinstance(text, str) else None


@lru_cache(maxsize=65536)
def release_key(text: str) -> str:
    """The spelling all equal PEP 440 versions share (``1.0`` and ``1.0.0`` → ``1``)."""
    return canonicalize_version(text, strip_trailing_zero=True)


class ProjectFiles:
    """A project's files on the index (all indexes merged, ``exclude_newer`` applied), by release.

    A big project's page lists tens of thousands of files and a resolution looks at a few of its releases,
    so each release's ``DistFile`` objects are made when first asked for, by ``make`` from what ``releases``
    holds for it: by :func:`release_key`, its spellings, each a sequence whose first item is the version as
    written (the page's rows of that spelling follow).
    Releases keep the page's order (of each one's first file), and files within a release theirs; versions
    are parsed only when someone asks for all of them."""

    __slots__ = ("_made", "_make", "_newest", "_releases", "_versions", "name")

    def __init__(self, name: str, releases: Mapping[str, Sequence[Sequence[Any]]],
                 make: Callable[[Sequence[Any]], Sequence[DistFile]]) -> None:
        self.name = name
        self._releases = releases
        self._make = make
        self._made: dict[Version, tuple[DistFile, ...]] = {}
        self._versions: tuple[Version, ...] | None = None
        self._newest: tuple[Version, ...] | None = None

    @classmethod
    def of(cls, name: str, files: Iterable[DistFile]) -> ProjectFiles:
        """A project made of ready ``DistFile`` objects."""
        releases: dict[str, list[tuple[str, DistFile]]] = {}
        for f in files:
            releases.setdefault(release_key(str(f.version)), []).append((str(f.version), f))
        return cls(name, releases, lambda spellings: [f for _, f in spellings])

    @property
    def versions(self) -> tuple[Version, ...]:
        """Every release with at least one file, in page order."""
        if self._versions is None:
            found = (_parsed(spellings[0][0]) for spellings in self._releases.values() if spellings)
            self._versions = tuple(v for v in found if v is not None)
        return self._versions

    def newest_first(self) -> tuple[Version, ...]:
        """The releases, newest first (PEP 440 order; sorted once, for every target that asks)."""
        if self._newest is None:
            self._newest = tuple(sorted(self.versions, reverse=True))
        return self._newest

    def files_of(self, version: Version) -> tuple[DistFile, ...]:
        """The files of one release (none for a version the page does not have)."""
        made = self._made.get(version)
        if made is None:
            spellings = self._releases.get(release_key(str(version)), ())
            payloads = [sp for sp in spellings if _parsed(sp[0]) == version]
            made = self._made[version] = tuple(self._make(payloads)) if payloads else ()
        return made

    @property
    def files(self) -> tuple[DistFile, ...]:
        """Every file, release by release."""
        return tuple(f for v in self.versions for f in self.files_of(v))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProjectFiles):
            return NotImplemented
        return self.name == other.name and self.files == other.files

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ProjectFiles({self.name!r}, {len(self._releases)} releases)"


@dataclass(frozen=True)
class CoreMetadata:
    """The part of a distribution's core metadata (PEP 566/643) that resolution needs."""

    name: str
    version: str
    parsed: tuple[Requirement, ...]  # the Requires-Dist entries, less those ``deferred``
    requires_python: str | None
    provides_extra: tuple[str, ...]
    source: str  # "pep658" | "range" | "download" | "pkg-info" | "pyproject" | "egg-info"
    trusted: bool  # False only for best-effort guesses from old sdists
    # Requires-Dist entries for one extra only, read from the cache and left as text (position, PEP 685 extra
    # name, text) until that extra is asked for (:meth:`requirements`). Most entries of big projects are of
    # this kind (transformers: hundreds), and a resolution asks for few extras.
    deferred: tuple[tuple[int, str, str], ...] = field(default=(), repr=False)

    @property
    def requires_dist(self) -> tuple[Requirement, ...]:
        """Every Requires-Dist entry, in order (the deferred ones parsed now)."""
        return tuple(self.all_requirements()) if self.deferred else self.parsed

    def requirements(self, extras: AbstractSet[str] = frozenset()) -> list[Requirement]:
        """The Requires-Dist entries that may apply with ``extras`` requested (all the others, and the
        deferred ones of these extras), in their order; a deferred entry that does not parse is a
        MetadataError."""
        wanted = [(pos, text) for pos, extra, text in self.deferred if extra in extras]
        if not wanted:
            return list(self.parsed)
        taken = {pos for pos, _, _ in self.deferred}
        positions = (i for i in range(len(self.parsed) + len(self.deferred)) if i not in taken)
        merged: list[tuple[int, Requirement]] = list(zip(positions, self.parsed, strict=False))
        for pos, text in wanted:
            try:
                merged.append((pos, Requirement(text)))
            except InvalidRequirement as err:
                raise MetadataError(f"{self.name} {self.version}: Requires-Dist {text!r} is not PEP 508: {err}",
                                    hint="delete nixgen's cache and run again") from None
        merged.sort(key=lambda pr: pr[0])
        return [r for _, r in merged]

    def all_requirements(self) -> list[Requirement]:
        """Every Requires-Dist entry, in order."""
        return self.requirements({extra for _, extra, _ in self.deferred})

    def to_json(self) -> dict[str, Any]:
        texts = [str(r) for r in self.parsed]
        for pos, _, text in self.deferred:
            texts.insert(pos, text)
        return {"name": self.name, "version": self.version, "requires_dist": texts,
                "requires_python": self.requires_python, "provides_extra": list(self.provides_extra),
                "source": self.source, "trusted": self.trusted}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CoreMetadata:
        """The metadata ``to_json`` wrote; entries for one extra only are kept as text (``deferred``)."""
        parsed: list[Requirement] = []
        deferred: list[tuple[int, str, str]] = []
        for pos, text in enumerate(data["requires_dist"]):
            if not isinstance(text, str):
                raise TypeError("a Requires-Dist entry that is not text")
            extra = only_extra(text)
            if extra is not None:
                deferred.append((pos, extra, text))
            else:
                parsed.append(Requirement(text))
        return cls(name=data["name"], version=data["version"], parsed=tuple(parsed),
                   requires_python=data["requires_python"], provides_extra=tuple(data["provides_extra"]),
                   source=data["source"], trusted=data["trusted"], deferred=tuple(deferred))


_ONLY_EXTRA = re.compile(r'^(?P<rest>.*?)\bextra == "(?P<extra>[A-Za-z0-9._-]+)"$')


def only_extra(text: str) -> str | None:
    """The extra (PEP 685 name) a Requires-Dist entry written by ``str(Requirement)`` is for, when its marker
    can hold only with that extra requested: ``extra == "x"`` alone, or as the last term of a chain of
    ``and`` with no top-level ``or``; else None (parse it now)."""
    head, sep, marker = text.partition("; ")
    if not sep or " @ " in head:
        return None
    found = _ONLY_EXTRA.match(marker)
    if found is None:
        return None
    rest = found.group("rest")
    if rest and not rest.endswith(" and "):
        return None
    depth, quoted = 0, ""
    for i, ch in enumerate(rest):
        if quoted:
            quoted = "" if ch == quoted else quoted
        elif ch in "\"'":
            quoted = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and rest.startswith(" or ", i):
            return None
    return canonicalize_name(found.group("extra"))


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
