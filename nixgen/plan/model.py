"""The plan: what the emitter turns into Nix, one :class:`PlannedPackage` per pin.

A planned package is its :class:`~nixgen.resolve.model.Pin` (what was resolved), its :class:`BuildRecipe`
(what the overrides layer and nixpkgs add to build it) and the kind of reason its provider was chosen; the
edges as package-set attributes are derived from the pins of the plan. Everything here is recorded in the
lock, so a flake is rendered from a lock alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from nixgen.core.kinds import CacheFact, EvidenceKind, FoundBy, Provider, ReasonKind, Verdict
from nixgen.resolve.model import Artifact, Pin, Relaxation


def is_linux_wheel(filename: str) -> bool:
    """Does the wheel ``filename`` (PEP 427) have a Linux platform tag (``manylinux_*``, ``musllinux_*``,
    ``linux_*``)?"""
    try:
        tags = parse_wheel_filename(filename)[3]
    except InvalidWheelFilename:
        return False
    return any(t.platform.startswith(("manylinux", "musllinux", "linux")) for t in tags)

DERIVED = {"derived": True}
"""Field metadata: computed from other fields when a lock is read, so not written to it."""


@dataclass(frozen=True)
class Evidence:
    """One fact a build-feasibility verdict rests on, with the values its sentence needs (made in
    ``emit/words.py``): the target's Python, the release's wheel interpreters and upload date, the
    interpreter's release date, the first release with wheels for the target, the plan's numpy."""

    kind: EvidenceKind
    verdict: Verdict
    python: str
    wheel_pythons: tuple[str, ...] = ()
    uploaded: datetime | None = None
    python_released: str | None = None
    wheels_from: str | None = None
    numpy: str | None = None


@dataclass(frozen=True)
class BuildRecipe:
    """How a package is built beyond its metadata: native inputs, environment, checks (the overrides layer's
    rules that applied, and nixpkgs' own inputs that the cache prediction follows)."""

    native_build_inputs: tuple[str, ...] = ()
    build_inputs: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    imports: tuple[str, ...] = ()
    do_check: bool = False
    nixpkgs_inputs: tuple[str, ...] = ()  # attrs nixpkgs builds this with beyond its metadata's edges
    applied: tuple[str, ...] = ()  # which override rules applied (file and rule)
    # A Linux wheel with native code: the nixpkgs attrs its binaries link (None: not read, then the C++
    # runtime alone is assumed), the sonames nothing maps, and those left to the host or other wheels.
    linked: tuple[str, ...] | None = None
    unmapped: tuple[str, ...] = ()
    link_ignored: tuple[str, ...] = ()
    # An sdist of a project nixpkgs has: built from nixpkgs' own expression for it (this attr) with the
    # version and source swapped, keeping its native inputs, env and flags.
    inherits: str | None = None
    inherits_version: str | None = None  # the version that expression is made for
    # A build from source (sdist or local): can it build for the target, and why (plan/feasibility.py).
    verdict: Verdict | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class PlannedPackage:
    """How one pinned project gets into the environment.

    ``pin.attr`` is its attribute in the interpreter's package set: the nixpkgs attribute it replaces or
    keeps, or a new one named after the project. ``dependencies`` and ``build_system`` are attributes too.
    """

    pin: Pin
    recipe: BuildRecipe
    reason: ReasonKind
    cache: CacheFact = "listed"  # what the plan's system's binary-cache data says of a nixpkgs attr
    dependencies: tuple[str, ...] = field(default=(), metadata=DERIVED)
    build_system: tuple[str, ...] = field(default=(), metadata=DERIVED)

    @property
    def name(self) -> str:
        return self.pin.name

    @property
    def version(self) -> str:
        return self.pin.version

    @property
    def provider(self) -> Provider:
        return self.pin.provider

    @property
    def attr(self) -> str:
        return self.pin.attr

    @property
    def artifact(self) -> Artifact | None:
        return self.pin.artifact

    @property
    def runtime(self) -> bool:
        return self.pin.runtime

    @property
    def requested(self) -> bool:
        return self.pin.requested

    @property
    def native_code(self) -> bool:
        return self.pin.native_code

    @property
    def nixpkgs_version(self) -> str | None:
        return self.pin.nixpkgs_version

    @property
    def replaces(self) -> bool:
        return self.pin.replaces

    @property
    def source_path(self) -> str | None:
        return self.pin.source_path

    @property
    def versioned_attr(self) -> str | None:
        """nixpkgs' versioned attribute (``pydantic_1``) this package is, in place of its canonical ``attr``."""
        return self.pin.versioned_attr

    @property
    def patch_elf(self) -> bool:
        """A wheel with native code for Linux (PEP 600/656 platform tags), whose ELF files autoPatchelfHook
        points at nixpkgs' libraries; a macOS wheel's Mach-O files load their bundled libraries as they are."""
        return (self.provider == "wheel" and self.native_code and self.artifact is not None
                and is_linux_wheel(self.artifact.filename))


@dataclass(frozen=True)
class Plan:
    """Everything the flake needs for one target, in a stable order (packages by attribute)."""

    interpreter: str
    python_version: str
    system: str
    roots: tuple[str, ...]
    packages: tuple[PlannedPackage, ...]
    relaxations: tuple[Relaxation, ...] = ()
    notes: tuple[str, ...] = ()
    # How the resolution was found (nixgen.core.kinds.FoundBy; None: not recorded, a lock older than the
    # field), and whose resolution it re-used: the same resolution found another way is equal.
    found_by: FoundBy | None = field(default=None, compare=False)
    found_from: str | None = field(default=None, compare=False)

    @property
    def overrides(self) -> tuple[PlannedPackage, ...]:
        """Packages the overlay defines (everything not taken from nixpkgs as it is, and nixpkgs' versioned
        attributes standing in for the canonical ones)."""
        return tuple(p for p in self.packages if p.provider != "nixpkgs" or p.versioned_attr is not None)

    @property
    def environment(self) -> tuple[str, ...]:
        """Attributes in the Python environment: the runtime closure of the requested projects."""
        return tuple(sorted(p.attr for p in self.packages if p.runtime))

    def package(self, name: str) -> PlannedPackage | None:
        return next((p for p in self.packages if p.name == name), None)

    def counts(self) -> dict[str, int]:
        out = {"nixpkgs": 0, "wheel": 0, "sdist": 0}
        for p in self.packages:
            out[p.provider] = out.get(p.provider, 0) + 1
        return out
