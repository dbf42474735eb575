"""The target a resolution is for: a nixpkgs Python interpreter on a Nix system, never the host.

Environment markers follow PEP 508; wheel tags follow PEP 425 with the manylinux (PEP 600) and macOS
platform tags that nixpkgs' own toolchain can load. Everything platform-specific is stated in ``SYSTEMS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.version import Version

from nixgen.errors import UsageError


@dataclass(frozen=True)
class SystemFacts:
    """What one Nix system looks like to PEP 508 markers and PEP 425 tags."""

    sys_platform: str
    platform_system: str
    platform_machine: str
    wheel_arch: str
    macos_target: tuple[int, int] | None = None  # the deployment target nixpkgs' darwin stdenv builds for
    deprecation: str | None = None  # what nixpkgs announces about dropping the system

    @property
    def is_linux(self) -> bool:
        return self.sys_platform == "linux"


MACOS_DEPLOYMENT_TARGET = (14, 0)
"""The pinned nixpkgs' ``darwinMinVersion``: raised to 14.0 (SDK 14.4) in its 25.11 release, so at the
embedded snapshot's revision macOS wheels up to ``macosx_14_0`` load and newer ones may not."""

X86_64_DARWIN_DEPRECATION = ("nixpkgs 26.05 is the last release supporting x86_64-darwin; later revisions "
                             "drop it")

# The one place that says what each Nix system is. The macOS target is the minimum version nixpkgs'
# darwin SDK builds for at the pinned revision; the glibc level of Linux systems comes from the snapshot
# (each system's glibc version).
SYSTEMS: dict[str, SystemFacts] = {
    "x86_64-linux": SystemFacts("linux", "Linux", "x86_64", "x86_64"),
    "aarch64-linux": SystemFacts("linux", "Linux", "aarch64", "aarch64"),
    "x86_64-darwin": SystemFacts("darwin", "Darwin", "x86_64", "x86_64", MACOS_DEPLOYMENT_TARGET,
                                 X86_64_DARWIN_DEPRECATION),
    "aarch64-darwin": SystemFacts("darwin", "Darwin", "arm64", "arm64", MACOS_DEPLOYMENT_TARGET),
}

_LEGACY_MANYLINUX = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}


@dataclass(frozen=True)
class Target:
    """A nixpkgs interpreter (``python313`` at 3.13.12) on a Nix system (``x86_64-linux``)."""

    interpreter: str
    python_version: str
    system: str
    glibc_version: str | None = "2.40"
    facts: SystemFacts = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.system not in SYSTEMS:
            known = ", ".join(sorted(SYSTEMS))
            raise UsageError(f"unknown Nix system {self.system!r}", hint=f"use one of: {known}")
        object.__setattr__(self, "facts", SYSTEMS[self.system])

    @property
    def python_tuple(self) -> tuple[int, int]:
        release = Version(self.python_version).release
        return (release[0], release[1])

    @property
    def interpreter_tag(self) -> str:
        """The PEP 425 interpreter tag of the target's CPython (``cp313``)."""
        major, minor = self.python_tuple
        return f"cp{major}{minor}"

    @property
    def packages_attr(self) -> str:
        """The nixpkgs attribute of the interpreter's package set (``python313Packages``)."""
        return f"{self.interpreter}Packages"

    @cached_property
    def markers(self) -> dict[str, str]:
        """The PEP 508 marker environment of the target interpreter on the target system."""
        major, minor = self.python_tuple
        return {
            "implementation_name": "cpython",
            "implementation_version": self.python_version,
            "os_name": "posix",
            "platform_machine": self.facts.platform_machine,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": self.facts.platform_system,
            "platform_version": "",
            "python_full_version": self.python_version,
            "python_version": f"{major}.{minor}",
            "sys_platform": self.facts.sys_platform,
        }

    def _platforms(self) -> list[str]:
        arch = self.facts.wheel_arch
        if self.facts.macos_target is not None:
            major, minor = self.facts.macos_target
            plats: list[str] = []
            for mac_major in range(major, 10, -1):
                top = minor if mac_major == major else 0
                for mac_minor in range(top, -1, -1):
                    plats += [f"macosx_{mac_major}_{mac_minor}_{a}" for a in (arch, "universal2")]
            for mac_minor in range(16, -1, -1):
                archs = [arch, "universal2", "intel"] if arch == "x86_64" else [arch, "universal2"]
                plats += [f"macosx_10_{mac_minor}_{a}" for a in archs]
            return plats
        glibc_minor = int((self.glibc_version or "2.17").split(".")[1])
        plats = []
        for m in range(glibc_minor, 4, -1):
            plats.append(f"manylinux_2_{m}_{arch}")
            if m in _LEGACY_MANYLINUX:
                plats.append(f"{_LEGACY_MANYLINUX[m]}_{arch}")
        return plats

    @cached_property
    def tag_priority(self) -> dict[Tag, int]:
        """Every PEP 425 tag the target accepts, mapped to its rank (0 = most preferred)."""
        major, minor = self.python_tuple
        plats = self._platforms()
        interp = f"cp{major}{minor}"
        tags = list(cpython_tags((major, minor), abis=[interp], platforms=plats))
        tags += list(compatible_tags((major, minor), interpreter=interp, platforms=plats))
        ranks: dict[Tag, int] = {}
        for tag in tags:
            ranks.setdefault(tag, len(ranks))
        return ranks

    def describe(self) -> str:
        return f"{self.interpreter} ({self.python_version}) on {self.system}"
