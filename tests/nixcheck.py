"""Checks every generated flake goes through: Nix itself parses it."""

from __future__ import annotations

import shutil
import subprocess


def assert_nix_parses(text: str) -> None:
    """Fail unless ``nix-instantiate --parse`` accepts ``text``."""
    nix = shutil.which("nix-instantiate")
    assert nix, "nix-instantiate is required (Debian package nix-bin)"
    proc = subprocess.run([nix, "--parse", "-E", text], capture_output=True, text=True)
    assert proc.returncode == 0, f"Nix cannot parse the generated text:\n{proc.stderr}\n{text}"
