"""nixpkgs' versioned attributes (pydantic_1, sqlalchemy_1_4, django_6, …): a requirement that rules out the
canonical attribute's version is served by the versioned attribute that fits, from the binary cache, and that
attribute stands in for the canonical one in the whole set (so every dependent gets the same version)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from nixgen.lock.pylock import read_pylock
from nixgen.nixpkgs.snapshot import Snapshot
from tests.cli.conftest import nixgen
from tests.indexserver import FixtureIndex, IndexServer
from tests.nixeval import eval_flake, fixture_out_paths


@pytest.fixture()
def pydantics(tmp_path: Path, make_index_server: Callable[[Path], IndexServer]) -> IndexServer:
    """pydantic at the versions the embedded snapshot's pydantic and pydantic_1 have, and fastapi at
    nixpkgs' version (it accepts pydantic 1 as upstream's metadata does)."""
    pyset = Snapshot.load().python_set("python313")
    versions = {p.attr: p.version for p in pyset.attrs_for("pydantic")}
    assert versions == {"pydantic": "2.12.5", "pydantic_1": "1.10.24"}, versions
    fixture = FixtureIndex(tmp_path / "index")
    for version in ("1.10.24", "2.12.5"):
        fixture.add_wheel("pydantic", version, requires=["typing-extensions>=4.2"])
    fixture.add_wheel("pydantic", "1.10.26", requires=["typing-extensions>=4.2"])  # newer than nixpkgs' _1
    fixture.add_wheel("typing-extensions", pyset.packages["typing-extensions"].version)
    fixture.add_wheel("fastapi", pyset.packages["fastapi"].version, requires=["pydantic>=1.7.4,!=2.0.0"])
    return make_index_server(fixture.write())


def _common(server: IndexServer, tmp_path: Path) -> tuple[str | Path, ...]:
    return ("--index-url", server.url, "--cache-dir", tmp_path / "cache", "--system", "x86_64-linux")


def test_pydantic_below_2_is_nixpkgs_pydantic_1_from_the_cache(pydantics: IndexServer, tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("fastapi\npydantic<2\n")
    out = tmp_path / "pylock.toml"
    proc = nixgen("lock", req, "-o", out, *_common(pydantics, tmp_path))
    assert proc.returncode == 0, proc.stderr
    plan = read_pylock(out).plans[0]
    pydantic = plan.package("pydantic")
    assert pydantic is not None
    # nixpkgs' pydantic_1 (1.10.24), not the index's newer 1.10.26 built from a wheel.
    assert (pydantic.provider, pydantic.version, pydantic.attr) == ("nixpkgs", "1.10.24", "pydantic")
    assert pydantic.versioned_attr == "pydantic_1" and pydantic.replaces and pydantic.cache == "listed"
    report = json.loads(nixgen("report", out, "--json").stdout)
    states = {p["name"]: (p["status"], p["reason"]) for p in report["systems"][0]["packages"]}
    # pydantic_1's out path is in the cache; nixpkgs' fastapi would be rebuilt against it (its pydantic
    # changed), so min-build trades that rebuild for fastapi's wheel.
    assert states["pydantic"] == ("cached", "nixpkgs") and states["fastapi"] == ("fetch", "traded"), states
    flake = nixgen(out)
    assert flake.returncode == 0, flake.stderr
    assert "pydantic = pyPrev.pydantic_1;" in flake.stdout
    assert "nixpkgs' versioned attribute pydantic_1, in place of pydantic (2.12.5)" in flake.stdout
    summary = {p["pname"]: p for p in eval_flake(flake.stdout, "packages.x86_64-linux.default.summary", tmp_path)}
    assert summary["pydantic"]["version"] == "1.10.24" and summary["pydantic"]["origin"] == "nixpkgs"
    # The environment's pydantic is nixpkgs' own pydantic_1 derivation, so its cached out path.
    env_pydantic = eval_flake(flake.stdout, "legacyPackages.x86_64-linux.python313.pkgs.pydantic.outPath", tmp_path)
    assert env_pydantic == fixture_out_paths(tmp_path, "python313", ["pydantic_1"])["pydantic_1"]


def test_without_the_bound_the_canonical_attr_is_kept(pydantics: IndexServer, tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("pydantic\n")
    out = tmp_path / "pylock.toml"
    proc = nixgen("lock", req, "-o", out, *_common(pydantics, tmp_path))
    assert proc.returncode == 0, proc.stderr
    pydantic = read_pylock(out).plans[0].package("pydantic")
    assert pydantic is not None and pydantic.version == "2.12.5" and pydantic.versioned_attr is None
    assert "pyPrev.pydantic_1" not in nixgen(out).stdout


def test_versioned_attrs_are_those_named_after_their_version(tmp_path: Path) -> None:
    from nixgen.pypi.client import Index
    from nixgen.resolve.candidates import CandidateSource
    from nixgen.resolve.model import Provider
    from nixgen.resolve.target import Target

    pyset = Snapshot.load().python_set("python313")
    # sqlalchemy_1_3 is nixpkgs' alias for 1.4.54: only sqlalchemy_1_4 is offered for it.
    attrs = {p.attr: p.version for p in pyset.attrs_for("sqlalchemy")}
    assert attrs["sqlalchemy_1_3"] == attrs["sqlalchemy_1_4"] == "1.4.54"
    target = Target("python313", pyset.python_version, "x86_64-linux")
    # --provider X=nixpkgs: nixpkgs' candidates only, so the index is never asked.
    index = Index(["http://127.0.0.1:9/simple/"], cache_dir=tmp_path / "cache", offline=True)
    forced: dict[str, Provider] = {"sqlalchemy": "nixpkgs", "pytest": "nixpkgs"}
    source = CandidateSource(index=index, pyset=pyset, target=target, forced=forced)
    found = list(source.candidates("sqlalchemy", frozenset(), []))
    assert [(c.attr, str(c.version)) for c in found] == [("sqlalchemy", attrs["sqlalchemy"]),
                                                         ("sqlalchemy_1_4", "1.4.54")]
    assert [c.attr for c in source.candidates("pytest", frozenset(), [])] == ["pytest", "pytest_8_3", "pytest_7"]


LINUX = "manylinux_2_17_x86_64.manylinux2014_x86_64"


@pytest.fixture()
def numpys(tmp_path: Path, make_index_server: Callable[[Path], IndexServer]) -> IndexServer:
    """numpy 1.26.4 (wheels up to cp312, as the real release) and 2.3.5, each with an sdist."""
    fixture = FixtureIndex(tmp_path / "index")
    fixture.add_wheel("setuptools", "80.9.0")
    for version, pythons, uploaded in (("1.26.4", ("cp311", "cp312"), "2024-02-05T23:51:50Z"),
                                       ("2.3.5", ("cp311", "cp312", "cp313", "cp314"), "2025-11-16T22:49:19Z")):
        for py in pythons:
            fixture.add_wheel("numpy", version, tag=f"{py}-{py}-{LINUX}", upload_time=uploaded)
        fixture.add_sdist("numpy", version, {
            "PKG-INFO": f"Metadata-Version: 2.2\nName: numpy\nVersion: {version}\n",
            "pyproject.toml": '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n',
            "setup.py": "from setuptools import setup\nsetup()\n"}, upload_time=uploaded)
    return make_index_server(fixture.write())


def test_numpy_1_on_python_3_12_is_built_from_nixpkgs_numpy_1(numpys: IndexServer, tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("numpy<2\n")
    # The snapshot has no python312Packages (nix-index lists none), so numpy 1.26.4 is its cp312 wheel ...
    wheel = nixgen(req, "--python", "3.12", "-q", *_common(numpys, tmp_path))
    assert wheel.returncode == 0, wheel.stderr
    assert "numpy-1.26.4-cp312-cp312" in wheel.stdout and "pyPrev.numpy_1" not in wheel.stdout
    # ... and built from source, it is nixpkgs' numpy_1 expression (made for 1.x), not numpy's (2.x).
    out = tmp_path / "pylock.toml"
    proc = nixgen("lock", req, "--python", "3.12", "--provider", "numpy=sdist", "-o", out, *_common(numpys, tmp_path))
    assert proc.returncode == 0, proc.stderr
    numpy = read_pylock(out).plans[0].package("numpy")
    assert numpy is not None and numpy.provider == "sdist" and numpy.version == "1.26.4"
    assert (numpy.recipe.inherits, numpy.recipe.inherits_version) == ("numpy_1", "1.26.4")
    flake = nixgen(out)
    assert flake.returncode == 0, flake.stderr
    assert "numpy = pyPrev.numpy_1.overridePythonAttrs (old: {" in flake.stdout
    assert "# from nixpkgs' own numpy_1 expression (made for 1.26.4): keeps its native inputs" in flake.stdout
    attr = "legacyPackages.x86_64-linux.python312.pkgs.numpy"
    built = eval_flake(flake.stdout, f"{attr}.version", tmp_path), eval_flake(flake.stdout, f"{attr}.patches", tmp_path)
    assert built == ("1.26.4", [])
    summary = {p["pname"]: p for p in eval_flake(flake.stdout, "packages.x86_64-linux.default.summary", tmp_path)}
    assert sorted(n.split("-")[0] for n in summary["numpy"]["buildInputs"]) == ["blas", "lapack"]
    assert sorted(n.split("-")[0] for n in summary["numpy"]["nativeBuildInputs"]) == ["gfortran", "pkg"]
    assert summary["numpy"]["src"].endswith("/files/numpy-1.26.4.tar.gz")


def test_numpy_1_on_python_3_13_is_not_from_numpy_1_which_nixpkgs_disables_there(numpys: IndexServer,
                                                                                   tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("numpy<2\n")
    out = tmp_path / "pylock.toml"
    proc = nixgen("lock", req, "--allow-infeasible", "-o", out, *_common(numpys, tmp_path))
    assert proc.returncode == 0, proc.stderr
    numpy = read_pylock(out).plans[0].package("numpy")
    assert numpy is not None and numpy.recipe.verdict == "infeasible"
    # numpy_1 is disabled on Python >= 3.13 (evaluating it throws): the canonical expression is the recipe.
    assert numpy.recipe.inherits == "numpy" and numpy.recipe.inherits_version == "2.4.2"
