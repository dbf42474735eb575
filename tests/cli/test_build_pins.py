"""Build requirements from curated evidence: pyworld 0.3.3 builds only with Cython < 3 and numpy < 2
(overrides/pyworld.toml says how that was measured), so it plans on Python 3.12 and fails on 3.13 with the
evidence of the build pins that cannot work there."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from nixgen.lock.pylock import read_pylock
from tests.cli.conftest import nixgen
from tests.indexserver import FixtureIndex, IndexServer
from tests.nixeval import eval_flake

RECORDED = Path(__file__).parents[1] / "fixtures" / "index" / "files"
LINUX = "manylinux_2_17_x86_64.manylinux2014_x86_64"


def _wheels(fixture: FixtureIndex, name: str, version: str, pythons: tuple[str, ...], uploaded: str) -> None:
    for py in pythons:
        fixture.add_wheel(name, version, tag=f"{py}-{py}-{LINUX}", upload_time=uploaded)


@pytest.fixture()
def pyworld_index(tmp_path: Path, make_index_server: Callable[[Path], IndexServer]) -> IndexServer:
    """pyworld 0.3.3's real sdist (as recorded), and numpy and Cython releases whose wheels stop where the
    real ones do (numpy 1.26.4 and Cython 0.29.37 at cp312)."""
    fixture = FixtureIndex(tmp_path / "index")
    sdist = "pyworld-0.3.3.tar.gz"
    fixture.add_file("pyworld", sdist, (RECORDED / sdist).read_bytes(), upload_time="2023-04-17T23:40:43Z")
    _wheels(fixture, "numpy", "1.26.4", ("cp311", "cp312"), "2024-02-05T23:51:50Z")
    _wheels(fixture, "numpy", "2.4.2", ("cp311", "cp312", "cp313", "cp314"), "2026-01-10T00:00:00Z")
    _wheels(fixture, "cython", "0.29.37", ("cp311", "cp312"), "2023-12-18T00:00:00Z")
    _wheels(fixture, "cython", "3.2.4", ("cp311", "cp312", "cp313", "cp314"), "2026-01-05T00:00:00Z")
    for name, version in (("numpy", "1.26.4"), ("numpy", "2.4.2"), ("cython", "0.29.37"), ("cython", "3.2.4")):
        fixture.add_sdist(name, version, {"PKG-INFO": f"Metadata-Version: 2.2\nName: {name}\nVersion: {version}\n",
                                          "setup.py": "from setuptools import setup\nsetup()\n"},
                          upload_time="2023-12-18T00:00:00Z")
    fixture.add_wheel("setuptools", "80.9.0")
    fixture.add_wheel("wheel", "0.45.1")
    return make_index_server(fixture.write())


def _common(server: IndexServer, tmp_path: Path) -> tuple[str | Path, ...]:
    return ("--index-url", server.url, "--cache-dir", tmp_path / "cache", "--system", "x86_64-linux")


def test_pyworld_0_3_3_fails_on_3_13_with_the_build_pins_evidence(pyworld_index: IndexServer,
                                                                   tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("numpy\npyworld==0.3.3\n")
    proc = nixgen(req, *_common(pyworld_index, tmp_path))
    assert proc.returncode == 11, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "cython 0.29.37 cannot be built from source for python313" in proc.stderr
    assert "numpy 1.26.4 cannot be built from source for python313" in proc.stderr
    # Why those old pins: pyworld's curated build requirements, which also rule out the newer pins.
    assert "pyworld 0.3.3's build needs cython<3 (overrides: pyworld.toml rule 1)" in proc.stderr
    assert "pyworld 0.3.3's build needs numpy<2 (overrides: pyworld.toml rule 1)" in proc.stderr
    assert "hint: pass --python 3.12 (its plan has no build the evidence rules out); or pass --allow-infeasible" \
        in proc.stderr
    assert "cython>=3.2.4" not in proc.stderr and "numpy>=2.4.2" not in proc.stderr


def test_pyworld_0_3_3_plans_on_3_12_with_cython_0_29_and_numpy_1(pyworld_index: IndexServer,
                                                                   tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("numpy\npyworld==0.3.3\n")
    out = tmp_path / "pylock.toml"
    proc = nixgen("lock", req, "-o", out, "--python", "3.12", *_common(pyworld_index, tmp_path))
    assert proc.returncode == 0, proc.stderr
    plan = read_pylock(out).plans[0]
    versions = {p.name: (p.version, p.provider) for p in plan.packages}
    assert versions["pyworld"] == ("0.3.3", "sdist")
    assert versions["numpy"] == ("1.26.4", "wheel") and versions["cython"] == ("0.29.37", "wheel")
    pyworld = plan.package("pyworld")
    assert pyworld is not None and pyworld.recipe.verdict != "infeasible"
    # The curated build requirements are listed with their source, in the lock and the flake.
    assert pyworld.recipe.applied == ("pyworld.toml rule 1",)
    recipe = next(p for p in tomllib.loads(out.read_text())["packages"]
                  if p["name"] == "pyworld")["tool"]["nixgen"]["recipe"]
    assert recipe["verdict"] in ("ok", "risky")
    flake = nixgen(out)
    assert flake.returncode == 0, flake.stderr
    summary = {p["pname"]: p for p in eval_flake(flake.stdout, "packages.x86_64-linux.default.summary", tmp_path)}
    built, numpy = summary["pyworld"], summary["numpy"]
    assert built["origin"] == "nixgen" and built["version"] == "0.3.3"
    assert {"cython", "numpy"} <= set(built["build-system"])
    assert numpy["version"] == "1.26.4"
    # The numpy pyworld compiles against is the very derivation the environment runs: no build isolation skew.
    assert numpy["drv"] in built["build-system-drvs"]
