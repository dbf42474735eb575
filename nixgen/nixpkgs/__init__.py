"""The nixpkgs side: snapshots of nixpkgs' Python package sets and the native libraries beside them."""
