"""Build feasibility: builds from source the evidence rules out fail with the evidence and what would work
(another interpreter, a newer pin), unless --allow-infeasible; verdicts are in the lock, report and explain;
native wheels from before numpy 2.0 get numpy<2."""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nixgen.lock.pylock import read_pylock
from tests.cli.conftest import nixgen
from tests.indexserver import FixtureIndex, IndexServer, metadata_text
from tests.nixeval import eval_flake, fixture_nixpkgs

DATA = Path(__file__).parent / "data"
LINUX = "manylinux_2_17_x86_64.manylinux2014_x86_64"


def _release(fixture: FixtureIndex, name: str, version: str, pythons: tuple[str, ...], uploaded: str,
             requires: tuple[str, ...] = (), setup_py: str = "from setuptools import setup\nsetup()\n") -> None:
    """A release as the index has it: interpreter-specific manylinux wheels and an sdist (static metadata)."""
    for py in pythons:
        fixture.add_wheel(name, version, requires=requires, tag=f"{py}-{py}-{LINUX}", upload_time=uploaded)
    fixture.add_sdist(name, version, {
        "PKG-INFO": metadata_text(name, version, requires=requires, metadata_version="2.2"),
        "pyproject.toml": '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n',
        "setup.py": setup_py,
    }, upload_time=uploaded)


@pytest.fixture()
def old_pins(tmp_path: Path, make_index_server: Callable[[Path], IndexServer]) -> IndexServer:
    """numpy, pandas and scikit-learn releases whose wheels stop where the real ones do (numpy 1.26.4 at
    cp312, pandas 1.5.0 and scikit-learn 1.2.0 at cp311; cp310 and older trimmed as the recorded index does),
    and the releases that first ship cp313 wheels."""
    fixture = FixtureIndex(tmp_path / "index")
    fixture.add_wheel("setuptools", "80.9.0")  # the sdists' build backend, for interpreters without a package set
    _release(fixture, "numpy", "1.26.4", ("cp311", "cp312"), "2024-02-05T23:51:50Z")
    _release(fixture, "numpy", "2.1.0", ("cp311", "cp312", "cp313"), "2024-08-18T00:00:00Z")
    _release(fixture, "numpy", "2.3.5", ("cp311", "cp312", "cp313", "cp314"), "2025-11-16T22:49:19Z")
    _release(fixture, "pandas", "1.5.0", ("cp311",), "2022-09-19T00:00:00Z", ("numpy>=1.21",))
    _release(fixture, "pandas", "2.2.3", ("cp311", "cp312", "cp313"), "2024-09-20T00:00:00Z", ("numpy>=1.26",))
    _release(fixture, "scikit-learn", "1.2.0", ("cp311",), "2022-12-08T00:00:00Z", ("numpy>=1.17.3",))
    _release(fixture, "scikit-learn", "1.5.2", ("cp311", "cp312", "cp313"), "2024-09-11T00:00:00Z",
             ("numpy>=1.19.5",))
    return make_index_server(fixture.write())


def _common(server: IndexServer, tmp_path: Path) -> tuple[str | Path, ...]:
    return ("--index-url", server.url, "--cache-dir", tmp_path / "cache", "--system", "x86_64-linux")


def test_numpy_1_on_python_3_13_fails_with_the_evidence_and_suggests_3_12(old_pins: IndexServer,
                                                                           tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("numpy<2\n")
    proc = nixgen(req, *_common(old_pins, tmp_path))
    assert proc.returncode == 11, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "numpy 1.26.4 cannot be built from source for python313 on x86_64-linux" in proc.stderr
    assert ("its wheels stop at cp312, none for Python 3.13; uploaded 2024-02-05, before Python 3.13's release "
            "(2024-10-07); the project's first release with wheels for Python 3.13 is 2.1.0") in proc.stderr
    assert "hint: pass --python 3.12" in proc.stderr
    assert proc.stdout == ""
    # What the hint says works: a plan from numpy's cp312 wheel.
    ok = nixgen(req, "--python", "3.12", *_common(old_pins, tmp_path))
    assert ok.returncode == 0, ok.stderr
    assert "numpy-1.26.4-cp312-cp312" in ok.stdout
    # --allow-infeasible writes the plan, and the lock records the verdict and its evidence.
    out = tmp_path / "pylock.toml"
    allowed = nixgen("lock", req, "-o", out, "--allow-infeasible", *_common(old_pins, tmp_path))
    assert allowed.returncode == 0, allowed.stderr
    assert "error: build of numpy 1.26.4 from source: infeasible: its wheels stop at cp312" in allowed.stderr
    recipe = next(p for p in tomllib.loads(out.read_text())["packages"]
                  if p["name"] == "numpy")["tool"]["nixgen"]["recipe"]
    assert recipe["verdict"] == "infeasible"
    assert recipe["evidence"][0]["kind"] == "no-target-wheels"
    assert recipe["evidence"][0]["wheels-from"] == "2.1.0"
    planned = read_pylock(out).plans[0].package("numpy")
    assert planned is not None and planned.recipe.verdict == "infeasible"
    assert planned.recipe.evidence[0].wheel_pythons == ("cp311", "cp312")
    assert planned.pin.release is not None and planned.pin.release.wheels_from == "2.1.0"
    # report --json and explain read it from the lock.
    report = json.loads(nixgen("report", out, "--json").stdout)
    numpy = next(p for p in report["systems"][0]["packages"] if p["name"] == "numpy")
    assert numpy["verdict"] == "infeasible" and "wheels stop at cp312" in numpy["verdict-text"]
    explained = nixgen("explain", "numpy", out)
    assert explained.returncode == 0, explained.stderr
    assert "build feasibility: infeasible" in explained.stdout
    assert "the project's first release with wheels for Python 3.13 is 2.1.0 (infeasible)" in explained.stdout


def test_old_pandas_and_scikit_learn_fail_on_3_13_and_auto_finds_3_11(old_pins: IndexServer,
                                                                       tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("scikit-learn==1.2.0\npandas==1.5.0\n")
    proc = nixgen(req, *_common(old_pins, tmp_path))
    assert proc.returncode == 11, proc.stderr
    assert "pandas 1.5.0 cannot be built from source for python313" in proc.stderr
    assert "scikit-learn 1.2.0 cannot be built from source for python313" in proc.stderr
    assert "its wheels stop at cp311, none for Python 3.13; uploaded 2022-09-19" in proc.stderr
    assert "hint: pass --python 3.11" in proc.stderr
    assert "pandas>=2.2.3" in proc.stderr and "scikit-learn>=1.5.2" in proc.stderr
    # --python auto: the first interpreter whose plan has no infeasible build.
    out = tmp_path / "pylock.toml"
    auto = nixgen("lock", req, "--python", "auto", "-o", out, *_common(old_pins, tmp_path))
    assert auto.returncode == 0, auto.stderr
    lock = read_pylock(out)
    plan = lock.plans[0]
    assert plan.interpreter == "python311"
    assert {p.name: p.provider for p in plan.packages} == {"numpy": "wheel", "pandas": "wheel",
                                                           "scikit-learn": "wheel"}
    # Their wheels were built before numpy 2.0: numpy<2 is added, and said with its source.
    numpy = plan.package("numpy")
    assert numpy is not None and numpy.version == "1.26.4"
    pandas = plan.package("pandas")
    assert pandas is not None and pandas.pin.added == ("numpy<2",)
    assert ("constraint: numpy<2 added to pandas 1.5.0: a wheel with native code, uploaded 2022-09-19, before "
            "numpy 2.0 (2024-06-16), is built against numpy 1.x's ABI") in auto.stderr


def test_crick_is_infeasible_on_3_13_for_numpy_distutils(run: Any, tmp_path: Path) -> None:
    proc = run(DATA / "crick.txt", "--system", "x86_64-linux")
    assert proc.returncode == 11, proc.stderr
    assert "crick 0.0.3 cannot be built from source for python313 on x86_64-linux" in proc.stderr
    assert ("its setup.py imports numpy.distutils, which left numpy in 2.0 (and numpy 1.26 has none on Python "
            "3.12 and later): numpy 2.4.2 has none") in proc.stderr
    assert "crick>=0.0.8" in proc.stderr and "--allow-infeasible" in proc.stderr


def test_a_forced_sdist_of_a_release_with_wheels_for_the_target_is_ok(old_pins: IndexServer,
                                                                      tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("numpy==2.3.5\n")
    out = tmp_path / "pylock.toml"
    proc = nixgen("lock", req, "--provider", "numpy=sdist", "-o", out, *_common(old_pins, tmp_path))
    assert proc.returncode == 0, proc.stderr
    numpy = read_pylock(out).plans[0].package("numpy")
    assert numpy is not None and numpy.provider == "sdist" and numpy.recipe.verdict == "ok"
    assert [e.kind for e in numpy.recipe.evidence] == ["target-wheels"]
    # Built from nixpkgs' own numpy expression at 2.3.5: its native inputs kept, its patches dropped.
    assert numpy.recipe.inherits == "numpy"
    flake = nixgen(out)
    assert flake.returncode == 0, flake.stderr
    assert "numpy = pyPrev.numpy.overridePythonAttrs (old: {" in flake.stdout
    assert "# from nixpkgs' own numpy expression (made for 2.4.2): keeps its native inputs" in flake.stdout
    summary = {p["pname"]: p for p in eval_flake(flake.stdout, "packages.x86_64-linux.default.summary", tmp_path)}
    built = summary["numpy"]
    assert built["version"] == "2.3.5" and built["origin"] == "nixgen"
    assert built["src"].endswith("/files/numpy-2.3.5.tar.gz")
    assert sorted(n.split("-")[0] for n in built["nativeBuildInputs"]) == ["gfortran", "pkg"]
    assert sorted(n.split("-")[0] for n in built["buildInputs"]) == ["blas", "lapack"]
    assert built["build-system"] == ["setuptools"] and built["doCheck"] is False
    attr = "legacyPackages.x86_64-linux.python313.pkgs.numpy"
    assert eval_flake(flake.stdout, f"{attr}.patches", tmp_path) == []
    # nixpkgs' own numpy (the fixture without the overlay) carries the patch the flake drops.
    nix_instantiate = shutil.which("nix-instantiate")
    assert nix_instantiate, "nix-instantiate is required (Debian package nix-bin)"
    expr = f"(import {fixture_nixpkgs(tmp_path)} {{ }}).python313.pkgs.numpy.patches"
    own = subprocess.run([nix_instantiate, "--eval", "--strict", "--json", "--expr", expr], capture_output=True,
                         text=True, timeout=120)
    assert own.returncode == 0, own.stderr
    assert json.loads(own.stdout) == ["numpy-version-specific-fix.patch"]


def test_setup_py_imports_are_read_not_run() -> None:
    from nixgen.pypi.sourcefacts import scan_setup_py

    old = scan_setup_py("import os\nfrom numpy.distutils.core import setup\n# import distutils\n", False)
    assert old.numpy_distutils and not old.distutils and not old.pyproject
    plain = scan_setup_py("from distutils.core import setup, Extension\n", True)
    assert plain.distutils and not plain.numpy_distutils
    assert scan_setup_py("from setuptools import setup\n", True) == type(plain)(pyproject=True)


def test_the_last_release_of_an_abandoned_project_is_risky_and_one_left_behind_is_infeasible(
        tmp_path: Path, make_index_server: Callable[[Path], IndexServer]) -> None:
    """box2d-py 2.3.8 (wheels up to cp37, no later release; its sdist builds on 3.13 with swig) against a
    project whose old release has wheels up to cp37 while a later one went on to cp312 (none has cp313, so
    it is not that a newer release was needed for 3.13: the old one was left behind)."""
    fixture = FixtureIndex(tmp_path / "index")
    fixture.add_wheel("setuptools", "80.9.0")
    _release(fixture, "nixgen-abandoned", "2.3.8", ("cp37",), "2018-11-17T00:00:00Z")
    _release(fixture, "nixgen-moved-on", "1.0", ("cp37",), "2018-11-17T00:00:00Z")
    _release(fixture, "nixgen-moved-on", "3.0", ("cp311", "cp312"), "2024-01-10T00:00:00Z")
    server = make_index_server(fixture.write())
    req = tmp_path / "requirements.txt"
    req.write_text("nixgen-abandoned\n")
    out = tmp_path / "pylock.toml"
    ok = nixgen("lock", req, "-o", out, *_common(server, tmp_path))
    assert ok.returncode == 0, ok.stderr
    planned = read_pylock(out).plans[0].package("nixgen-abandoned")
    assert planned is not None and planned.provider == "sdist" and planned.recipe.verdict == "risky"
    assert planned.pin.release is not None and planned.pin.release.later_wheels is None
    req.write_text("nixgen-moved-on==1.0\n")
    bad = nixgen(req, *_common(server, tmp_path))
    assert bad.returncode == 11, bad.stderr
    assert "nixgen-moved-on 1.0 cannot be built from source for python313" in bad.stderr
    assert "its wheels stop at cp37" in bad.stderr
