"""Evaluate generated flakes with real Nix against the fixture nixpkgs (tests/fixtures/nixpkgs)."""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

from nixgen.nixpkgs.snapshot import Snapshot

FIXTURE = Path(__file__).parent / "fixtures" / "nixpkgs"
NATIVE = ("autoPatchelfHook", "cairo", "gdal", "geos", "graphviz", "hdf5", "libmysqlclient", "libpq",
          "libsodium", "libxml2", "libxslt", "openssl", "proj", "zlib", "pkg-config")


def _nix() -> str:
    nix = shutil.which("nix")
    assert nix, "nix is required (Debian package nix-bin)"
    return nix


@lru_cache(maxsize=1)
def fixture_nixpkgs(workdir: Path) -> Path:
    """A copy of the fixture with ``packages.json`` made from the embedded snapshot."""
    dest = workdir / "nixpkgs"
    shutil.copytree(FIXTURE, dest)
    snap = Snapshot.load()
    sets: dict[str, dict[str, dict[str, str]]] = {}
    interpreters: dict[str, str] = {}
    for interp, version in snap.interpreters.items():
        interpreters[interp] = version
        try:
            pyset = snap.python_set(interp)
        except KeyError:
            continue
        sets[pyset.packages_attr] = {a: {"pname": p.pypi_name, "version": p.version}
                                     for a, p in pyset.packages.items()}
    from nixgen.overrides import load_overrides

    wanted = set(NATIVE)
    for rules in load_overrides(snap.knows_toplevel).rules.values():
        for rule in rules:
            wanted |= {a.split(".")[0] for a in (*rule.native_build_inputs, *rule.build_inputs)}
            wanted |= {t for v in dict(rule.env).values() for t in v.split("@")[1::2] if t}
    native = {a: (n.store_name if (n := snap.native(a)) else a) for a in sorted(wanted)}
    (dest / "packages.json").write_text(json.dumps({"pythonSets": sets, "interpreters": interpreters,
                                                    "native": native}, sort_keys=True))
    return dest


def eval_flake(flake_text: str, attr: str, workdir: Path) -> Any:
    """``nix eval --json`` of ``attr`` in the flake, its nixpkgs input replaced by the fixture."""
    nixpkgs = fixture_nixpkgs(workdir)
    flake_dir = workdir / f"flake-{abs(hash(flake_text))}"
    flake_dir.mkdir(exist_ok=True)
    (flake_dir / "flake.nix").write_text(flake_text)
    proc = subprocess.run(
        [_nix(), "--extra-experimental-features", "nix-command flakes", "eval", "--json",
         "--no-write-lock-file", "--override-input", "nixpkgs", f"path:{nixpkgs}",
         f"path:{flake_dir}#{attr}"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, f"nix eval {attr} failed:\n{proc.stderr}"
    return json.loads(proc.stdout)
