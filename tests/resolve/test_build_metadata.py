"""Metadata that needs a build (PEP 517 hook, isolated) and build requirements mapped onto the same set."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from nixgen.errors import MetadataError
from nixgen.pypi import Index
from tests.indexserver import FixtureIndex, IndexServer
from tests.resolve.test_resolve import nixset, providers, run

BACKEND = '''
import os

def get_requires_for_build_wheel(config_settings=None):
    return []

def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    # Dependencies decided when the backend runs: nothing static says them.
    path = os.path.join(metadata_directory, "dyn-1.0.dist-info")
    os.makedirs(path)
    with open(os.path.join(path, "METADATA"), "w") as handle:
        handle.write("Metadata-Version: 2.1\\nName: dyn\\nVersion: 1.0\\nRequires-Dist: nixgen-alpha>=1\\n")
    return "dyn-1.0.dist-info"

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise RuntimeError("not needed to read metadata")
'''


@pytest.fixture()
def index(tmp_path: Path, make_index_server: Callable[[Path], IndexServer]) -> Callable[[], Index]:
    fixture = FixtureIndex(tmp_path / "index")
    fixture.add_sdist("dyn", "1.0", {
        "PKG-INFO": "Metadata-Version: 2.1\nName: dyn\nVersion: 1.0\n",
        "pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n',
        "backend.py": BACKEND,
    })
    fixture.add_sdist("oldnum", "1.0", {
        "PKG-INFO": "Metadata-Version: 2.2\nName: oldnum\nVersion: 1.0\n",
        "pyproject.toml": '[build-system]\nrequires = ["oldest-supported-numpy", "setuptools>=40"]\n',
    })
    fixture.add_wheel("nixgen-alpha", "1.0")
    server = make_index_server(fixture.write())
    return lambda: Index([server.url], cache_dir=tmp_path / "cache")


def test_dynamic_dependencies_come_from_the_build_backend(index: Callable[[], Index],
                                                          capfd: pytest.CaptureFixture[str]) -> None:
    res = run(index(), "dyn\n", None)
    assert providers(res) == {"dyn": ("1.0", "sdist"), "nixgen-alpha": ("1.0", "wheel")}
    assert res.pin("dyn").metadata_source == "build"  # type: ignore[union-attr]
    assert "running the build backend of dyn-1.0.tar.gz" in capfd.readouterr().err


def test_no_build_metadata_forbids_running_package_code(index: Callable[[], Index]) -> None:
    with pytest.raises(MetadataError, match="--no-build-metadata forbids running its build backend"):
        run(index(), "dyn\n", None, build_metadata=False)


def test_oldest_supported_numpy_is_the_sets_numpy(index: Callable[[], Index]) -> None:
    res = run(index(), "oldnum\n", nixset(numpy="2.4.2", setuptools="80.10.1"))
    assert res.pin("oldnum").build_requires == ("numpy", "setuptools")  # type: ignore[union-attr]
    assert providers(res)["numpy"] == ("2.4.2", "nixpkgs")


NO_HOOK = '''
def get_requires_for_build_wheel(config_settings=None):
    raise RuntimeError("the build backend must not run: a wheel of this version has the metadata")

def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    raise RuntimeError("the build backend must not run: a wheel of this version has the metadata")
'''


def test_an_sdists_dynamic_metadata_comes_from_a_wheel_for_another_platform(
        tmp_path: Path, make_index_server: Callable[[Path], IndexServer]) -> None:
    fixture = FixtureIndex(tmp_path / "index")
    fixture.add_sdist("macwheel", "1.0", {
        "PKG-INFO": "Metadata-Version: 2.1\nName: macwheel\nVersion: 1.0\n",
        "pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n',
        "backend.py": NO_HOOK,
    })
    mac = fixture.add_wheel("macwheel", "1.0", tag="cp313-cp313-macosx_11_0_arm64", requires=["nixgen-alpha>=1"])
    fixture.add_wheel("nixgen-alpha", "1.0")
    server = make_index_server(fixture.write())
    res = run(Index([server.url], cache_dir=tmp_path / "cache"), "macwheel\n", None)
    assert providers(res) == {"macwheel": ("1.0", "sdist"), "nixgen-alpha": ("1.0", "wheel")}
    pin = res.pin("macwheel")
    assert pin is not None and pin.metadata_file == mac["filename"] and pin.metadata_source == "pep658"
    assert pin.dependencies == ("nixgen-alpha",)
    assert res.pin("nixgen-alpha").metadata_file == "nixgen_alpha-1.0-py3-none-any.whl"  # type: ignore[union-attr]


def test_the_build_backend_runs_only_without_a_wheel_of_the_version(index: Callable[[], Index]) -> None:
    res = run(index(), "dyn\n", None)
    assert res.pin("dyn").metadata_file == "dyn-1.0.tar.gz"  # type: ignore[union-attr]
