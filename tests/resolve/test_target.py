"""The target's markers and tags are the target's, whatever the host is."""

import pytest
from packaging.markers import Marker
from packaging.tags import Tag

from nixgen.errors import UsageError
from nixgen.resolve.target import SYSTEMS, Target


def test_markers_are_the_targets_not_the_hosts() -> None:
    t = Target("python313", "3.13.12", "aarch64-darwin")
    assert t.markers["sys_platform"] == "darwin"
    assert t.markers["platform_machine"] == "arm64"
    assert t.markers["python_full_version"] == "3.13.12"
    assert Marker('python_version >= "3.13" and sys_platform == "darwin"').evaluate(t.markers)
    assert not Marker('sys_platform == "linux"').evaluate(t.markers)


def test_linux_tags_follow_glibc_of_nixpkgs() -> None:
    t = Target("python313", "3.13.12", "x86_64-linux", glibc_version="2.40")
    ranks = t.tag_priority
    assert Tag("cp313", "cp313", "manylinux_2_40_x86_64") in ranks
    assert Tag("cp313", "cp313", "manylinux2014_x86_64") in ranks
    assert Tag("cp39", "abi3", "manylinux_2_17_x86_64") in ranks
    assert Tag("py3", "none", "any") in ranks
    assert Tag("cp313", "cp313", "manylinux_2_41_x86_64") not in ranks
    assert Tag("cp312", "cp312", "manylinux_2_17_x86_64") not in ranks
    assert Tag("cp313", "cp313", "manylinux_2_17_aarch64") not in ranks
    assert Tag("cp313", "cp313", "linux_x86_64") not in ranks  # not portable: never chosen
    # A specific wheel beats abi3, which beats a pure wheel.
    assert (ranks[Tag("cp313", "cp313", "manylinux_2_17_x86_64")]
            < ranks[Tag("cp39", "abi3", "manylinux_2_17_x86_64")]
            < ranks[Tag("py3", "none", "any")])


def test_darwin_tags_respect_the_deployment_target() -> None:
    # The pinned nixpkgs' darwinMinVersion (14.0 since 25.11), for every darwin system, stated once.
    assert {s: f.macos_target for s, f in SYSTEMS.items() if not f.is_linux} == {
        "x86_64-darwin": (14, 0), "aarch64-darwin": (14, 0)}
    ranks = Target("python313", "3.13.12", "aarch64-darwin").tag_priority
    assert Tag("cp313", "cp313", "macosx_14_0_arm64") in ranks
    assert Tag("cp313", "cp313", "macosx_13_0_arm64") in ranks
    assert Tag("cp313", "cp313", "macosx_11_0_arm64") in ranks
    assert Tag("cp313", "cp313", "macosx_10_9_universal2") in ranks
    assert Tag("cp313", "cp313", "macosx_15_0_arm64") not in ranks
    assert Tag("cp313", "cp313", "macosx_14_0_x86_64") not in ranks
    # A wheel built for the newest fitting macOS is preferred over an older one.
    assert ranks[Tag("cp313", "cp313", "macosx_14_0_arm64")] < ranks[Tag("cp313", "cp313", "macosx_11_0_arm64")]
    intel = Target("python313", "3.13.12", "x86_64-darwin").tag_priority
    assert Tag("cp313", "cp313", "macosx_14_0_x86_64") in intel and Tag("cp313", "cp313", "macosx_15_0_x86_64") \
        not in intel
    assert SYSTEMS["x86_64-darwin"].deprecation and "26.05" in SYSTEMS["x86_64-darwin"].deprecation
    assert SYSTEMS["aarch64-darwin"].deprecation is None


def test_unknown_system_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown Nix system 'riscv64-linux'"):
        Target("python313", "3.13.12", "riscv64-linux")
