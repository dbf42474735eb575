"""Evaluate a flake generated inside a project's own directory (its ``src`` is that directory), with its
nixpkgs input replaced by the fixture nixpkgs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.nixeval import fixture_nixpkgs


def eval_project_flake(flake_dir: Path, attr: str, workdir: Path, *, raw: bool = False,
                       apply: str | None = None) -> Any:
    """``nix eval --json`` (or ``--raw``) of ``attr`` in ``flake_dir/flake.nix`` (``--apply`` a function)."""
    nix = shutil.which("nix")
    assert nix, "nix is required (Debian package nix-bin)"
    nixpkgs = fixture_nixpkgs(workdir)
    proc = subprocess.run(
        [nix, "--extra-experimental-features", "nix-command flakes", "eval", "--raw" if raw else "--json",
         "--no-write-lock-file", "--override-input", "nixpkgs", f"path:{nixpkgs}", f"path:{flake_dir}#{attr}",
         *(["--apply", apply] if apply else [])],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, f"nix eval {attr} failed:\n{proc.stderr}"
    return proc.stdout if raw else json.loads(proc.stdout)
