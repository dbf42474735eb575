"""The overrides layer end to end: native inputs, build requirements from the same set, missing deps, tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from nixgen.errors import OverrideError
from nixgen.nixpkgs.snapshot import Snapshot
from nixgen.overrides import load_overrides
from tests.cli.conftest import nixgen
from tests.indexserver import FixtureIndex
from tests.nixcheck import assert_nix_parses
from tests.nixeval import eval_flake

DATA = Path(__file__).parent / "data"


def summary(flake: str, tmp_path: Path) -> dict[str, dict[str, Any]]:
    assert_nix_parses(flake)
    return {p["pname"]: p for p in eval_flake(flake, "packages.x86_64-linux.default.summary", tmp_path)}


def generate(run: Any, *args: Any) -> str:
    proc = run(*args, "-q")
    assert proc.returncode == 0, proc.stderr
    return str(proc.stdout)


def test_pynacl_from_sdist_builds_against_system_libsodium(run: Any, tmp_path: Path) -> None:
    pkgs = summary(generate(run, DATA / "pynacl.txt", "--provider", "pynacl=sdist"), tmp_path)
    pynacl = pkgs["pynacl"]
    assert pynacl["origin"] == "nixgen"
    assert any(name.startswith("libsodium") for name in pynacl["buildInputs"])
    assert pynacl["env"] == {"SODIUM_INSTALL": "system"}
    assert "cffi" in pynacl["build-system"]
    assert pynacl["pythonImportsCheck"] == ["nacl"]
    assert pynacl["doCheck"] is False


# pyworld 0.3.3 builds with Cython < 3 and numpy < 2 only (overrides/pyworld.toml): tests/cli/test_build_pins.py
# plans it on Python 3.12 (and checks it compiles against the environment's numpy) and fails it on 3.13.


def test_crick_gets_the_build_requirements_it_does_not_declare(run: Any, tmp_path: Path) -> None:
    # crick 0.0.3 cannot build on Python 3.13 (its setup.py needs numpy.distutils: tests/cli/test_feasibility.py);
    # what its plan adds is still checked.
    pkgs = summary(generate(run, DATA / "crick.txt", "--allow-infeasible"), tmp_path)
    crick = pkgs["crick"]
    assert {"numpy", "cython"} <= set(crick["build-system"])
    # Cython < 3 for crick is a build-only pin: it gets its own attribute, the set's cython is untouched.
    assert any(d.startswith("python3.13-cython-0.29") for d in crick["build-system-drvs"])


def test_cartopy_from_sdist_has_geos_and_proj(run: Any, tmp_path: Path) -> None:
    flake = generate(run, DATA / "cartopy.txt", "--provider", "cartopy=sdist")
    cartopy = summary(flake, tmp_path)["cartopy"]
    assert cartopy["origin"] == "nixgen"
    assert cartopy["version"] == Snapshot.load().python_set().by_pypi_name("cartopy").version  # type: ignore[union-attr]
    for lib in ("geos", "proj"):
        assert any(n.startswith(lib) for n in cartopy["nativeBuildInputs"]), lib
        assert any(n.startswith(lib) for n in cartopy["buildInputs"]), lib


def test_an_overridden_nixpkgs_package_gets_every_dependency_of_its_new_version(
        tmp_path: Path, make_index_server: Any) -> None:
    fixture = FixtureIndex(tmp_path / "index")
    fixture.add_wheel("docrep", "9.9", requires=["six", "brand-new-dep>=1"])
    fixture.add_wheel("six", "1.17.0")
    fixture.add_wheel("brand-new-dep", "1.0")
    server = make_index_server(fixture.write())
    req = tmp_path / "requirements.txt"
    req.write_text("docrep>=9\n")
    proc = nixgen(req, "--index-url", server.url, "--cache-dir", tmp_path / "cache", "-q")
    assert proc.returncode == 0, proc.stderr
    pkgs = summary(proc.stdout, tmp_path)
    assert pkgs["docrep"]["origin"] == "nixgen" and pkgs["docrep"]["version"] == "9.9"
    assert sorted(pkgs["docrep"]["dependencies"]) == ["brand-new-dep", "six"]
    assert "brand-new-dep" in pkgs and pkgs["six"]["origin"] == "nixpkgs"


def test_user_overrides_and_tests_flag(run: Any, tmp_path: Path) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text('[docrep]\nenv = { DOCREP_FLAVOUR = "@zlib@/x" }\nimports = ["docrep"]\n')
    flake = generate(run, Path(__file__).resolve().parents[2] / "examples/rodeo/requirements.txt",
                     "--provider", "docrep=sdist", "--overrides", mine, "--tests")
    assert 'DOCREP_FLAVOUR = "${final.zlib}/x";' in flake
    docrep = summary(flake, tmp_path)["docrep"]
    assert docrep["doCheck"] is True
    assert docrep["pythonImportsCheck"] == ["docrep"]
    assert docrep["env"]["DOCREP_FLAVOUR"].endswith("/x")


def test_overrides_show(tmp_path: Path) -> None:
    proc = nixgen("overrides", "show", "PyNaCl")
    assert proc.returncode == 0
    assert "build-inputs: libsodium" in proc.stdout
    assert "env SODIUM_INSTALL = system" in proc.stdout
    assert "always from nixpkgs" in nixgen("overrides", "show", "gdal").stdout


@pytest.mark.parametrize("text,message", [
    ('source = "x"\n[[rule]]\nbuild-inputz = ["zlib"]\n', "unknown field(s) build-inputz"),
    ('source = "x"\n[[rule]]\nversions = "~~1"\n', "is not a PEP 440 range"),
    ('source = "x"\n[[rule]]\nbuild-inputs = ["no-such-lib-anywhere"]\n', "'no-such-lib-anywhere' is not a top-level"),
    ('[[rule]]\nbuild-inputs = ["zlib"]\n', "says nowhere where its facts come from"),
    ('source = "x"\n[[rule]]\nbuild-system = ["not a req!"]\n', "is not PEP 508"),
])
def test_invalid_override_data_names_file_and_entry(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "somepkg.toml").write_text(text)
    with pytest.raises(OverrideError) as info:
        load_overrides(Snapshot.load().knows_toplevel, directory=tmp_path)
    assert "somepkg.toml" in info.value.message
    assert message in info.value.message


def test_curated_data_loads_and_bad_user_file_fails_cleanly(tmp_path: Path) -> None:
    rules = load_overrides(Snapshot.load().knows_toplevel)
    for name in ("pynacl", "cartopy", "shapely", "pyproj", "fiona", "rasterio", "psycopg2", "mysqlclient",
                 "lxml", "pillow", "cryptography", "pygraphviz", "pycairo", "h5py", "gdal", "crick"):
        assert rules.applied(name, "99") or rules.applied(name, "0.0.3"), name
    bad = tmp_path / "mine.toml"
    bad.write_text("[docrep\n")
    proc = nixgen("overrides", "show", "docrep", "--overrides", bad)
    assert proc.returncode == 3
    assert "cannot read it as TOML" in proc.stderr and "Traceback" not in proc.stderr


def test_merged_rules_follow_the_version_and_the_data_cannot_change_after_loading(tmp_path: Path) -> None:
    (tmp_path / "somepkg.toml").write_text('source = "x"\n[[rule]]\nversions = "<2"\nbuild-inputs = ["zlib"]\n'
                                           '[[rule]]\nbuild-inputs = ["libsodium"]\nenv = { A = "1" }\n')
    rules = load_overrides(Snapshot.load().knows_toplevel, directory=tmp_path)
    old = rules.applied("SomePkg", "1.5")
    assert old.build_inputs == ("zlib", "libsodium") and old.env == (("A", "1"),)
    assert rules.applied("somepkg", "2.0").build_inputs == ("libsodium",)  # asked after 1.5: not its answer
    assert rules.applied("SOMEPKG", Version("1.5")) == old and not rules.applied("otherpkg", "1.5")
    with pytest.raises(TypeError):
        rules.rules["somepkg"] = ()  # type: ignore[index]
    assert rules.rules["somepkg"][0].versions is not None
