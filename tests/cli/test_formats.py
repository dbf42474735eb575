"""Outputs besides the flake (default.nix + shell.nix, overlay.nix) and the container image: each evaluates
against the fixture nixpkgs with the same packages as the flake."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import nixgen
from tests.indexserver import FixtureIndex
from tests.nixcheck import assert_nix_parses
from tests.nixeval import eval_flake, fixture_nixpkgs


@pytest.fixture()
def made(tmp_path: Path, make_index_server: Any) -> tuple[Path, tuple[Any, ...]]:
    fixture = FixtureIndex(tmp_path / "index")
    fixture.add_wheel("nixgen-alpha", "1.0", requires=["nixgen-beta"])
    fixture.add_wheel("nixgen-beta", "2.0")
    server = make_index_server(fixture.write())
    req = tmp_path / "requirements.txt"
    req.write_text("nixgen-alpha\n")
    common = ("--index-url", server.url, "--cache-dir", tmp_path / "cache", "--system", "x86_64-linux",
              "--system", "aarch64-darwin", "-q")
    return req, common


def _instantiate(expr: str) -> Any:
    nix = shutil.which("nix-instantiate")
    assert nix, "nix-instantiate is required (Debian package nix-bin)"
    proc = subprocess.run([nix, "--eval", "--strict", "--json", "--expr", expr], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _names(summary: Any) -> list[tuple[str, str]]:
    return sorted((p["pname"], p["version"]) for p in summary)


def test_default_nix_and_shell_nix_hold_the_flakes_packages(made: tuple[Path, tuple[Any, ...]],
                                                            tmp_path: Path) -> None:
    req, common = made
    flake = nixgen(req, *common)
    assert flake.returncode == 0, flake.stderr
    out = tmp_path / "classic"
    proc = nixgen(req, "--format", "nix", "-o", out, *common)
    assert proc.returncode == 0, proc.stderr
    default, shell = (out / "default.nix").read_text(), (out / "shell.nix").read_text()
    assert_nix_parses(default)
    assert_nix_parses(shell)
    assert "builtins.fetchTarball {" in default and 'sha256 = "sha256-' in default
    assert "archive/46db2e09e1d3f113a13c0d7b81e2f221c63b8ce9.tar.gz" in default
    nixpkgs = fixture_nixpkgs(tmp_path)
    classic = _instantiate(f'(import {out}/default.nix {{ nixpkgs = {nixpkgs}; system = "x86_64-linux"; }}).summary')
    flaky = eval_flake(flake.stdout, "packages.x86_64-linux.default.summary", tmp_path)
    assert _names(classic) == _names(flaky) == [("nixgen-alpha", "1.0"), ("nixgen-beta", "2.0")]
    entered = _instantiate(f'(import {out}/shell.nix {{ nixpkgs = {nixpkgs}; system = "x86_64-linux"; }}).name')
    assert entered == "nix-shell"
    missing = nixgen(req, "--format", "nix", *common)
    assert missing.returncode == 2 and "-o DIR" in missing.stderr


def test_overlay_nix_applies_to_a_nixpkgs_import(made: tuple[Path, tuple[Any, ...]], tmp_path: Path) -> None:
    req, common = made
    out = tmp_path / "mine" / "overlay.nix"
    proc = nixgen(req, "--format", "overlay", "-o", out, *common)
    assert proc.returncode == 0, proc.stderr
    assert (out.parent / "pylock.toml").is_file()  # to make it again
    nixpkgs = fixture_nixpkgs(tmp_path)
    summary = _instantiate(f"let pkgs = import {nixpkgs} {{ overlays = [ (import {out}) ]; }}; in "
                           "(pkgs.python313.withPackages (ps: [ ps.nixgen-alpha ps.nixgen-beta ])).summary")
    assert _names(summary) == [("nixgen-alpha", "1.0"), ("nixgen-beta", "2.0")]
    again = nixgen(out.parent / "pylock.toml", "--format", "overlay", "-o", out, "--check")
    assert again.returncode == 0, again.stderr


def test_every_linux_system_has_an_image_and_darwin_none(made: tuple[Path, tuple[Any, ...]], tmp_path: Path) -> None:
    req, common = made
    proc = nixgen(req, *common, "--image-cmd", "python3 -m nixgen_alpha")
    assert proc.returncode == 0, proc.stderr
    def image(field: str) -> Any:
        return eval_flake(proc.stdout, f"packages.x86_64-linux.image.{field}", tmp_path)

    assert image("imageName") == "python-environment" and image("cmd") == ["python3", "-m", "nixgen_alpha"]
    assert image("contents") == ["python3.13-env"] and image("env")[0].startswith("PATH=/nix/store/")
    assert eval_flake(proc.stdout, "packages.aarch64-darwin", tmp_path).keys() == {"default"}
    assert "--image-cmd 'python3 -m nixgen_alpha'" in proc.stdout.splitlines()[1]  # recorded: the lock has it
