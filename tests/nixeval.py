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
          "libsodium", "libxml2", "libxslt", "openssl", "proj", "zlib", "pkg-config", "blas", "lapack", "gfortran")


def _nix() -> str:
    nix = shutil.which("nix")
    assert nix, "nix is required (Debian package nix-bin)"
    return nix


# What the fixture's nixpkgs builds a few packages with, as nixpkgs does (pyproj's and shapely's build
# systems include cython, which no package metadata says): the truth `nixgen verify` is checked against.
NIXPKGS_EDGES: dict[str, dict[str, list[str]]] = {
    "pyproj": {"deps": ["certifi"], "buildDeps": ["cython"]},
    "shapely": {"deps": ["numpy"], "buildDeps": ["cython", "numpy"]},
    # nixpkgs' numpy expression (pkgs/development/python-modules/numpy/2.nix): gfortran and pkg-config to
    # build, BLAS and LAPACK to link; the patch stands for its version-specific fixes.
    "numpy": {"nativeBuildInputs": ["gfortran", "pkg-config"], "buildInputs": ["blas", "lapack"],
              "patches": ["numpy-version-specific-fix.patch"]},
    # nixpkgs' numpy_1 (pkgs/development/python-modules/numpy/1.nix, cited in nixgen/nixpkgs/data/
    # versioned-attrs.toml): the same native inputs, its own patch.
    "numpy_1": {"nativeBuildInputs": ["gfortran", "pkg-config"], "buildInputs": ["blas", "lapack"],
                "patches": ["disable-failing-long-double-test-Rosetta-2.patch"]},
}


@lru_cache(maxsize=1)
def fixture_nixpkgs(workdir: Path) -> Path:
    """A copy of the fixture with ``packages.json`` made from the embedded snapshot."""
    dest = workdir / "nixpkgs"
    shutil.copytree(FIXTURE, dest)
    snap = Snapshot.load()
    sets: dict[str, dict[str, dict[str, Any]]] = {}
    interpreters: dict[str, str] = {}
    from nixgen.nixpkgs.versioned import curated

    for interp, version in snap.interpreters.items():
        interpreters[interp] = version
        packages: dict[str, dict[str, Any]] = {}
        try:
            pyset = snap.python_set(interp)
            packages = {a: {"pname": p.pypi_name, "version": p.version, **NIXPKGS_EDGES.get(a, {})}
                        for a, p in pyset.packages.items()}
        except KeyError:
            pass
        # What nixpkgs has beyond the snapshot's data: the curated versioned attrs, where not disabled.
        for expr in curated():
            if expr.attr not in packages and (expr.python is None or expr.python.contains(version)):
                packages[expr.attr] = {"pname": expr.name, "version": expr.version, **NIXPKGS_EDGES.get(expr.attr, {})}
        if packages:
            sets[f"{interp}Packages"] = packages
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


def fixture_out_paths(workdir: Path, interpreter: str, attrs: list[str],
                      system: str = "x86_64-linux") -> dict[str, str]:
    """The out paths of ``attrs`` in the fixture nixpkgs as it is (no overlay): what its binary cache holds."""
    nixpkgs = fixture_nixpkgs(workdir)
    fields = " ".join(f'"{a}" = ps."{a}".outPath;' for a in attrs)
    expr = f'let ps = (import {nixpkgs} {{ system = "{system}"; }}).{interpreter}.pkgs; in {{ {fields} }}'
    nix_instantiate = shutil.which("nix-instantiate")
    assert nix_instantiate, "nix-instantiate is required (Debian package nix-bin)"
    proc = subprocess.run([nix_instantiate, "--eval", "--strict", "--json", "--expr", expr],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))
