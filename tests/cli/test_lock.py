"""The lock is the whole contract: rendering from it alone, re-locking with its pins, --check, the canonical
command, and the one-way import structure."""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nixgen.inputs.detect import read_input
from nixgen.lock.pylock import read_pylock, write_pylock
from nixgen.pipeline import Options, lock
from nixgen.session import Session
from tests.cli.conftest import EXCLUDE_NEWER, nixgen
from tests.indexserver import FixtureIndex, IndexServer

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"


def test_a_lock_renders_alone_byte_identical_to_the_direct_flake(index_server: Any, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "dir").mkdir(parents=True)
    (project / "reqs.txt").write_text("cartopy\ndocrep\n")
    (project / "my.toml").write_text('[docrep]\nimports = ["docrep"]\n')
    common = ("--index-url", index_server.url, "--cache-dir", tmp_path / "cache", "--exclude-newer", EXCLUDE_NEWER)
    made = nixgen("lock", "reqs.txt", "--overrides", "my.toml", "-o", "dir/pylock.toml", *common, cwd=project)
    assert made.returncode == 0, made.stderr
    direct = nixgen("reqs.txt", "--overrides", "my.toml", *common, cwd=project)
    assert direct.returncode == 0, direct.stderr
    # docrep is in nixpkgs, so the override is not applied; the lock still records the file and its hash.
    text = (project / "dir" / "pylock.toml").read_text()
    data = tomllib.loads(text)["tool"]["nixgen"]
    assert data["overrides"]["files"][0]["path"] == "../my.toml"
    assert data["options"]["sources"] == ["../reqs.txt"]
    assert data["command"].startswith("nixgen lock reqs.txt --index-url ")
    assert data["command"].endswith("--overrides my.toml")
    (project / "my.toml").unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    from_lock = nixgen(project / "dir" / "pylock.toml", cwd=elsewhere)
    assert from_lock.returncode == 0, from_lock.stderr
    assert from_lock.stdout == direct.stdout
    assert "made with: nixgen reqs.txt --index-url" in direct.stdout and "--overrides my.toml" in direct.stdout
    assert f"the overrides file {project / 'my.toml'} recorded in" in from_lock.stderr
    assert "is missing" in from_lock.stderr
    # Re-locking from the lock needs its recorded files: an error that says what to do.
    again = nixgen("lock", project / "dir" / "pylock.toml", cwd=elsewhere)
    assert again.returncode == 2 and "my.toml" in again.stderr and "Traceback" not in again.stderr
    assert "restore them" in again.stderr


def test_the_lock_round_trips_through_its_schema(index_server: Any, tmp_path: Path) -> None:
    options = Options(index_urls=(index_server.url,), cache_dir=tmp_path / "cache",
                      exclude_newer=__import__("datetime").datetime.fromisoformat(EXCLUDE_NEWER + "T00:00:00+00:00"),
                      systems=("x86_64-linux", "aarch64-darwin"))
    made = lock(read_input(DATA / "gdal-newer-numpy.txt"), Session.load(), options)
    assert made.trades and made.alternatives  # the values a round trip must keep
    path = tmp_path / "pylock.toml"
    path.write_text(write_pylock(made, tmp_path))
    back = read_pylock(path)
    assert back == made
    assert write_pylock(back, tmp_path) == path.read_text()


def _versions(stdout_or_path: str | Path) -> dict[str, str]:
    text = Path(stdout_or_path).read_text() if isinstance(stdout_or_path, Path) else stdout_or_path
    return {p["name"]: p["version"] for p in tomllib.loads(text)["packages"]}


@pytest.fixture()
def dated(tmp_path: Path, make_index_server: Callable[[Path], IndexServer]) -> IndexServer:
    """Two projects outside nixpkgs with an old and a new release each, and a third to add later."""
    fixture = FixtureIndex(tmp_path / "index")
    for name in ("nixgen-old-a", "nixgen-old-b"):
        fixture.add_wheel(name, "1.0", upload_time="2024-01-01T00:00:00Z")
        fixture.add_wheel(name, "2.0", upload_time="2025-06-01T00:00:00Z")
    fixture.add_wheel("nixgen-added", "1.0", upload_time="2025-06-01T00:00:00Z")
    return make_index_server(fixture.write())


def test_relocking_keeps_index_pins_and_upgrade_package_moves_one(dated: IndexServer, tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("nixgen-old-a\nnixgen-old-b\n")
    out = tmp_path / "pylock.toml"
    common = ("--index-url", dated.url, "--cache-dir", tmp_path / "cache", "--system", "x86_64-linux", "-q")
    assert nixgen("lock", req, "-o", out, "--exclude-newer", "2024-06-01", *common).returncode == 0
    assert _versions(out) == {"nixgen-old-a": "1.0", "nixgen-old-b": "1.0"}
    req.write_text("nixgen-old-a\nnixgen-old-b\nnixgen-added\n")
    relocked = nixgen("lock", req, "-o", out, *common)
    assert relocked.returncode == 0, relocked.stderr
    assert _versions(out) == {"nixgen-old-a": "1.0", "nixgen-old-b": "1.0", "nixgen-added": "1.0"}
    moved = nixgen("lock", req, "-o", out, "--upgrade-package", "nixgen-old-b", *common)
    assert moved.returncode == 0, moved.stderr
    assert _versions(out) == {"nixgen-old-a": "1.0", "nixgen-old-b": "2.0", "nixgen-added": "1.0"}
    everything = nixgen("lock", req, "-o", out, "--upgrade", *common)
    assert everything.returncode == 0, everything.stderr
    assert _versions(out) == {"nixgen-old-a": "2.0", "nixgen-old-b": "2.0", "nixgen-added": "1.0"}


def test_check_exits_0_when_up_to_date_and_8_when_it_would_change(dated: IndexServer, tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("nixgen-old-a\n")
    out, flake = tmp_path / "pylock.toml", tmp_path / "flake.nix"
    common = ("--index-url", dated.url, "--cache-dir", tmp_path / "cache", "--system", "x86_64-linux", "-q")
    missing = nixgen("lock", req, "-o", out, "--check", *common)
    assert missing.returncode == 8 and not out.exists() and "does not exist yet" in missing.stderr
    assert nixgen("lock", req, "-o", out, *common).returncode == 0
    assert nixgen(out, "-o", flake, "-q").returncode == 0
    before, flake_before = out.read_text(), flake.read_text()
    fresh = nixgen("lock", req, "-o", out, "--check", *common)
    assert fresh.returncode == 0, fresh.stderr
    assert nixgen(out, "-o", flake, "--check").returncode == 0
    req.write_text("nixgen-old-a\nnixgen-added\n")
    stale = nixgen("lock", req, "-o", out, "--check", *common)
    assert stale.returncode == 8 and "+nixgen-added 1.0" in stale.stderr
    assert out.read_text() == before
    direct = nixgen("generate", req, "-o", flake, "--check", *common)
    assert direct.returncode == 8 and "line(s) added" in direct.stderr
    assert flake.read_text() == flake_before


def test_systems_share_one_search_and_min_build_trades_without_another(index_server: Any, tmp_path: Path) -> None:
    from datetime import datetime

    options = Options(index_urls=(index_server.url,), cache_dir=tmp_path / "cache",
                      exclude_newer=datetime.fromisoformat(EXCLUDE_NEWER + "T00:00:00+00:00"))
    made = lock(read_input(DATA / "gdal-newer-numpy.txt"), Session.load(), options)
    assert {t.name for t in made.trades} >= {"shapely"}  # several trades, decided from one plan per system
    # One resolvelib search for the four systems: the others answer every question it asked alike (so it is
    # theirs too), and the trades hold as a resolution without searching again.
    assert len(made.plans) == 4 and made.resolutions == 1
    rodeo = lock(read_input(ROOT / "examples/rodeo/requirements.txt"), Session.load(), options)
    assert len(rodeo.plans) == 4 and rodeo.resolutions == 1


def test_how_each_resolution_was_found_is_said_recorded_and_reported(index_server: Any, tmp_path: Path) -> None:
    import json

    req = tmp_path / "reqs.txt"
    req.write_text("cartopy\n")
    common = ("--index-url", index_server.url, "--cache-dir", tmp_path / "cache", "--exclude-newer", EXCLUDE_NEWER,
              "--system", "x86_64-linux", "--system", "aarch64-darwin")
    out = tmp_path / "pylock.toml"
    made = nixgen("lock", req, "-o", out, *common)
    assert made.returncode == 0, made.stderr
    targets = tomllib.loads(out.read_text())["tool"]["nixgen"]["targets"]
    found = {t["system"]: (t["found-by"], t.get("found-from")) for t in targets}
    assert found["x86_64-linux"] in (("unsearched", None), ("search", None)), found
    assert found["aarch64-darwin"] in (("carried", "x86_64-linux"), ("replayed", "x86_64-linux")), found
    assert "note: resolved " in made.stderr and "x86_64-linux's" in made.stderr
    report = json.loads(nixgen("report", out, "--json").stdout)
    assert {s["system"]: (s["found-by"], s["found-from"]) for s in report["systems"]} == found
    # --full-search: a search for each system, recorded in the lock's options and command.
    full = nixgen("lock", req, "-o", out, "--full-search", *common)
    assert full.returncode == 0, full.stderr
    data = tomllib.loads(out.read_text())["tool"]["nixgen"]
    # (an exact replay of another system's search is that system's search: it may still be one)
    assert data["targets"][0]["found-by"] == "search"
    assert all(t["found-by"] in ("search", "replayed") for t in data["targets"])
    assert data["options"]["full-search"] is True and "--full-search" in data["command"]
    assert "without a search" not in full.stderr and "carried over" not in full.stderr
    again = nixgen("lock", out)  # locking again from the lock keeps --full-search
    assert again.returncode == 0, again.stderr
    assert tomllib.loads(out.read_text())["tool"]["nixgen"]["options"]["full-search"] is True
    # A lock that does not record it (made before nixgen did) reports it as unknown, not as a search.
    older = tmp_path / "older" / "pylock.toml"
    older.parent.mkdir()
    older.write_text("\n".join(line for line in out.read_text().splitlines()
                               if not line.startswith(("found-by", "found-from"))) + "\n")
    report = json.loads(nixgen("report", older, "--json").stdout)
    assert {s["found-by"] for s in report["systems"]} == {None}


def test_no_stage_imports_the_pipeline() -> None:
    """The data flows one way: inputs, resolve, plan, lock and emit never reach back into the pipeline."""
    offenders = []
    for folder in ("inputs", "resolve", "plan", "lock", "emit"):
        for path in sorted((ROOT / "nixgen" / folder).rglob("*.py")):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                if any(n in ("nixgen.pipeline", "nixgen.cli", "nixgen.session") for n in names):
                    offenders.append(f"{path.relative_to(ROOT)}: {names}")
    assert offenders == []


def test_a_lock_with_a_wrong_type_is_a_clear_error(index_server: Any, tmp_path: Path) -> None:
    made = nixgen("lock", ROOT / "examples/rodeo/requirements.txt", "--index-url", index_server.url,
                  "--cache-dir", tmp_path / "cache", "--exclude-newer", EXCLUDE_NEWER, "--system", "x86_64-linux",
                  "-q", "-o", tmp_path / "pylock.toml")
    assert made.returncode == 0, made.stderr
    text = (tmp_path / "pylock.toml").read_text()
    broken = tmp_path / "broken" / "pylock.toml"
    broken.parent.mkdir()
    broken.write_text(text.replace('reason = "nixpkgs"', "reason = 3", 1))
    proc = nixgen(broken)
    assert proc.returncode == 3 and "Traceback" not in proc.stderr
    assert "tool.nixgen.reason is 3, expected one of" in proc.stderr
    broken.write_text(text.replace("do-check = true", 'do-check = "yes"', 1))
    proc = nixgen(broken)
    assert proc.returncode == 3 and "recipe.do-check must be a boolean, not a string" in proc.stderr
