"""The vocabulary and facts every stage shares: kinds, targets, errors, Nix paths."""
