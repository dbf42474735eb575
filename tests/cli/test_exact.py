"""Exact mode: a snapshot evaluated from a nixpkgs checkout with Nix carries real edges into the prediction."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from nixgen.nixpkgs.snapshot import Snapshot
from tests.cli.conftest import nixgen
from tests.indexserver import FixtureIndex

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "nixpkgs"


def test_import_nixpkgs_edges_reach_the_prediction(tmp_path: Path, make_index_server: Any) -> None:
    checkout = tmp_path / "nixpkgs"
    shutil.copytree(FIXTURE, checkout)
    (checkout / "packages.json").write_text(json.dumps({
        "pythonSets": {"python313Packages": {
            "numpy": {"pname": "numpy", "version": "2.4.2"},
            # nixpkgs builds the stacker against numpy, which its own metadata never mentions.
            "nixgen-stacker": {"pname": "nixgen-stacker", "version": "1.0", "deps": ["numpy"]},
        }},
        "interpreters": {"python313": "3.13.12"},
        "native": {},
    }))
    snap = tmp_path / "snap"
    made = nixgen("nixpkgs", "import-nixpkgs", checkout, "-o", snap, "--rev", "0" * 40)
    assert made.returncode == 0, made.stderr
    assert "2 packages with 1 edges" in made.stderr
    assert (snap / "python313Packages.edges.tsv").read_text() == "nixgen-stacker\tnumpy\nnumpy\t\n"

    fixture = FixtureIndex(tmp_path / "index")
    fixture.add_wheel("nixgen-stacker", "1.0")
    fixture.add_wheel("numpy", "2.4.2", tag="cp313-cp313-manylinux_2_17_x86_64")
    fixture.add_wheel("numpy", "2.5.5", tag="cp313-cp313-manylinux_2_17_x86_64")
    server = make_index_server(fixture.write())
    req = tmp_path / "requirements.txt"
    req.write_text("nixgen-stacker\nnumpy>2.4.2\n")
    proc = nixgen("report", req, "--json", "--snapshot", snap, "--index-url", server.url,
                  "--cache-dir", tmp_path / "cache", "--strategy", "latest")
    assert proc.returncode == 0, proc.stderr
    pkgs = {p["name"]: p for p in json.loads(proc.stdout)["systems"][0]["packages"]}
    assert pkgs["numpy"]["provider"] == "wheel"
    assert pkgs["nixgen-stacker"]["status"] == "rebuild"
    assert pkgs["nixgen-stacker"]["cause"] == [{"name": "numpy", "old": "2.4.2", "new": "2.5.5"}]


def test_import_nixpkgs_needs_a_checkout_or_a_flake(tmp_path: Path) -> None:
    proc = nixgen("nixpkgs", "import-nixpkgs", tmp_path, "-o", tmp_path / "snap")
    assert proc.returncode == 3
    assert "is not a nixpkgs checkout" in proc.stderr and "Traceback" not in proc.stderr
    missing = nixgen("nixpkgs", "import-nixpkgs", tmp_path / "nope", "-o", tmp_path / "snap")
    assert missing.returncode == 3 and "nope: no such directory" in missing.stderr
    bad = nixgen("nixpkgs", "import-nixpkgs", f"path:{tmp_path / 'nope'}", "-o", tmp_path / "snap")
    assert bad.returncode == 3
    assert "is neither a nixpkgs checkout nor a flake reference Nix can fetch" in bad.stderr
    assert "Traceback" not in bad.stderr and not (tmp_path / "snap").exists()


def _checkout(tmp_path: Path) -> Path:
    """A fixture nixpkgs where, as in nixpkgs, pyproj is built with cython (which no metadata says)."""
    pyset = Snapshot.load().python_set()
    checkout = tmp_path / "nixpkgs"
    shutil.copytree(FIXTURE, checkout)

    def entry(attr: str, **edges: list[str]) -> dict[str, Any]:
        pkg = pyset.packages[attr]
        return {"pname": pkg.pypi_name, "version": pkg.version, **edges}

    (checkout / "packages.json").write_text(json.dumps({
        "pythonSets": {"python313Packages": {
            "certifi": entry("certifi"), "cython": entry("cython"),
            "pyproj": entry("pyproj", deps=["certifi"], buildDeps=["cython"]),
        }},
        "interpreters": {"python313": "3.13.12"},
        "native": {"proj": "proj-9.7.1"},
    }))
    return checkout


def test_import_nixpkgs_from_a_flake_reference(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path)
    by_path = nixgen("nixpkgs", "import-nixpkgs", checkout, "-o", tmp_path / "a")
    by_ref = nixgen("nixpkgs", "import-nixpkgs", f"path:{checkout}", "-o", tmp_path / "b")
    assert by_path.returncode == 0 and by_ref.returncode == 0, by_path.stderr + by_ref.stderr
    assert "3 packages with 2 edges" in by_ref.stderr
    for name in ("python313Packages.tsv", "python313Packages.edges.tsv"):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()
    assert (tmp_path / "b" / "python313Packages.edges.tsv").read_text().splitlines()[-1] == "pyproj\tcertifi,cython"
    meta = json.loads((tmp_path / "b" / "snapshot.json").read_text())["meta"]
    # The flake's locked narHash is recorded; a checkout has none unless given.
    assert meta["nar_hash"].startswith("sha256-") and meta["last_modified"] > 0
    assert meta["glibc_version"] == "2.42"  # manylinux wheels are judged by the evaluated glibc
    assert json.loads((tmp_path / "a" / "snapshot.json").read_text())["meta"]["nar_hash"] == ""


def test_exact_edges_predict_what_evaluation_confirms(tmp_path: Path, index_server: Any,
                                                      binary_cache: tuple[str, Path]) -> None:
    checkout = _checkout(tmp_path)
    assert nixgen("nixpkgs", "import-nixpkgs", f"path:{checkout}", "-o", tmp_path / "exact").returncode == 0
    req = tmp_path / "requirements.txt"
    req.write_text("pyproj\ncython==0.29.37\n")
    common = ("--snapshot", tmp_path / "exact", "--index-url", index_server.url, "--cache-dir", tmp_path / "cache",
              "--exclude-newer", "2026-11-01", "--system", "x86_64-linux")
    # min-build plans with the snapshot's edges, the same cost model the report shows: it sees pyproj rebuild
    # against the older cython and takes pyproj as a wheel instead.
    least = nixgen("report", req, "--json", *common)
    assert least.returncode == 0, least.stderr
    chosen = json.loads(least.stdout)["systems"][0]
    assert {p["name"]: p["status"] for p in chosen["packages"]}["pyproj"] == "fetch"
    assert [t["name"] for t in chosen["trades"]] == ["pyproj"]
    common = (*common, "--provider", "pyproj=nixpkgs")  # kept from nixpkgs: it rebuilds
    report = nixgen("report", req, "--json", *common)
    assert report.returncode == 0, report.stderr
    pkgs = {p["name"]: p for p in json.loads(report.stdout)["systems"][0]["packages"]}
    assert pkgs["pyproj"]["status"] == "rebuild"
    assert pkgs["pyproj"]["cause"] == [{"name": "cython", "old": pkgs["cython"]["nixpkgs-version"], "new": "0.29.37"}]
    # The snapshot names no revision, so the flake pins the flake reference it was evaluated from.
    flake = nixgen(req, *common)
    assert flake.returncode == 0, flake.stderr
    assert f'inputs.nixpkgs.url = "path:{checkout}?' in flake.stdout and 'rev = "unknown"' not in flake.stdout
    # The binary cache holds what the checkout builds as it is (the snapshot's out paths); evaluation
    # agrees that pyproj rebuilds, and finds the exact snapshot's out paths where it predicted them.
    url, root = binary_cache
    for pkg in Snapshot.read(tmp_path / "exact").python_set().packages.values():
        (root / f"{pkg.out_hash}.narinfo").write_text(f"StorePath: {pkg.out_path}\n")
    proc = nixgen("verify", req, *common, "--substituter", url, "--nixpkgs", f"path:{checkout}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok   pyproj: predicted rebuild, binary cache: missing" in proc.stdout
    assert "ok   certifi: predicted cached, binary cache: cached" in proc.stdout
    assert "DIFF" not in proc.stdout and "other than the snapshot's" not in proc.stdout
