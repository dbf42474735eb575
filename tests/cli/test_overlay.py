"""The overlay composes: nixgen extends nixpkgs' Python sets through pythonPackagesExtensions, guarded to the
target interpreter by its attribute name, so another overlay's Python changes survive beside it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.cli.conftest import nixgen
from tests.indexserver import FixtureIndex
from tests.nixeval import fixture_nixpkgs

OTHER_EXTENSION = """final: prev: {
  pythonPackagesExtensions = prev.pythonPackagesExtensions ++ [ (pyFinal: pyPrev: {
    theirs-by-extension = pyPrev.numpy // { pname = "theirs-by-extension"; };
  }) ];
}"""
OTHER_OVERRIDE = """final: prev: {
  python313 = prev.python313.override { packageOverrides = pyFinal: pyPrev: {
    theirs-by-override = pyPrev.numpy // { pname = "theirs-by-override"; };
  }; };
}"""


def _attrs(flake_dir: Path, nixpkgs: Path, other: str, interpreter: str) -> list[str]:
    nix = shutil.which("nix")
    assert nix, "nix is required (Debian package nix-bin)"
    apply = (f"ours: let pkgs = import {nixpkgs} {{ overlays = [ ours ({other}) ]; }}; "
             f"in builtins.filter (n: builtins.elem n [ \"nixgen-alpha\" \"theirs-by-extension\" "
             f"\"theirs-by-override\" ]) (builtins.attrNames pkgs.{interpreter}.pkgs)")
    proc = subprocess.run([nix, "--extra-experimental-features", "nix-command flakes", "eval", "--json", "--impure",
                           "--no-write-lock-file", "--override-input", "nixpkgs", f"path:{nixpkgs}",
                           f"path:{flake_dir}#overlays.default", "--apply", apply],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return sorted(json.loads(proc.stdout))


def test_the_overlay_keeps_other_overlays_python_changes(tmp_path: Path, make_index_server: Any) -> None:
    fixture = FixtureIndex(tmp_path / "index")
    fixture.add_wheel("nixgen-alpha", "1.0")
    server = make_index_server(fixture.write())
    req = tmp_path / "requirements.txt"
    req.write_text("nixgen-alpha\n")
    flake_dir = tmp_path / "flake"
    made = nixgen(req, "--index-url", server.url, "--cache-dir", tmp_path / "cache", "--system", "x86_64-linux",
                  "-q", "-o", flake_dir / "flake.nix")
    assert made.returncode == 0, made.stderr
    text = (flake_dir / "flake.nix").read_text()
    assert "pythonPackagesExtensions = prev.pythonPackagesExtensions ++ [" in text
    assert 'if (pyPrev.python.pythonAttr or null) != "python313" then' in text
    nixpkgs = fixture_nixpkgs(tmp_path)
    assert _attrs(flake_dir, nixpkgs, OTHER_EXTENSION, "python313") == ["nixgen-alpha", "theirs-by-extension"]
    assert _attrs(flake_dir, nixpkgs, OTHER_OVERRIDE, "python313") == ["nixgen-alpha", "theirs-by-override"]
    # Guarded by the attribute name: another interpreter's set is left alone.
    assert _attrs(flake_dir, nixpkgs, OTHER_EXTENSION, "python314") == ["theirs-by-extension"]
