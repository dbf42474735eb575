"""The vocabulary and facts every stage shares: kinds, Nix text (escaping, paths), targets."""
