"""The resolution rules nixgen shares with current uv (0.13) and pip (26): missing projects, pre-releases,
yanked files, and how the reasons read when nothing fits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from nixgen.errors import ProjectNotFound, ResolutionError
from nixgen.inputs.requirements_txt import parse_requirements
from nixgen.pypi import Index
from nixgen.resolve import ResolveOptions, resolve
from tests.indexserver import FixtureIndex
from tests.resolve.test_resolve import LINUX, index, providers, run

__all__ = ["index"]  # the fixture, shared with test_resolve


def missing_dep(ix: FixtureIndex) -> None:
    ix.add_wheel("a", "1.0", requires=["b>1.0"])
    ix.add_wheel("b", "1.0")
    ix.add_wheel("b", "2.0")
    ix.add_wheel("b", "3.0", requires=["c"])
    ix.add_wheel("lonely", "1.0", requires=["c>=2"])


def test_a_dependency_on_a_missing_project_is_backtracked_over(index: Callable[..., Index]) -> None:
    assert providers(run(index(missing_dep), "a\n", None)) == {"a": ("1.0", "wheel"), "b": ("2.0", "wheel")}


def test_an_unavoidable_missing_project_is_named_missing_from_the_index(index: Callable[..., Index]) -> None:
    with pytest.raises(ResolutionError) as err:
        run(index(missing_dep), "lonely\n", None)
    assert err.value.exit_code == 7  # ResolutionError (nixgen.errors.ExitCode.NO_RESOLUTION)
    assert ("`lonely 1.0` requires `c>=2`, but c is missing from the index (no project of that name)"
            in err.value.message)


def test_a_missing_project_the_user_asked_for_is_an_error_at_once(index: Callable[..., Index]) -> None:
    with pytest.raises(ProjectNotFound, match="no project named nope on the index") as err:
        run(index(missing_dep), "a\nnope\n", None)
    assert err.value.exit_code == 6  # ProjectNotFound (ExitCode.NOT_FOUND)


def prereleases(ix: FixtureIndex) -> None:
    ix.add_wheel("only-pre", "1.0.0a1")
    ix.add_wheel("only-pre", "1.0.0b2")
    ix.add_wheel("mixed", "0.1.0")
    ix.add_wheel("mixed", "1.0.0a1")
    ix.add_wheel("wants-pre", "1.0", requires=["mixed>=1.0.0a1"])
    for minor in range(8):
        ix.add_wheel("many", f"1.{minor}.0", requires_python="<3.12")
    ix.add_wheel("many", "2.0.0", requires_python="<3.11")


def test_a_project_with_only_pre_releases_offers_them(index: Callable[..., Index]) -> None:
    res = run(index(prereleases), "only-pre\n", None)
    assert providers(res) == {"only-pre": ("1.0.0b2", "wheel")}
    assert "only-pre 1.0.0b2 is a pre-release: no final release of only-pre satisfies what asks for it" in res.notes


def test_final_releases_come_first_and_pre_releases_where_nothing_final_fits(index: Callable[..., Index]) -> None:
    build = index(prereleases)
    assert providers(run(build, "mixed\n", None)) == {"mixed": ("0.1.0", "wheel")}
    assert providers(run(build, "mixed>=0.1.0a1\n", None)) == {"mixed": ("0.1.0", "wheel")}  # as uv 0.13
    assert providers(run(build, "mixed>0.1.0\n", None)) == {"mixed": ("1.0.0a1", "wheel")}
    assert providers(run(build, "mixed>=1.0.0a1\n", None)) == {"mixed": ("1.0.0a1", "wheel")}
    res = run(build, "mixed>=0.1\n", None, pre=True)
    assert providers(res) == {"mixed": ("1.0.0a1", "wheel")} and not res.notes  # --pre: newest first


def test_a_dependencys_pre_release_specifier_opts_in_as_current_uv_does(index: Callable[..., Index]) -> None:
    res = run(index(prereleases), "wants-pre\nmixed\n", None)
    assert providers(res) == {"wants-pre": ("1.0", "wheel"), "mixed": ("1.0.0a1", "wheel")}


def yanked(ix: FixtureIndex) -> None:
    ix.add_wheel("y", "1.0")
    ix.add_wheel("y", "2.0", yanked="broken")
    ix.add_wheel("pins-y", "1.0", requires=["y==2.0"])


def test_yanked_files_only_for_the_users_own_exact_pin(index: Callable[..., Index]) -> None:
    build = index(yanked)
    assert providers(run(build, "y\n", None)) == {"y": ("1.0", "wheel")}
    assert providers(run(build, "y==2.0\n", None)) == {"y": ("2.0", "wheel")}
    assert providers(run(build, "y===2.0\n", None)) == {"y": ("2.0", "wheel")}
    with pytest.raises(ResolutionError) as err:
        run(build, "pins-y\n", None)
    assert "2.0 is yanked (PEP 592: only your own == pin selects a yanked release)" in err.value.message


def test_the_pinned_versions_own_reason_is_never_cut_off(index: Callable[..., Index]) -> None:
    with pytest.raises(ResolutionError) as err:
        run(index(prereleases), "many<3\n", None)
    msg = err.value.message
    assert "(and 4 more)" in msg and "2.0.0 requires Python <3.11" in msg
    with pytest.raises(ResolutionError) as err:
        run(index(prereleases), "many==1.0.0\n", None)
    assert "excluded: 1.0.0 requires Python <3.12" in err.value.message
    assert "more)" not in err.value.message


def test_a_forced_provider_without_files_reads_as_english(index: Callable[..., Index]) -> None:
    with pytest.raises(ResolutionError, match=r"1.0 has no sdist for python313"):
        run(index(yanked), "y==1.0\n", None, providers={"y": "sdist"})


def test_the_users_exact_constraint_also_selects_a_yanked_release(index: Callable[..., Index],
                                                                  tmp_path: Path) -> None:
    (tmp_path / "cons.txt").write_text("y==2.0\n")
    reqs = parse_requirements("pins-y\n-c cons.txt\n", path=str(tmp_path / "req.txt"))
    with index(yanked) as idx:
        res = resolve(reqs, idx, None, LINUX, ResolveOptions())
    assert {p.name: p.version for p in res.pins} == {"pins-y": "1.0", "y": "2.0"}
