"""The lock: everything a flake depends on, as values.

``nixgen lock`` + ``nixgen pylock.toml`` is the same pipeline as ``nixgen FILE`` in two halves: rendering a
:class:`Lock` needs no network, no snapshot and no override file. Paths are absolute in memory; the pylock
writer stores them relative to the lock's directory (:mod:`nixgen.lock.pylock`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from nixgen.core.kinds import Prefer, Strategy
from nixgen.plan.model import DERIVED, Plan


@dataclass(frozen=True)
class NixpkgsPin:
    """The nixpkgs revision the flake pins (the snapshot's), or a flake reference when no revision is known."""

    rev: str
    nar_hash: str = ""
    note: str = ""
    url: str | None = None  # a flake reference, for a snapshot evaluated from one without a known revision


@dataclass(frozen=True)
class SnapshotRef:
    """Which nixpkgs snapshot the lock was made with: its digest (sha256 over its files) and provenance."""

    digest: str
    generated_from: str = ""
    source: str = ""
    source_sha256: str = ""
    location: str | None = None  # the snapshot directory given with --snapshot; None: the embedded one


@dataclass(frozen=True)
class OverrideFile:
    """A user's override file (``--overrides``) as it was when locked."""

    path: str
    sha256: str


@dataclass(frozen=True)
class OverridesRef:
    """The override data a lock was made with: the user's files and the curated data's digest."""

    files: tuple[OverrideFile, ...] = ()
    curated: str = ""


@dataclass(frozen=True)
class LockOptions:
    """The sources and resolution options a lock was made with: what ``nixgen lock`` needs to make it again
    (the canonical command in headers is derived from these, never from argv)."""

    sources: tuple[str, ...] = ()
    index_urls: tuple[str, ...] = ()  # as given (credentials never recorded); empty: pip's configuration
    prefer: Prefer = "nixpkgs"
    strategy: Strategy = "min-build"
    providers: tuple[tuple[str, str], ...] = ()
    python: str | None = None
    systems: tuple[str, ...] = ()
    tests: bool = False
    build_metadata: bool = True
    exclude_newer: datetime | None = None
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    all_extras: bool = False  # --all-extras (uv.lock)
    all_groups: bool = False  # --all-groups (uv.lock)
    no_dev: bool = False  # --no-dev (uv.lock)
    with_groups: tuple[str, ...] = ()  # Poetry's --with, --without, --only
    without_groups: tuple[str, ...] = ()
    only_groups: tuple[str, ...] = ()
    snapshot: str | None = None  # --snapshot DIR
    no_relax: bool = False  # --no-relax
    full_search: bool = False  # --full-search
    image_cmd: tuple[str, ...] = ()  # the container image's command (--image-cmd); empty: python3


@dataclass(frozen=True)
class Trade:
    """min-build took ``name`` as a wheel instead of rebuilding nixpkgs' build of it."""

    name: str
    version: str
    minutes_saved: float
    system: str


@dataclass(frozen=True)
class Alternative:
    """Allowing ``name`` at nixpkgs' version would save ``minutes`` of rebuilds on ``system``."""

    name: str
    nixpkgs_version: str
    minutes: float
    system: str


@dataclass(frozen=True)
class SystemFailure:
    """A system that could not be resolved, and why."""

    system: str
    why: str


@dataclass(frozen=True)
class Lock:
    """Per-system plans with the nixpkgs pin, the snapshot and override data they were made with, the options
    to make them again, and what the optimiser traded."""

    plans: tuple[Plan, ...]
    nixpkgs: NixpkgsPin
    snapshot: SnapshotRef
    overrides: OverridesRef = OverridesRef()
    options: LockOptions = LockOptions()
    trades: tuple[Trade, ...] = ()
    alternatives: tuple[Alternative, ...] = ()
    failures: tuple[SystemFailure, ...] = ()
    resolutions: int = field(default=0, metadata=DERIVED, compare=False)  # systems resolved on their own (not recorded)

    @property
    def plan(self) -> Plan:
        """The first system's plan."""
        return self.plans[0]

    @property
    def systems(self) -> tuple[str, ...]:
        return tuple(p.system for p in self.plans)

    @property
    def traded(self) -> frozenset[str]:
        return frozenset(t.name for t in self.trades)
