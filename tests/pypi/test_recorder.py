"""The fixture recorder (tests/fixtures/record_index.py), run against a local index, and the recorded
fixtures in tests/fixtures/index replayed by the test server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from nixgen.errors import MetadataError
from nixgen.pypi import Index
from tests.conftest import FIXTURE_INDEX
from tests.indexserver import FixtureIndex, IndexServer
from tests.pypi.helpers import index_for

ROOT = Path(__file__).resolve().parents[2]
Make = Callable[[Path], IndexServer]


def test_recorder_saves_what_it_serves(tmp_path: Path, make_index_server: Make) -> None:
    upstream = FixtureIndex(tmp_path / "upstream")
    upstream.add_wheel("small", "1.0", requires=["big"])
    upstream.add_wheel("small", "2.0", upload_time="2030-01-01T00:00:00Z")  # after the cut-off
    upstream.add_file("small", "small-1.0-cp312-cp312-win_amd64.whl", b"x")  # no nixgen target
    upstream.add_wheel("big", "1.0", requires=["attrs"], pep658=False, padding=150_000, dist_info_first=True)
    upstream.add_sdist("sdist-only", "0.5", {"PKG-INFO": "Metadata-Version: 2.2\nName: sdist-only\n"
                                                       "Version: 0.5\nRequires-Dist: six\n\nDescription\n"})
    server = make_index_server(upstream.write())
    out = tmp_path / "recorded"
    proc = subprocess.run(
        [sys.executable, "tests/fixtures/record_index.py", "--out", str(out), "--upstream", server.url,
         "--exclude-newer", "2029-01-01", "--", sys.executable, "tests/pypi/perf_check.py", "--index-url",
         "{url}", "--cache-dir", "{tmp}", "--runs", "1", "small", "big", "sdist-only"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "3 pages, 1 metadata files, 1 whole files, 1 range-read files" in proc.stderr
    small = json.loads((out / "simple" / "small" / "index.json").read_text())
    assert [f["filename"] for f in small["files"]] == ["small-1.0-py3-none-any.whl"]
    assert small["files"][0]["url"] == "../../files/small-1.0-py3-none-any.whl"
    assert (out / "files" / "big-1.0-py3-none-any.whl.ranges.json").is_file()
    assert not (out / "files" / "big-1.0-py3-none-any.whl").exists()
    assert (out / "files" / "sdist_only-0.5.tar.gz").is_file()
    # Recording twice gives the same bytes.
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    subprocess.run(proc.args, cwd=ROOT, capture_output=True, check=True, timeout=120)
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before

    replay = make_index_server(out)
    with index_for(replay, tmp_path / "cache") as index:
        assert [str(r) for r in index.metadata(index.project("small").files[0]).requires_dist] == ["big"]
        big = index.metadata(index.project("big").files[0])
        assert (big.source, [str(r) for r in big.requires_dist]) == ("range", ["attrs"])
        assert index.metadata(index.project("sdist-only").files[0]).source == "pkg-info"
    assert all(r.status in (200, 206, 404) for r in replay.requests)
    assert not [r for r in replay.requests if r.status == 404 and not r.path.endswith(".metadata")]


def _recorded() -> list[tuple[str, str]]:
    """(project, file name) of every file the fixture holds something for."""
    out = []
    for page in sorted((FIXTURE_INDEX / "simple").glob("*/index.json")):
        data = json.loads(page.read_text())
        for entry in data["files"]:
            name = entry["filename"]
            if any((FIXTURE_INDEX / "files" / f"{name}{suffix}").exists()
                   for suffix in ("", ".metadata", ".ranges.json")):
                out.append((data["name"], name))
    return out


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("recorded-cache")


def test_recorded_pages_parse(index_server: IndexServer, shared_cache: Path) -> None:
    pages = sorted(p.parent.name for p in (FIXTURE_INDEX / "simple").glob("*/index.json"))
    if not pages:
        pytest.skip("no recorded fixtures")
    with index_for(index_server, shared_cache) as index:
        index.prefetch(pages)
        for name in pages:
            files = index.project(name).files
            assert files and all(f.url.startswith(index_server.base + "/files/") for f in files)


@pytest.mark.parametrize(("project", "filename"), _recorded())
def test_recorded_metadata_replays(index_server: IndexServer, shared_cache: Path, project: str,
                                   filename: str) -> None:
    with Index([index_server.url], cache_dir=shared_cache, retries=1) as index:
        (file,) = [f for f in index.project(project).files if f.filename == filename]
        try:
            md = index.metadata(file)
        except MetadataError as err:  # an sdist whose metadata needs a build is a fair recording
            assert file.kind == "sdist", err.message
            return
    assert md.version == str(file.version) or md.version.lstrip("v") == str(file.version)
