"""Cache-hit prediction, build-time estimates and min-build plans, through `nixgen report` and `explain`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nixgen.nixpkgs.snapshot import Snapshot

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"


def report(run: Any, *args: Any) -> dict[str, Any]:
    """The first system's part of ``nixgen report --json`` (one entry per system)."""
    proc = run("report", *args, "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["schema-version"] == 1
    return dict(data["systems"][0])


def test_rodeo_is_all_binary_cache_and_no_build_minutes(run: Any) -> None:
    data = report(run, ROOT / "examples/rodeo/requirements.txt")
    assert data["totals"]["estimated-minutes"] == 0
    pyset = Snapshot.load().python_set()
    for pkg in data["packages"]:
        assert pkg["provider"] == "nixpkgs" and pkg["status"] == "cached", pkg
        assert pyset.by_pypi_name(pkg["name"]).version == pkg["version"]  # type: ignore[union-attr]
    names = {p["name"] for p in data["packages"]}
    assert {"cartopy", "tensorflow", "docrep", "keras"} <= names
    # nixpkgs' tensorflow deletes its libclang requirement (override data: nixpkgs-removes), and
    # python313Packages.libclang is a different distribution ("clang"), so nothing is fetched for it.
    assert "libclang" not in names


def test_nixpkgs_removes_applies_only_to_the_nixpkgs_build(run: Any) -> None:
    data = report(run, ROOT / "examples/rodeo/requirements.txt", "--provider", "tensorflow=wheel",
                  "--system", "x86_64-linux")
    pkgs = {p["name"]: p for p in data["packages"]}
    assert pkgs["tensorflow"]["provider"] == "wheel"
    # The upstream wheel keeps its metadata, so its libclang requirement is honoured.
    assert pkgs["libclang"]["status"] == "fetch"


def test_a_newer_numpy_names_the_rebuilds_their_cause_and_the_trade(run: Any) -> None:
    data = report(run, DATA / "gdal-newer-numpy.txt")
    pkgs = {p["name"]: p for p in data["packages"]}
    assert pkgs["numpy"]["provider"] == "wheel" and pkgs["numpy"]["nixpkgs-version"] == "2.4.2"
    gdal = pkgs["gdal"]
    assert gdal["status"] == "rebuild"
    assert gdal["cause"] == [{"name": "numpy", "old": "2.4.2", "new": pkgs["numpy"]["version"]}]
    assert gdal["status-text"] == f"rebuilds because numpy 2.4.2 → {pkgs['numpy']['version']}"
    assert gdal["estimated-minutes"] == 40 and "40 minutes" in gdal["estimate-source"]
    # min-build takes shapely as a wheel rather than rebuilding nixpkgs' shapely against the new numpy,
    # and says so; the pin that costs the gdal rebuild is named with what relaxing it would save.
    assert pkgs["shapely"]["provider"] == "wheel" and pkgs["shapely"]["reason"] == "traded"
    assert pkgs["shapely"]["reason-text"].startswith("min-build")
    assert "shapely" in {t["name"] for t in data["trades"]}
    assert {(a["name"], a["nixpkgs-version"], a["minutes"]) for a in data["alternatives"]} == {("numpy", "2.4.2", 40)}
    assert data["totals"]["estimated-minutes"] == 40


def test_min_build_beats_latest_when_both_are_valid(run: Any) -> None:
    latest = report(run, DATA / "gdal-numpy.txt", "--strategy", "latest")
    least = report(run, DATA / "gdal-numpy.txt")
    assert latest["totals"]["estimated-minutes"] >= 40
    assert {p["name"]: p["status"] for p in latest["packages"]}["gdal"] == "rebuild"
    assert least["totals"]["estimated-minutes"] == 0
    assert all(p["status"] == "cached" for p in least["packages"])
    assert not latest["trades"]


def test_table_and_explain(run: Any) -> None:
    table = run("report", DATA / "gdal-newer-numpy.txt")
    assert table.returncode == 0, table.stderr
    assert "rebuilds because numpy 2.4.2 →" in table.stdout
    assert "about 40 estimated build minutes" in table.stdout
    why = run("explain", "numpy", ROOT / "examples/rodeo/requirements.txt")
    assert why.returncode == 0, why.stderr
    assert "why it is here: " in why.stdout and " → numpy" in why.stdout
    assert "provider: nixpkgs" in why.stdout and "status: cached" in why.stdout
    missing = run("explain", "left-pad", ROOT / "examples/rodeo/requirements.txt")
    assert missing.returncode == 6 and "left-pad is not in this resolution" in missing.stderr


def test_the_summary_lists_what_needs_work_and_counts_the_cache_hits(run: Any) -> None:
    def rows(text: str) -> set[str]:
        return {line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│")}

    # The rodeo set comes from the binary cache on x86_64 Linux: the table lists the three packages asked for.
    rodeo = ROOT / "examples/rodeo/requirements.txt"
    made = run("generate", rodeo, "--system", "x86_64-linux", "--system", "aarch64-darwin")
    assert made.returncode == 0, made.stderr
    full = report(run, rodeo, "--system", "x86_64-linux")
    cached = {p["name"] for p in full["packages"] if p["status"] == "cached" and not p["requested"]}
    assert len(cached) > 20
    assert rows(made.stderr) == {"cartopy", "tensorflow", "docrep"}
    assert f"{len(cached)} more from the binary cache, not listed" in made.stderr
    assert "more from nixpkgs, unverified (no binary-cache data for aarch64-darwin), not listed" in made.stderr
    # A line both systems have is said once, after the last system.
    egg = "note: docrep 0.3.2: dependencies read from egg-info"
    assert made.stderr.count(egg) == 1
    assert made.stderr.index("on every system (x86_64-linux, aarch64-darwin):") < made.stderr.index(egg)
    # What needs work is listed: gdal rebuilt against a newer numpy wheel, and that wheel.
    newer = run("generate", DATA / "gdal-newer-numpy.txt", "--system", "x86_64-linux")
    assert {"gdal", "numpy", "shapely"} <= rows(newer.stderr)
    # -v lists every package, as `nixgen report` does.
    every = run("generate", rodeo, "--system", "x86_64-linux", "-v")
    assert cached <= rows(every.stderr) and "not listed" not in every.stderr
