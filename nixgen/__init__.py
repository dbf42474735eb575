"""nixgen: a Python project's requirements as a reproducible Nix flake."""

__version__ = "0.1.0"
