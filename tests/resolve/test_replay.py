"""Systems resolved together: a resolution is re-used for another system, or min-build's second one made by
trading pins, only where that gives what a search of its own would; checked against searches of their own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from nixgen.inputs.requirements_txt import parse_requirements
from nixgen.nixpkgs.snapshot import PythonSet
from nixgen.pypi import Index
from nixgen.resolve import Resolution, ResolveOptions, Target, resolve
from nixgen.resolve.replay import Shared
from nixgen.resolve.resolver import ResolveMemo
from tests.indexserver import FixtureIndex, IndexServer
from tests.resolve.test_resolve import LINUX, MAC, nixset

ARM = Target("python313", "3.13.12", "aarch64-linux", glibc_version="2.42")


@pytest.fixture()
def index(tmp_path: Path, make_index_server: Callable[[Path], IndexServer]) -> Index:
    ix = FixtureIndex(tmp_path / "index")
    ix.add_wheel("app", "2.0", requires=["lib>=1", "tool; sys_platform == 'darwin'", "pure"])
    ix.add_wheel("lib", "1.0")
    ix.add_wheel("lib", "1.4", requires=["pure<3"])
    ix.add_wheel("pure", "2.5")
    ix.add_wheel("pure", "3.0")
    ix.add_wheel("tool", "0.9")
    # Native: the newest release has an x86_64 Linux wheel only; others fall back to the older one.
    ix.add_wheel("native", "2.0", tag="cp313-cp313-manylinux_2_17_x86_64")
    ix.add_wheel("native", "1.0", tag="cp313-cp313-manylinux_2_17_x86_64")
    ix.add_wheel("native", "1.0", tag="cp313-cp313-manylinux_2_17_aarch64")
    ix.add_wheel("native", "1.0", tag="cp313-cp313-macosx_11_0_arm64")
    # nixpkgs has shapely 2.0 and needs-old 1.0, whose wheel asks for shapely<2 (nixpkgs relaxes that edge).
    ix.add_wheel("shapely", "2.0")
    ix.add_wheel("shapely", "1.8")
    ix.add_wheel("needs-old", "1.0", requires=["shapely<2"])
    ix.add_wheel("geo", "1.0", requires=["shapely"])
    # gpu needs its CUDA library on x86_64 only; capped holds pure back on x86_64 only.
    ix.add_wheel("gpu", "1.0", requires=["cuda-lib; platform_machine == 'x86_64'", "lib"])
    ix.add_wheel("cuda-lib", "12.0")
    ix.add_wheel("capped", "1.0", requires=["pure<3; platform_machine == 'x86_64'"])
    # bt-a 2.0 and bt-b want different bt-c: only a search (backtracking to bt-a 1.0) finds the resolution.
    ix.add_wheel("bt-a", "2.0", requires=["bt-c==1.0"])
    ix.add_wheel("bt-a", "1.0", requires=["bt-c==2.0"])
    ix.add_wheel("bt-b", "2.0", requires=["bt-c==2.0"])
    ix.add_wheel("bt-c", "1.0")
    ix.add_wheel("bt-c", "2.0")
    server = make_index_server(ix.write())
    return Index([server.url], cache_dir=tmp_path / "cache")


def _resolve(idx: Index, text: str, target: Target, pyset: PythonSet | None = None, *,
             shared: Shared | None = None, memo: ResolveMemo | None = None,
             prefer_wheels: frozenset[str] = frozenset(), search: bool = False) -> Resolution:
    return resolve(parse_requirements(text, path="req.txt"), idx, pyset, target,
                   ResolveOptions(prefer_wheels=prefer_wheels, search=search), memo or ResolveMemo(), shared)


def _searched(idx: Index, text: str, targets: tuple[Target, ...], pyset: PythonSet | None = None) -> list[Resolution]:
    """Each target's resolution by a resolvelib search of its own (what the shortcuts must agree with)."""
    return [_resolve(idx, text, t, pyset, search=True) for t in targets]


def _together(idx: Index, text: str, targets: tuple[Target, ...],
              pyset: PythonSet | None = None) -> tuple[list[Resolution], Shared]:
    shared = Shared()
    return [_resolve(idx, text, t, pyset, shared=shared) for t in targets], shared


def test_where_nothing_conflicts_the_resolution_needs_no_search(index: Index) -> None:
    with index:
        for text in ("app\n", "gpu\n", "capped\npure\n", "geo\nneeds-old\n", "native\nlib\n"):
            alone, shared = _together(index, text, (LINUX,))
            assert (shared.searches, shared.direct) == (1, 1), text
            assert alone == _searched(index, text, (LINUX,)), text


def test_where_only_backtracking_finds_it_resolvelib_searches(index: Index) -> None:
    with index:
        found, shared = _together(index, "bt-a\nbt-b\n", (LINUX,))
        assert (shared.searches, shared.direct) == (1, 0)
        assert found[0].pin("bt-a").version == "1.0"  # type: ignore[union-attr]
        assert found == _searched(index, "bt-a\nbt-b\n", (LINUX,))


def test_systems_that_see_the_same_answers_share_one_search(index: Index) -> None:
    with index:
        together, shared = _together(index, "app\n", (LINUX, ARM))
        assert (shared.searches, shared.direct, shared.carried) == (1, 1, 1)
        # Each resolution says how it was found (equal resolutions found otherwise still compare equal).
        assert [(r.found_by, r.found_from) for r in together] == [("unsearched", None), ("carried", "x86_64-linux")]
        # The same as each system's own search, down to the files and edges.
        assert together == _searched(index, "app\n", (LINUX, ARM))
        assert together[1].system == "aarch64-linux"
        # A search's recording is replayed: aarch64 Linux answers every question alike.
        searched, shared = _together(index, "bt-a\nbt-b\n", (LINUX, ARM))
        assert (shared.searches, shared.direct, shared.replayed) == (1, 0, 1)
        assert [(r.found_by, r.found_from) for r in searched] == [("search", None), ("replayed", "x86_64-linux")]
        assert searched == _searched(index, "bt-a\nbt-b\n", (LINUX, ARM))


def test_a_project_one_system_alone_needs_is_added_and_a_missing_wheel_makes_it_search(index: Index) -> None:
    with index:
        # tool is asked for on macOS only: macOS keeps Linux's versions and takes its best tool.
        marked, shared = _together(index, "app\n", (LINUX, MAC))
        assert (shared.searches, shared.replayed, shared.carried) == (1, 0, 1)
        assert marked == _searched(index, "app\n", (LINUX, MAC))
        assert "tool" in {p.name for p in marked[1].pins} and "tool" not in {p.name for p in marked[0].pins}
        native, shared = _together(index, "native\n", (LINUX, ARM, MAC))
        assert shared.searches == 2 and shared.carried == 1  # aarch64 Linux and macOS agree on native 1.0
        assert [r.pin("native").version for r in native] == ["2.0", "1.0", "1.0"]  # type: ignore[union-attr]
        assert native == _searched(index, "native\n", (LINUX, ARM, MAC))


def test_a_system_whose_answers_differ_keeps_the_versions_where_its_own_search_would_pick_them(index: Index) -> None:
    with index:
        # aarch64 Linux does not need cuda-lib: the x86_64 resolution, less cuda-lib, is its resolution.
        gpu, shared = _together(index, "gpu\n", (LINUX, ARM))
        assert (shared.searches, shared.replayed, shared.carried) == (1, 0, 1)
        assert "cuda-lib" in {p.name for p in gpu[0].pins} and "cuda-lib" not in {p.name for p in gpu[1].pins}
        assert gpu == _searched(index, "gpu\n", (LINUX, ARM))
        # capped holds pure at 2.5 on x86_64 only; aarch64's own search picks pure 3.0, so it searches.
        capped, shared = _together(index, "capped\npure\n", (LINUX, ARM))
        assert (shared.searches, shared.carried) == (2, 0)
        assert [r.pin("pure").version for r in capped] == ["2.5", "3.0"]  # type: ignore[union-attr]
        assert capped == _searched(index, "capped\npure\n", (LINUX, ARM))


def test_different_nixpkgs_versions_are_not_shared(index: Index) -> None:
    with index:
        shared = Shared()
        first = _resolve(index, "geo\n", LINUX, nixset(shapely="2.0", geo="1.0"), shared=shared)
        other = _resolve(index, "geo\n", ARM, nixset(shapely="1.8", geo="1.0"), shared=shared)
        assert shared.searches == 2
        assert first.pin("shapely").version == "2.0" and other.pin("shapely").version == "1.8"  # type: ignore[union-attr]


def test_min_build_trades_pins_where_that_is_a_resolution_and_searches_where_not(index: Index) -> None:
    nix = nixset(shapely="2.0", **{"needs-old": "1.0"}, geo="1.0")
    with index:
        # geo as a wheel: its requirement on shapely holds for nixpkgs' shapely, so trading is a resolution.
        shared, memo = Shared(), ResolveMemo()
        _resolve(index, "geo\n", LINUX, nix, shared=shared, memo=memo)
        swapped = _resolve(index, "geo\n", LINUX, nix, shared=shared, memo=memo, prefer_wheels=frozenset({"geo"}))
        assert (shared.searches, shared.traded) == (1, 1)
        assert swapped.found_by == "unsearched"  # the trades keep how the resolution they trade from was found
        assert swapped == _resolve(index, "geo\n", LINUX, nix, prefer_wheels=frozenset({"geo"}), search=True)
        assert swapped.pin("geo").provider == "wheel"  # type: ignore[union-attr]
        # needs-old as a wheel: its shapely<2 is strict then, and nixpkgs' shapely 2.0 fails it: a search.
        shared, memo = Shared(), ResolveMemo()
        _resolve(index, "needs-old\n", LINUX, nix, shared=shared, memo=memo)
        wheels = frozenset({"needs-old"})
        searched = _resolve(index, "needs-old\n", LINUX, nix, shared=shared, memo=memo, prefer_wheels=wheels)
        assert (shared.searches, shared.traded) == (2, 0)
        assert searched == _resolve(index, "needs-old\n", LINUX, nix, prefer_wheels=wheels, search=True)
        assert {p.name: (p.version, p.provider) for p in searched.pins} == {
            "needs-old": ("1.0", "wheel"), "shapely": ("1.8", "wheel")}


def test_a_full_search_takes_no_shortcut(index: Index) -> None:
    with index:
        shared = Shared()
        found = [resolve(parse_requirements("gpu\n", path="req.txt"), index, None, t, ResolveOptions(search=True),
                         ResolveMemo(), shared) for t in (LINUX, ARM)]
        # aarch64 Linux could carry x86_64's versions (see above); with search it searches for itself.
        assert (shared.searches, shared.direct, shared.carried) == (2, 0, 0)
        assert [r.found_by for r in found] == ["search", "search"]
        assert found == _searched(index, "gpu\n", (LINUX, ARM))
