"""Cache statuses come from each system's own binary-cache data: x86_64-linux's and aarch64-linux's nix-index
databases in the embedded snapshot, none for darwin (``unverified``, never ``cached``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nixgen.emit import words
from nixgen.inputs.detect import read_input
from nixgen.inputs.model import RequirementSet
from nixgen.nixpkgs.snapshot import Snapshot
from nixgen.pipeline import Options, lock
from nixgen.plan import predict
from nixgen.session import Session
from tests.cli.conftest import EXCLUDE_NEWER, nixgen
from tests.indexserver import FixtureIndex

ROOT = Path(__file__).resolve().parents[2]
LINUX = ("x86_64-linux", "aarch64-linux")
DARWIN = ("x86_64-darwin", "aarch64-darwin")


def _statuses(reqs: Path, url: str, cache: Path, **options: Any) -> dict[str, dict[str, tuple[str, str, float, str]]]:
    """system → name → (provider, status, minutes, why), every system resolved in one lock."""
    from datetime import UTC, datetime

    reqset = read_input(reqs)
    assert isinstance(reqset, RequirementSet)
    locked = lock(reqset, Session.load(), Options(
        index_urls=(url,), cache_dir=cache, systems=(*LINUX, *DARWIN),
        exclude_newer=datetime.fromisoformat(EXCLUDE_NEWER).replace(tzinfo=UTC), **options))
    assert not locked.failures
    out: dict[str, dict[str, tuple[str, str, float, str]]] = {}
    for plan in locked.plans:
        prediction = predict(plan)
        out[plan.system] = {p.name: (p.provider, s.state, s.minutes, words.why(s, p, plan.system))
                            for p, s in zip(plan.packages, prediction.statuses, strict=True)}
        counts = prediction.by_state()
        assert counts["unverified"] == sum(1 for s in prediction.statuses if s.state == "unverified")
    return out


def test_rodeo_is_cached_on_both_linux_systems_and_unverified_on_darwin(index_server: Any, tmp_path: Path) -> None:
    by_system = _statuses(ROOT / "examples/rodeo/requirements.txt", index_server.url, tmp_path / "cache")
    assert set(by_system) == {*LINUX, *DARWIN}
    snapshot = Snapshot.load()
    for system in LINUX:
        packages = by_system[system]
        assert {"cartopy", "tensorflow", "docrep"} <= set(packages)
        own = snapshot.for_system(system)
        assert own is not None
        for name, (provider, state, minutes, _why) in packages.items():
            assert (provider, state, minutes) == ("nixpkgs", "cached", 0), (system, name)
            assert own.python_set().by_pypi_name(name) is not None, (system, name)  # from its own database
    for system in DARWIN:
        packages = by_system[system]
        assert {"cartopy", "tensorflow", "docrep"} <= set(packages)
        for name, (provider, state, minutes, why) in packages.items():
            # Still nixpkgs packages (min-build never trades them: nothing says they must be built), never cached.
            assert (provider, state, minutes, why) == ("nixpkgs", "unverified", 0, f"no cache data for {system}"), \
                (system, name)


@pytest.fixture()
def gradio(tmp_path: Path, make_index_server: Any) -> tuple[Path, str]:
    """gradio at nixpkgs' version (6.9.0): cached on x86_64-linux only (the aarch64-linux database lacks it)."""
    fixture = FixtureIndex(tmp_path / "index")
    fixture.add_wheel("gradio", "6.9.0")
    server = make_index_server(fixture.write())
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("gradio\n")
    return reqs, server.url


def test_a_package_only_x86_64_linux_caches_is_built_on_aarch64_linux(gradio: tuple[Path, str],
                                                                       tmp_path: Path) -> None:
    reqs, url = gradio
    snapshot = Snapshot.load()
    assert snapshot.cache_fact("x86_64-linux", "python313", "gradio") == "listed"
    assert snapshot.cache_fact("aarch64-linux", "python313", "gradio") == "absent"
    assert snapshot.cache_fact("aarch64-darwin", "python313", "gradio") == "no-data"
    forced = _statuses(reqs, url, tmp_path / "cache", providers={"gradio": "nixpkgs"})
    assert forced["x86_64-linux"]["gradio"][:3] == ("nixpkgs", "cached", 0)
    provider, state, minutes, why = forced["aarch64-linux"]["gradio"]
    assert (provider, state) == ("nixpkgs", "build") and minutes > 0
    assert why == "nixpkgs package not in aarch64-linux's binary cache data: Nix builds it"
    for system in DARWIN:
        assert forced[system]["gradio"] == ("nixpkgs", "unverified", 0, f"no cache data for {system}")
    # min-build may trade a package that must be built (on aarch64-linux), never an unverified one.
    chosen = _statuses(reqs, url, tmp_path / "cache")
    assert chosen["x86_64-linux"]["gradio"][:2] == ("nixpkgs", "cached")
    assert chosen["aarch64-linux"]["gradio"][:2] == ("wheel", "fetch")
    assert chosen["aarch64-darwin"]["gradio"][:2] == ("nixpkgs", "unverified")


def test_report_json_counts_each_state_for_its_system(gradio: tuple[Path, str], tmp_path: Path) -> None:
    reqs, url = gradio
    totals = {}
    for system in ("x86_64-linux", "aarch64-linux", "aarch64-darwin"):
        proc = nixgen("report", reqs, "--json", "--index-url", url, "--cache-dir", tmp_path / "cache",
                      "--system", system, "--provider", "gradio=nixpkgs")
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout)["systems"][0]
        (pkg,) = data["packages"]
        totals[system] = (pkg["status"], pkg["reason"], data["totals"])
    assert totals["x86_64-linux"][0] == "cached" and totals["x86_64-linux"][2]["cached"] == 1
    status, _reason, counts = totals["aarch64-linux"]
    assert status == "build" and counts["build"] == 1 and counts["estimated-minutes"] > 0
    status, _reason, counts = totals["aarch64-darwin"]
    assert status == "unverified" and counts["unverified"] == 1 and counts["cached"] == 0
    assert counts["estimated-minutes"] == 0
