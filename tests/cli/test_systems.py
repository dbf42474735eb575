"""Several Nix systems in one flake: markers and wheel tags per system, shared pins written once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import nixgen
from tests.indexserver import FixtureIndex
from tests.nixcheck import assert_nix_parses
from tests.nixeval import eval_flake

REQS = """\
loopy-nixgen; sys_platform != "win32"
pywin32; sys_platform == "win32"
macnote-nixgen; sys_platform == "darwin"
"""


@pytest.fixture()
def index(tmp_path: Path, make_index_server: Any) -> Any:
    fixture = FixtureIndex(tmp_path / "index")
    fixture.add_wheel("loopy-nixgen", "0.21.0", tag="cp313-cp313-manylinux_2_17_x86_64")
    fixture.add_wheel("loopy-nixgen", "0.21.0", tag="cp313-cp313-macosx_11_0_arm64")
    fixture.add_wheel("pywin32", "311", tag="cp313-cp313-win_amd64")
    fixture.add_wheel("macnote-nixgen", "0.1.4")
    fixture.add_wheel("linuxonly", "1.0", tag="cp313-cp313-manylinux_2_17_x86_64")
    return make_index_server(fixture.write())


def generate(tmp_path: Path, index: Any, text: str, *args: Any) -> Any:
    req = tmp_path / "requirements.txt"
    req.write_text(text)
    return nixgen(req, "--index-url", index.url, "--cache-dir", tmp_path / "cache",
                  "--system", "x86_64-linux", "--system", "aarch64-darwin", *args)


def summary(flake: str, system: str, tmp_path: Path) -> dict[str, Any]:
    return {p["pname"]: p for p in eval_flake(flake, f"packages.{system}.default.summary", tmp_path)}


def test_each_system_gets_its_own_correct_package_set(tmp_path: Path, index: Any) -> None:
    proc = generate(tmp_path, index, REQS, "-q")
    assert proc.returncode == 0, proc.stderr
    flake = proc.stdout
    assert_nix_parses(flake)
    linux = summary(flake, "x86_64-linux", tmp_path)
    darwin = summary(flake, "aarch64-darwin", tmp_path)
    assert set(linux) == {"loopy-nixgen"}
    assert set(darwin) == {"loopy-nixgen", "macnote-nixgen"}
    assert "manylinux" in linux["loopy-nixgen"]["src"] and "macosx" in darwin["loopy-nixgen"]["src"]
    # macnote-nixgen is the same wheel wherever it is used, but only darwin uses it: written once, in darwin's part.
    assert flake.count("macnote-nixgen = pyFinal.buildPythonPackage") == 1
    assert "pywin32" not in flake


def test_a_system_that_cannot_resolve_is_reported_and_the_others_generate(tmp_path: Path, index: Any) -> None:
    proc = generate(tmp_path, index, REQS + "linuxonly\n")
    assert proc.returncode == 0, proc.stderr
    assert '"aarch64-darwin"' not in proc.stdout.split("systems = [")[1].split("];")[0]
    assert "not generated for aarch64-darwin" in proc.stdout
    assert "linuxonly" in proc.stdout.split("not generated for aarch64-darwin")[1].splitlines()[0]
    assert set(summary(proc.stdout, "x86_64-linux", tmp_path)) == {"loopy-nixgen", "linuxonly"}


def test_multi_system_lock_round_trips(tmp_path: Path, index: Any) -> None:
    lock = tmp_path / "pylock.toml"
    assert generate(tmp_path, index, REQS, "-q", "-o", tmp_path / "direct.nix").returncode == 0
    req = tmp_path / "requirements.txt"
    made = nixgen("lock", req, "--index-url", index.url, "--cache-dir", tmp_path / "cache", "--system",
                  "x86_64-linux", "--system", "aarch64-darwin", "-q", "-o", lock)
    assert made.returncode == 0, made.stderr
    text = lock.read_text()
    assert 'marker = "sys_platform == \\"darwin\\" and platform_machine == \\"arm64\\""' in text
    assert nixgen(lock, "-q").stdout == (tmp_path / "direct.nix").read_text()
    assert nixgen("lock", lock, "-q").stdout == text
