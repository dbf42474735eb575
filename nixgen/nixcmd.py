"""The Nix command line: the one place that finds ``nix`` and turns on the features flakes need."""

from __future__ import annotations

import shutil

FLAKE_FEATURES = ("--extra-experimental-features", "nix-command flakes")


def flake_command() -> list[str] | None:
    """``nix`` with the ``nix-command`` and ``flakes`` features on, or None when Nix is not on PATH."""
    nix = shutil.which("nix")
    return None if nix is None else [nix, *FLAKE_FEATURES]
