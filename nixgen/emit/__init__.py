"""Text out of plans: flake.nix, pylock.toml and reports."""
