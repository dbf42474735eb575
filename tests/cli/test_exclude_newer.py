"""--exclude-newer keeps nixpkgs' versions (the binary cache does not move) and still reads their
dependencies, from files uploaded after the date if need be."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli.conftest import nixgen
from tests.indexserver import FixtureIndex

# The embedded snapshot's versions of flask and its dependencies, all uploaded after 2025-01-01 except blinker.
NIXPKGS = {"flask": ("3.1.2", ["blinker>=1.9.0", "click>=8.1.3", "itsdangerous>=2.2.0", "jinja2>=3.1.2",
                               "markupsafe>=2.1.1", "werkzeug>=3.1.0"]),
           "werkzeug": ("3.1.6", ["markupsafe>=2.1.1"]), "click": ("8.3.1", []), "markupsafe": ("3.0.3", []),
           "itsdangerous": ("2.2.0", []), "jinja2": ("3.1.6", ["markupsafe>=2.0"])}


def test_exclude_newer_keeps_nixpkgs_versions_and_their_dependencies(tmp_path: Path,
                                                                     make_index_server: Any) -> None:
    fixture = FixtureIndex(tmp_path / "index")
    for name, (version, requires) in NIXPKGS.items():
        fixture.add_wheel(name, "0.1", upload_time="2024-01-01T00:00:00Z")
        fixture.add_wheel(name, version, requires=requires, upload_time="2025-09-01T00:00:00Z")
    fixture.add_wheel("blinker", "1.9.0", upload_time="2024-11-08T00:00:00Z")
    server = make_index_server(fixture.write())
    req = tmp_path / "requirements.txt"
    req.write_text("flask\n")
    proc = nixgen("report", req, "--json", "--index-url", server.url, "--cache-dir", tmp_path / "cache",
                  "--exclude-newer", "2025-01-01", "--system", "x86_64-linux")
    assert proc.returncode == 0, proc.stderr
    pkgs = {p["name"]: p for p in json.loads(proc.stdout)["systems"][0]["packages"]}
    assert {n: (p["version"], p["provider"]) for n, p in pkgs.items()} == {
        "flask": ("3.1.2", "nixpkgs"), "werkzeug": ("3.1.6", "nixpkgs"), "click": ("8.3.1", "nixpkgs"),
        "markupsafe": ("3.0.3", "nixpkgs"), "itsdangerous": ("2.2.0", "nixpkgs"), "jinja2": ("3.1.6", "nixpkgs"),
        "blinker": ("1.9.0", "nixpkgs")}
    assert set(pkgs["flask"]["dependencies"]) == set(NIXPKGS["flask"][1][i].split(">")[0] for i in range(6))
