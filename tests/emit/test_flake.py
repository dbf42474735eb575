"""The flake template: valid Nix, every planned package in its place, deterministic."""

from pathlib import Path

from nixgen.emit.flake import render_flake
from nixgen.lock.model import NixpkgsPin
from nixgen.plan.model import Plan, PlannedPackage
from nixgen.resolve.model import Artifact
from tests.nixcheck import assert_nix_parses
from tests.planhelp import planned

PIN = NixpkgsPin(rev="46db2e09e1d3f113a13c0d7b81e2f221c63b8ce9",
                 nar_hash="sha256-4hAV26quOxdC6iyG7kYaZcM3VOskcPUrdCQd/nx8obc=", note="test snapshot")
HEX = "ed8a17e201abd829ef8da78a0b6f4d51fb99a4cbd0554adbed3309297f964314"


def _pkg(name: str, provider: str, *, dependencies: tuple[str, ...] = (), build_system: tuple[str, ...] = (),
         **kw: object) -> PlannedPackage:
    return planned(name, provider, dependencies, build_system, **kw)


def _plan() -> Plan:
    return Plan(
        interpreter="python313", python_version="3.13.12", system="x86_64-linux", roots=(),
        packages=(
            _pkg("numpy", "nixpkgs"),
            _pkg("fastwheel", "wheel", artifact=Artifact("fastwheel-1.0-cp313-cp313-manylinux_2_17_x86_64.whl",
                                                       "http://127.0.0.1/files/fastwheel.whl", HEX),
                 native_code=True, dependencies=("numpy",)),
            _pkg("3to2", "wheel", artifact=Artifact("3to2-1.0-py3-none-any.whl", "http://h/3to2.whl", HEX)),
            _pkg("pyworld", "sdist", artifact=Artifact("pyworld-1.0.tar.gz", 'http://h/a"b${c}.tar.gz', HEX),
                 build_system=("cython", "numpy", "setuptools"), dependencies=("numpy",)),
            _pkg("cython", "nixpkgs", runtime=False),
            _pkg("setuptools", "nixpkgs", runtime=False),
        ),
        relaxations=(), notes=(),
    )


def test_flake_parses_and_places_every_package() -> None:
    text = render_flake([_plan()], PIN, ["from: requirements.txt"])
    assert_nix_parses(text)
    assert 'rev = "46db2e09e1d3f113a13c0d7b81e2f221c63b8ce9";' in text
    assert "narHash = \"sha256-4hAV26quOxdC6iyG7kYaZcM3VOskcPUrdCQd/nx8obc=\";" in text
    # Overlay: only the packages not taken from nixpkgs as they are.
    assert "fastwheel = pyFinal.buildPythonPackage {" in text
    assert '"3to2" = pyFinal.buildPythonPackage {' in text
    assert "pyworld = pyFinal.buildPythonPackage {" in text
    assert "numpy = pyFinal.buildPythonPackage" not in text
    # Native wheels are patched, pure ones are not.
    assert "autoPatchelfHook" in text.split("fastwheel = ")[1].split("doCheck")[0]
    assert "autoPatchelfHook" not in text.split('"3to2" = ')[1].split("doCheck")[0]
    assert "dependencies = [ ];" in text.split('"3to2" = ')[1].split("doCheck")[0]
    # sdists build with their build system from the same set.
    sdist = text.split("pyworld = ")[1].split("doCheck")[0]
    assert "pyproject = true;" in sdist
    assert "pyFinal.cython" in sdist and "pyFinal.setuptools" in sdist
    assert 'url = "http://h/a\\"b\\${c}.tar.gz";' in sdist
    # The environment holds runtime packages only.
    env = text.split("withPackages (ps: [")[1].split("]);")[0]
    assert "ps.numpy" in env and "ps.pyworld" in env and 'ps."3to2"' in env
    assert "ps.cython" not in env and "ps.setuptools" not in env


def test_flake_is_byte_identical_for_the_same_plan() -> None:
    assert render_flake([_plan()], PIN, ["x"]) == render_flake([_plan()], PIN, ["x"])


def test_templates_compiled_into_the_cache_dir_render_the_same_bytes(tmp_path: Path) -> None:
    plain = render_flake([_plan()], PIN, ["from: requirements.txt"])
    cold = render_flake([_plan()], PIN, ["from: requirements.txt"], cache_dir=tmp_path / "cache")
    compiled = sorted((tmp_path / "cache" / "templates").glob("*/*.cache"))
    assert len(compiled) >= 4  # flake, overlay and its macros, environment, image
    assert render_flake([_plan()], PIN, ["from: requirements.txt"], cache_dir=tmp_path / "cache") == cold == plain
    assert sorted((tmp_path / "cache" / "templates").glob("*/*.cache")) == compiled
    for path in compiled:
        path.write_bytes(b"not a compiled template")  # unreadable entries are compiled again
    assert render_flake([_plan()], PIN, ["from: requirements.txt"], cache_dir=tmp_path / "cache") == plain
    assert all(path.read_bytes() != b"not a compiled template" for path in compiled)  # and kept again
    (tmp_path / "file").write_text("")
    assert render_flake([_plan()], PIN, ["from: requirements.txt"], cache_dir=tmp_path / "file") == plain


def test_all_nixpkgs_plan_has_an_empty_overlay() -> None:
    plan = Plan(interpreter="python313", python_version="3.13.12", system="x86_64-linux", roots=("numpy",),
                packages=(_pkg("numpy", "nixpkgs", requested=True),), relaxations=(), notes=())
    text = render_flake([plan], PIN, [])
    assert_nix_parses(text)
    assert "buildPythonPackage" not in text
    extension = text.split("pythonPackagesExtensions = prev.pythonPackagesExtensions ++ [")[1].split("];")[0]
    assert extension.split("else")[1].split() == ["{", "}", ")"]
