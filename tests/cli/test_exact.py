"""Exact mode: a snapshot evaluated from a nixpkgs checkout with Nix carries real edges into the prediction."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

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
    pkgs = {p["name"]: p for p in json.loads(proc.stdout)["packages"]}
    assert pkgs["numpy"]["provider"] == "wheel"
    assert pkgs["nixgen-stacker"]["status"] == "rebuild"
    assert pkgs["nixgen-stacker"]["cause"] == ["numpy 2.4.2 → 2.5.5"]


def test_import_nixpkgs_needs_a_checkout(tmp_path: Path) -> None:
    proc = nixgen("nixpkgs", "import-nixpkgs", tmp_path, "-o", tmp_path / "snap")
    assert proc.returncode == 1
    assert "is not a nixpkgs checkout" in proc.stderr and "Traceback" not in proc.stderr
