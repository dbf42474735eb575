"""packse's resolver scenarios, run through nixgen's resolver against the scenarios' own index.

The scenarios, their built distributions and their expected outcomes are fixtures (tests/fixtures/packse,
built once from packse 0.3.59; see its README). Each scenario is resolved in-process with ``resolve()``
against the served index with no nixpkgs set (``pyset=None``), so nixpkgs preference cannot change an
outcome, for the Python the scenario names and (for universal scenarios) on each of nixgen's Nix systems.

Scenarios nixgen cannot target are listed in ``SKIPPED`` with the reason; scenarios whose packse 0.3.59
expectation predates a deliberate change in uv are listed in ``FOLLOWS_UV`` with what uv 0.13 does (checked
with ``uv pip compile`` against the same served index) and the reason. Nothing is left out silently:
``test_every_scenario_is_run_or_listed`` checks that the three lists cover all scenarios.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nixgen.errors import NixgenError, ProjectNotFound, ResolutionError
from nixgen.inputs.requirements_txt import parse_requirements
from nixgen.pypi import Index
from nixgen.resolve import SYSTEMS, Resolution, ResolveOptions, Target, resolve
from nixgen.resolve.model import Provider
from tests.indexserver import IndexServer

FIXTURES = Path(__file__).parent.parent / "fixtures" / "packse"
SCENARIOS: dict[str, dict[str, Any]] = {s["name"]: s for s in json.loads((FIXTURES / "scenarios.json").read_text())}
TARGETABLE = {"3.11", "3.12", "3.13", "3.14"}  # the interpreters nixgen targets (X.Y; patch from nixpkgs)

# Scenarios nixgen cannot target, with the reason (test_skipped_table_is_exact checks the table).
SKIPPED: dict[str, str] = {
    "compatible-python-incompatible-override": "targets Python 3.9, which nixpkgs no longer has",
    "python-greater-than-current": "targets Python 3.9, which nixpkgs no longer has",
    "python-greater-than-current-backtrack": "targets Python 3.9, which nixpkgs no longer has",
    "python-greater-than-current-excluded": "targets Python 3.9, which nixpkgs no longer has",
    "python-greater-than-current-many": "targets Python 3.9, which nixpkgs no longer has",
    "python-less-than-current": "targets Python 3.9, which nixpkgs no longer has",
    "python-patch-override-no-patch": "targets Python 3.9, which nixpkgs no longer has",
    "python-patch-override-patch-compatible": "targets Python 3.9.0 exactly, which nixpkgs no longer has",
    "python-greater-than-current-patch": "targets Python 3.13.0 exactly; nixgen's python313 is the patch "
                                         "release nixpkgs has",
}

UV = json.loads((FIXTURES / "uv-outcomes.json").read_text())  # uv 0.13.9 per scenario and Nix system

# Where packse 0.3.59's expectation predates uv 0.12's deliberate pre-release change (uv's changelog: stable
# releases are always preferred; a pre-release is chosen where no final release satisfies the requirements,
# and a dependency's pre-release specifier counts too), nixgen follows current uv: the expectation is what
# uv 0.13.9 resolves (uv-outcomes.json). test_follows_uv_table_is_exact checks that these are exactly the
# single-target scenarios where uv and packse disagree.
UV_PRERELEASES = ("uv >= 0.12 prefers final releases and takes a pre-release only where no final release "
                  "fits, whoever asks (packse 0.3.59 predates the change)")
FOLLOWS_UV: dict[str, str] = {
    "package-only-prereleases-in-range": UV_PRERELEASES + ": a>0.1.0 takes 1.0.0a1",
    "package-prerelease-specified-mixed-available": UV_PRERELEASES + ": a>=0.1.0a1 takes 0.3.0, not 1.0.0a1",
    "package-prereleases-specifier-boundary": UV_PRERELEASES + ": a<0.2.0a2 takes 0.1.0, not 0.2.0a1",
    "transitive-package-only-prereleases-in-range": UV_PRERELEASES + ": b>0.1 takes 1.0.0a1",
    "transitive-prerelease-and-stable-dependency": UV_PRERELEASES + ": a dependency's c==2.0.0b1 opts in",
    "transitive-prerelease-and-stable-dependency-many-versions": UV_PRERELEASES + ": c>=2.0.0b1 opts in",
    "transitive-prerelease-and-stable-dependency-many-versions-holes": UV_PRERELEASES + ": c's specifier opts in",
}
# Universal scenarios state one outcome for all environments together (a uv lock); nixgen resolves one Nix
# system at a time, so for them whether a system has a solution is what uv finds for that platform
# (conflict-in-fork, fork-marker-disjoint and others are unsatisfiable only universally).


@pytest.fixture(scope="module")
def packse_index() -> Iterator[IndexServer]:
    with IndexServer(FIXTURES) as server:
        yield server


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One index cache for the module: scenarios name disjoint projects, so they cannot see each other."""
    return tmp_path_factory.mktemp("packse-cache")


def _targets(scenario: dict[str, Any]) -> list[Target]:
    minor = scenario["python"].split(".")[1]
    version = f"3.{minor}.0"
    if scenario["python_platform"] == "x86_64-manylinux2014":
        return [Target(f"python3{minor}", version, "x86_64-linux", glibc_version="2.17")]
    if scenario["universal"]:
        return [Target(f"python3{minor}", version, system) for system in sorted(SYSTEMS)]
    return [Target(f"python3{minor}", version, "x86_64-linux")]


def _options(scenario: dict[str, Any]) -> ResolveOptions:
    providers: dict[str, Provider] = {}
    for name in scenario["no_binary"]:
        providers[name] = "sdist"
    for name in scenario["no_build"]:
        providers[name] = "wheel"
    return ResolveOptions(prefer="latest", pre=scenario["prereleases"], providers=providers)


def run_scenario(server: IndexServer, cache: Path, scenario: dict[str, Any], target: Target) -> Resolution:
    reqs = parse_requirements("".join(f"{r}\n" for r in scenario["root"]), path="packse.txt")
    with Index([server.url], cache_dir=cache) as index:
        return resolve(reqs, index, None, target, _options(scenario))


def _params() -> list[Any]:
    params = []
    for name in sorted(SCENARIOS):
        if name in SKIPPED:
            params.append(pytest.param(name, id=name, marks=pytest.mark.skip(reason=SKIPPED[name])))
        else:
            params.append(pytest.param(name, id=name))
    return params


def expectation(name: str, target: Target) -> tuple[bool, dict[str, str]]:
    """Satisfiable or not, and the expected pins (empty: not stated) for ``name`` on ``target``."""
    scenario = SCENARIOS[name]
    uv = UV["scenarios"][name][target.system]
    if name in FOLLOWS_UV:
        return uv["satisfiable"], uv.get("packages", {})
    if scenario["universal"]:
        # uv's per-platform pins are one valid answer among several (wrong-backtracking-indirect: uv
        # backtracks to the old b-inner the scenario warns about, nixgen does not), so only whether one exists.
        return uv["satisfiable"], scenario["expected"]["packages"]
    return scenario["expected"]["satisfiable"], scenario["expected"]["packages"]


PASSED: list[str] = []


@pytest.mark.parametrize("name", _params())
def test_scenario(name: str, packse_index: IndexServer, cache: Path) -> None:
    scenario = SCENARIOS[name]
    for target in _targets(scenario):
        satisfiable, packages = expectation(name, target)
        if not satisfiable:
            with pytest.raises((ResolutionError, ProjectNotFound)):
                run_scenario(packse_index, cache, scenario, target)
            continue
        try:
            res = run_scenario(packse_index, cache, scenario, target)
        except NixgenError as err:
            pytest.fail(f"{name} on {target.describe()}: {err.message}")
        got = {p.name: p.version for p in res.pins if p.runtime}
        if packages:
            assert got == packages, f"{target.system}: {scenario['description']}"
    PASSED.append(name)


def test_zz_pass_count(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints how many scenarios passed (run last in this module; the full module runs them all)."""
    with capsys.disabled():
        print(f"\npackse 0.3.59: {len(PASSED)} of {len(SCENARIOS) - len(SKIPPED)} targetable scenarios passed "
              f"({len(SKIPPED)} skipped, {len(FOLLOWS_UV)} following uv 0.13)")
    if len(PASSED) == len(SCENARIOS) - len(SKIPPED):
        assert len(PASSED) == 141


def test_follows_uv_table_is_exact() -> None:
    """FOLLOWS_UV lists exactly the single-target scenarios where uv 0.13.9 and packse 0.3.59 disagree."""
    assert UV["uv"].startswith("uv 0.13.9")
    differ = set()
    for name, outcomes in UV["scenarios"].items():
        scenario, uv = SCENARIOS[name], outcomes["x86_64-linux"]
        if scenario["universal"]:
            continue
        want = scenario["expected"]
        if uv["satisfiable"] != want["satisfiable"] or (want["packages"]
                                                         and uv.get("packages") != want["packages"]):
            differ.add(name)
    assert differ == set(FOLLOWS_UV)


def test_skipped_table_is_exact() -> None:
    """SKIPPED lists exactly the scenarios whose Python nixgen cannot target."""
    untargetable = {n for n, s in SCENARIOS.items() if s["python"] not in TARGETABLE}
    assert set(SKIPPED) == untargetable


def test_every_scenario_is_run_or_listed() -> None:
    assert len(SCENARIOS) == 150
    assert set(FOLLOWS_UV) <= set(SCENARIOS) - set(SKIPPED)
    assert set(UV["scenarios"]) == set(SCENARIOS) - set(SKIPPED)
