"""Darwin-correct output: macOS wheels up to the pinned nixpkgs' deployment target, no ELF patching for them,
and nixpkgs' x86_64-darwin deprecation said on stderr."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import nixgen
from tests.indexserver import FixtureIndex
from tests.nixcheck import assert_nix_parses
from tests.nixeval import eval_flake


@pytest.fixture()
def index(tmp_path: Path, make_index_server: Any) -> Any:
    fixture = FixtureIndex(tmp_path / "index")
    # A native wheel for Linux and for macOS 14.0 (the pinned nixpkgs' darwinMinVersion).
    fixture.add_wheel("sodiumish-nixgen", "1.0", tag="cp313-cp313-manylinux_2_17_x86_64")
    fixture.add_wheel("sodiumish-nixgen", "1.0", tag="cp313-cp313-macosx_14_0_arm64")
    # A newer release whose only macOS wheel needs macOS 15: it does not load at the pin.
    fixture.add_wheel("sodiumish-nixgen", "2.0", tag="cp313-cp313-macosx_15_0_arm64")
    fixture.add_wheel("purely-nixgen", "1.0")
    return make_index_server(fixture.write())


def generate(tmp_path: Path, index: Any, *args: Any, project: str = "sodiumish-nixgen") -> Any:
    req = tmp_path / "requirements.txt"
    req.write_text(f"{project}\n")
    mine = tmp_path / "mine.toml"
    mine.write_text('[sodiumish-nixgen]\nbuild-inputs = ["libsodium"]\n')
    return nixgen(req, "--index-url", index.url, "--cache-dir", tmp_path / "cache", "--overrides", mine, *args)


def test_a_macos_wheel_gets_no_elf_patching(tmp_path: Path, index: Any) -> None:
    darwin = generate(tmp_path, index, "--system", "aarch64-darwin", "-q")
    assert darwin.returncode == 0, darwin.stderr
    assert_nix_parses(darwin.stdout)
    assert "macosx_14_0_arm64" in darwin.stdout  # accepted at the pin; 2.0's macosx_15_0 wheel is not
    assert "sodiumish-nixgen 1.0 (wheel)" in darwin.stdout
    for linux_only in ("autoPatchelfHook", "stdenv.cc.cc.lib", "libsodium"):
        assert linux_only not in darwin.stdout
    package = {p["pname"]: p for p in eval_flake(darwin.stdout, "packages.aarch64-darwin.default.summary",
                                                 tmp_path)}["sodiumish-nixgen"]
    assert "macosx_14_0_arm64" in package["src"] and package["version"] == "1.0"
    # The Linux wheel of the same release is patched against nixpkgs' libraries: those its binaries link (this
    # synthetic wheel's hold no ELF file, so none), never the sdist's override inputs (libsodium).
    linux = generate(tmp_path, index, "--system", "x86_64-linux", "-q")
    assert linux.returncode == 0, linux.stderr
    assert "nativeBuildInputs = [ final.autoPatchelfHook ];" in linux.stdout
    assert "final.libsodium" not in linux.stdout


def test_x86_64_darwin_deprecation_is_on_stderr(tmp_path: Path, index: Any) -> None:
    proc = generate(tmp_path, index, "--system", "x86_64-darwin", "--system", "aarch64-darwin",
                    project="purely-nixgen")
    assert proc.returncode == 0, proc.stderr
    note = "note: x86_64-darwin: nixpkgs 26.05 is the last release supporting x86_64-darwin"
    assert note in proc.stderr
    assert note in proc.stdout  # and in the flake's header
    assert_nix_parses(proc.stdout)
    others = generate(tmp_path, index, "--system", "aarch64-darwin", project="purely-nixgen")
    assert others.returncode == 0, others.stderr
    assert "26.05" not in others.stderr + others.stdout
