"""The plan: what the emitter turns into Nix, one ``PlannedPackage`` per pin."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from nixgen.nixpkgs.snapshot import CacheFact
from nixgen.resolve.model import Artifact, Provider, Relaxation


def is_linux_wheel(filename: str) -> bool:
    """Does the wheel ``filename`` (PEP 427) have a Linux platform tag (``manylinux_*``, ``musllinux_*``,
    ``manylinux2014_*``, ``linux_*``)?"""
    try:
        tags = parse_wheel_filename(filename)[3]
    except InvalidWheelFilename:
        return False
    return any(t.platform.startswith(("manylinux", "musllinux", "linux")) for t in tags)


@dataclass(frozen=True)
class PlannedPackage:
    """How one pinned project gets into the environment.

    ``attr`` is its attribute in the interpreter's package set: the nixpkgs attribute it replaces or keeps,
    or a new one named after the project. ``dependencies`` and ``build_system`` are attributes too.
    """

    name: str
    version: str
    provider: Provider
    attr: str
    artifact: Artifact | None
    dependencies: tuple[str, ...]
    build_system: tuple[str, ...]
    native_code: bool
    runtime: bool
    requested: bool
    reason: str
    native_build_inputs: tuple[str, ...] = ()
    build_inputs: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    imports: tuple[str, ...] = ()
    do_check: bool = False
    overrides: tuple[str, ...] = ()  # which override rules applied (file and rule)
    nixpkgs_version: str | None = None
    replaces: bool = False
    source_path: str | None = None  # the local project's directory
    nixpkgs_inputs: tuple[str, ...] = ()  # attrs nixpkgs builds this with beyond its metadata's edges
    # Does the plan's system's binary-cache data (its nix-index database) list ``attr``? "no-data": nothing is
    # known of that system's cache (darwin).
    cache: CacheFact = "listed"

    @property
    def patch_elf(self) -> bool:
        """Is this a wheel with native code for Linux (``manylinux``/``musllinux``/``linux`` platform tags,
        PEP 600/656), whose ELF files autoPatchelfHook points at nixpkgs' libraries? A macOS wheel's Mach-O
        files are not ELF: they load their bundled libraries as they are."""
        return (self.provider == "wheel" and self.native_code and self.artifact is not None
                and is_linux_wheel(self.artifact.filename))


@dataclass(frozen=True)
class Plan:
    """Everything the flake needs for one target, in a stable order."""

    interpreter: str
    python_version: str
    system: str
    packages: tuple[PlannedPackage, ...]
    relaxations: tuple[Relaxation, ...]
    notes: tuple[str, ...]

    @property
    def overrides(self) -> tuple[PlannedPackage, ...]:
        """Packages the overlay defines (everything not taken from nixpkgs as it is)."""
        return tuple(p for p in self.packages if p.provider != "nixpkgs")

    @property
    def environment(self) -> tuple[str, ...]:
        """Attributes in the Python environment: the runtime closure of the requested projects."""
        return tuple(sorted(p.attr for p in self.packages if p.runtime))

    def counts(self) -> dict[str, int]:
        out = {"nixpkgs": 0, "wheel": 0, "sdist": 0}
        for p in self.packages:
            out[p.provider] = out.get(p.provider, 0) + 1
        return out
