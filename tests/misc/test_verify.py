"""How `nixgen verify` judges each package: the prediction against evaluated out paths and the cache."""

from __future__ import annotations

from nixgen.plan.model import Plan, PlannedPackage
from nixgen.verify import compare, render_checks
from tests.planhelp import plan, planned

NUMPY_OLD = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-python3.13-numpy-2.4.2"
NUMPY_NEW = "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-python3.13-numpy-2.5.5"
SCIPY_OLD = "/nix/store/cccccccccccccccccccccccccccccccc-python3.13-scipy-1.17.0"
SCIPY_NEW = "/nix/store/dddddddddddddddddddddddddddddddd-python3.13-scipy-1.17.0"


def _pkg(name: str, provider: str, deps: tuple[str, ...] = (), nixpkgs_version: str | None = None) -> PlannedPackage:
    return planned(name, provider, deps, version="1", requested=True, nixpkgs_version=nixpkgs_version,
                   replaces=nixpkgs_version is not None)


def _plan(*packages: PlannedPackage) -> Plan:
    return plan(*packages)


def test_a_predicted_rebuild_the_overlay_leaves_alone_is_cheaper_than_predicted() -> None:
    plan = _plan(_pkg("numpy", "wheel", nixpkgs_version="2.4.2"), _pkg("scipy", "nixpkgs", ("numpy",)))
    # scipy keeps nixpkgs' out path although numpy was replaced (say, nixpkgs does not build it with numpy).
    checks = {c.name: c for c in compare(plan, {"numpy": (NUMPY_NEW, NUMPY_OLD), "scipy": (SCIPY_OLD, SCIPY_OLD)},
                                         {SCIPY_OLD: True})}
    assert checks["scipy"].predicted == "rebuild" and checks["scipy"].changed is False
    assert not checks["scipy"].agrees and not checks["scipy"].surprise
    text = render_checks(list(checks.values()), "test")
    assert "BETTER scipy: predicted rebuild, binary cache: cached" in text
    assert "its out path is nixpkgs' own: the overlay does not change it" in text


def test_a_predicted_cache_hit_the_overlay_changes_is_named_and_fails_only_when_it_must_be_built() -> None:
    plan = _plan(_pkg("scipy", "nixpkgs"))
    missing = compare(plan, {"scipy": (SCIPY_NEW, SCIPY_OLD)}, {SCIPY_OLD: True})
    assert missing[0].predicted == "cached" and missing[0].changed is True and missing[0].surprise
    assert "DIFF scipy: predicted cached, binary cache: missing" in render_checks(missing, "test")
    assert "nixgen's overlay changes its out path: it rebuilds" in render_checks(missing, "test")
    # A cache (a project's own) that already has the changed package: no build, so no failure.
    held = compare(plan, {"scipy": (SCIPY_NEW, SCIPY_OLD)}, {SCIPY_NEW: True})
    assert held[0].agrees and not held[0].surprise
    assert "ok   scipy: predicted cached, binary cache: cached — nixgen's overlay changes its out path" in \
        render_checks(held, "test")


def test_packages_without_an_out_path_are_not_checked() -> None:
    plan = _plan(_pkg("mine", "local"), _pkg("scipy", "nixpkgs"))
    checks = {c.name: c for c in compare(plan, {"scipy": (SCIPY_OLD, SCIPY_OLD)}, {SCIPY_OLD: True})}
    assert checks["mine"].actual == "not checked" and checks["mine"].agrees
    assert "mine: predicted build, binary cache: not checked (built from your source tree)" in render_checks(
        list(checks.values()), "test")
