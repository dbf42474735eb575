"""A flaky or hostile server (issue 11, items 5 and 6): bounded time and size per request, Retry-After, and a
cache that never learns a lie — what unverified bytes say is not kept, damage in the cache is repaired."""

from __future__ import annotations

import gzip
import marshal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from nixgen.errors import IndexAccessError
from nixgen.pypi import Index
from nixgen.pypi.http import DEADLINE, MAX_BODY
from tests.indexserver import FixtureIndex, IndexServer
from tests.pypi.helpers import index_for
from tests.pypi.test_hostile import described, same_as_fresh

Make = Callable[[Path], IndexServer]


@pytest.fixture()
def server(tmp_path: Path, make_index_server: Make) -> IndexServer:
    idx = FixtureIndex(tmp_path / "index")
    idx.add_wheel("pkg", "1.0", requires=["dep-one", "dep-two"])
    idx.add_wheel("pkg", "2.0", requires=["dep-three"], pep658=False, padding=50_000)
    idx.add_wheel("nohash", "1.0", requires=["dep-one", "dep-two"], advertise_metadata=False)
    return make_index_server(idx.write())


def test_the_bounds_are_the_documented_ones() -> None:
    assert (DEADLINE, MAX_BODY) == (60.0, 100 * 1024 * 1024)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "60 s" in readme and "100 MB" in readme and "Retry-After" in readme


# -- time --------------------------------------------------------------------------------------------------------
def test_a_dripping_server_fails_within_the_deadline(server: IndexServer, tmp_path: Path) -> None:
    server.drip(10, 0.1, path="/simple/")  # a byte every 0.1 s: each read is quick, the body takes minutes
    start = time.monotonic()
    with index_for(server, tmp_path / "cache", deadline=1.0, timeout=5.0) as index, \
            pytest.raises(IndexAccessError) as err:
        index.project("pkg")
    took = time.monotonic() - start
    assert took < 2.0, took
    assert "deadline" in err.value.message and f"{server.url}pkg/" in err.value.message
    assert server.count() == 1  # no time was left for a second attempt
    server.reset()
    assert same_as_fresh(server, tmp_path / "cache", tmp_path, "pkg")


def test_a_server_dripping_its_headers_fails_within_the_deadline(server: IndexServer, tmp_path: Path) -> None:
    server.drip_headers(10, 0.1, path="/simple/")
    start = time.monotonic()
    with index_for(server, tmp_path / "cache", deadline=1.0, timeout=5.0) as index, \
            pytest.raises(IndexAccessError) as err:
        index.project("pkg")
    assert time.monotonic() - start < 2.0
    assert "deadline" in err.value.message
    assert same_as_fresh(server, tmp_path / "cache", tmp_path, "pkg")


def test_a_slow_but_steady_body_within_the_deadline_is_fine(server: IndexServer, tmp_path: Path) -> None:
    server.drip(1, 0.0005, path="/simple/")
    with index_for(server, tmp_path / "cache", deadline=20.0) as index:
        assert len(index.project("pkg").files) == 2


def test_retry_after_is_honoured(server: IndexServer, tmp_path: Path) -> None:
    server.fail_with(1, 429, {"Retry-After": "1"}, path="/simple/")
    start = time.monotonic()
    with index_for(server, tmp_path / "cache", backoff=0.0) as index:
        assert len(index.project("pkg").files) == 2
    assert time.monotonic() - start >= 1.0
    assert [r.status for r in server.requests][:2] == [429, 200]


def test_retry_after_beyond_the_deadline_fails_at_once(server: IndexServer, tmp_path: Path) -> None:
    server.fail_with(5, 503, {"Retry-After": "3600"}, path="/simple/")
    start = time.monotonic()
    with index_for(server, tmp_path / "cache", deadline=10.0) as index, pytest.raises(IndexAccessError) as err:
        index.project("pkg")
    assert time.monotonic() - start < 1.0
    assert "retry after 3600 s" in err.value.message and err.value.hint
    assert server.count() == 1


def test_retry_after_as_an_http_date(server: IndexServer, tmp_path: Path) -> None:
    from email.utils import formatdate

    server.fail_with(1, 503, {"Retry-After": formatdate(time.time() + 7200, usegmt=True)}, path="/simple/")
    with index_for(server, tmp_path / "cache", deadline=5.0) as index, pytest.raises(IndexAccessError) as err:
        index.project("pkg")
    assert "retry after" in err.value.message


# -- size --------------------------------------------------------------------------------------------------------
def test_a_gzip_bomb_is_stopped_at_the_cap(server: IndexServer, tmp_path: Path) -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100_000
    server.serve(5, "/simple/pkg/", bomb, {"Content-Type": "application/vnd.pypi.simple.v1+json",
                                           "Content-Encoding": "gzip"})
    with index_for(server, tmp_path / "cache", max_body=1024 * 1024) as index, \
            pytest.raises(IndexAccessError) as err:
        index.project("pkg")
    assert "larger than 1 MB" in err.value.message and "decompression" in err.value.message
    assert server.count() == 1  # not retried: it would be just as big again
    assert same_as_fresh(server, tmp_path / "cache", tmp_path, "pkg")


def test_a_gzipped_page_within_the_cap_is_read(server: IndexServer, tmp_path: Path) -> None:
    page = (server.root / "simple" / "pkg" / "index.json").read_bytes()
    server.serve(1, "/simple/pkg/", gzip.compress(page), {"Content-Type": "application/vnd.pypi.simple.v1+json",
                                                          "Content-Encoding": "gzip"})
    with index_for(server, tmp_path / "cache") as index:
        assert len(index.project("pkg").files) == 2


# -- unverified bytes are not cached ------------------------------------------------------------------------------
def test_a_body_cut_short_of_its_content_length_is_retried(server: IndexServer, tmp_path: Path) -> None:
    server.truncate(1, 40, path="/simple/")
    with index_for(server, tmp_path / "cache") as index:
        assert len(index.project("pkg").files) == 2
    assert server.count("/simple/") == 2


def test_a_garbage_range_reply_is_not_cached_as_a_broken_wheel(server: IndexServer, tmp_path: Path) -> None:
    server.garbage_ranges(10)
    cache = tmp_path / "cache"
    with index_for(server, cache) as index:
        two = index.project("pkg").files[1]
        md = index.metadata(two)  # the ranges were noise: the hash-checked download decides
        assert [str(r) for r in md.requires_dist] == ["dep-three"] and md.source == "download"
        assert any("HTTP ranges failed" in n for n in index.notes)
    assert same_as_fresh(server, cache, tmp_path, "pkg")[1][2] == "dep-three"


def test_truncated_metadata_without_a_hash_is_not_cached(server: IndexServer, tmp_path: Path) -> None:
    text = (server.root / "files" / "nohash-1.0-py3-none-any.whl.metadata").read_bytes()
    keep = text.index(b"Requires-Dist: dep-two")
    server.truncate(1, keep, path=".metadata", declare_length=False)  # no Content-Length: looks complete
    cache = tmp_path / "cache"
    with index_for(server, cache) as index:
        (file,) = index.project("nohash").files
        assert file.metadata_sha256 is None
        assert [str(r) for r in index.metadata(file).requires_dist] == ["dep-one"]  # undetectable this once
    assert same_as_fresh(server, cache, tmp_path, "nohash")[0][2] == "dep-one, dep-two"


def test_complete_metadata_without_a_hash_is_cached(server: IndexServer, tmp_path: Path) -> None:
    with index_for(server, tmp_path / "cache") as index:
        (file,) = index.project("nohash").files
        index.metadata(file)
    server.reset()
    with index_for(server, tmp_path / "cache") as index:
        (file,) = index.project("nohash").files
        assert [str(r) for r in index.metadata(file).requires_dist] == ["dep-one", "dep-two"]
    assert server.count() == 0


def test_chunked_bodies_are_complete_and_cached_but_a_cut_one_is_retried(server: IndexServer,
                                                                         tmp_path: Path) -> None:
    server.chunked = True
    text = (server.root / "files" / "nohash-1.0-py3-none-any.whl.metadata").read_bytes()
    server.truncate(1, text.index(b"Requires-Dist: dep-two"), path=".metadata", declare_length=False)
    with index_for(server, tmp_path / "cache") as index:
        (file,) = index.project("nohash").files
        assert [str(r) for r in index.metadata(file).requires_dist] == ["dep-one", "dep-two"]
    assert server.count(".metadata") == 2  # the cut answer was retried
    server.reset()
    with index_for(server, tmp_path / "cache") as index:  # complete (chunked to the end): cached
        (file,) = index.project("nohash").files
        assert [str(r) for r in index.metadata(file).requires_dist] == ["dep-one", "dep-two"]
    assert server.count() == 0


# -- damage in the cache ---------------------------------------------------------------------------------------
def warm(server: IndexServer, cache: Path) -> list[tuple[str, str | None, str]]:
    with index_for(server, cache) as index:
        return described(index, "pkg")


def db(cache: Path) -> Path:
    return cache / "pypi" / "index.sqlite3"


@pytest.mark.parametrize("body", [b"\xff\x00garbage", marshal.dumps(["not", "rows"]),
                                  marshal.dumps((("too", "short"),))])
def test_a_cached_page_that_does_not_decode_is_fetched_again(server: IndexServer, tmp_path: Path,
                                                            body: bytes) -> None:
    cache = tmp_path / "cache"
    first = warm(server, cache)
    with sqlite3.connect(db(cache)) as conn:
        conn.execute("UPDATE pages SET body=?", (body,))
    server.reset()
    with index_for(server, cache) as index:
        assert described(index, "pkg") == first
        assert any("cached page of pkg" in n and "unreadable" in n for n in index.notes)
    assert server.count("/simple/") == 1
    assert same_as_fresh(server, cache, tmp_path, "pkg") == first


def test_a_damaged_release_in_a_cached_page_is_a_clear_error_and_is_read_again(server: IndexServer,
                                                                                tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = warm(server, cache)
    with sqlite3.connect(db(cache)) as conn:
        (body,) = conn.execute("SELECT body FROM pages").fetchone()
        dated, releases = marshal.loads(body)
        damaged = {key: [(text, earliest, undated, b"\xff\x00rot") for text, earliest, undated, _ in spellings]
                   for key, spellings in releases.items()}
        conn.execute("UPDATE pages SET body=?", (marshal.dumps((dated, damaged)),))
    with index_for(server, cache, offline=True) as index, pytest.raises(IndexAccessError) as err:
        index.project("pkg").files  # noqa: B018 (a release's files are made when asked for)
    assert "cached page of pkg" in err.value.message and "damaged" in err.value.message
    assert err.value.hint is not None and "dropped" in err.value.hint
    server.reset()
    with index_for(server, cache) as index:  # the damaged page was dropped: read again
        assert described(index, "pkg") == first
    assert server.count("/simple/") == 1


def test_a_cache_of_the_previous_schema_keeps_its_metadata(server: IndexServer, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = warm(server, cache)
    with sqlite3.connect(db(cache)) as conn:
        conn.execute("PRAGMA user_version=3")  # as the last release left it (its pages had another layout)
    server.reset()
    with index_for(server, cache) as index:
        assert described(index, "pkg") == first
    assert server.count("/simple/") == 1  # pages are read again ...
    assert server.count("/files/") == 0  # ... metadata is not


def test_a_cached_metadata_record_that_does_not_decode_is_read_again(server: IndexServer, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = warm(server, cache)
    with sqlite3.connect(db(cache)) as conn:
        conn.execute("UPDATE metadata SET body=?", ('{"metadata": {"name": 1}}',))
    with index_for(server, cache) as index:
        assert described(index, "pkg") == first
        assert any("cached metadata" in n for n in index.notes)
    assert same_as_fresh(server, cache, tmp_path, "pkg") == first


def test_a_damaged_artifact_is_downloaded_again(server: IndexServer, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    server.ignore_range = True
    with index_for(server, cache) as index:
        two = index.project("pkg").files[1]
        path = index.artifact(two)
        path.write_bytes(b"rotten")
    server.reset()
    with index_for(server, cache) as index:
        again = index.artifact(two)
        assert again == path and again.stat().st_size == two.size
        assert any("no longer matches its sha256" in n for n in index.notes)
    assert server.count("/files/") == 1


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupt_database_is_moved_aside_and_rebuilt(server: IndexServer, tmp_path: Path, damage: str) -> None:
    cache = tmp_path / "cache"
    first = warm(server, cache)
    path = db(cache)
    if damage == "garbage":
        path.write_bytes(b"this is not an SQLite database" * 1000)
    else:
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        data = path.read_bytes()
        path.write_bytes(data[:100] + b"\xff" * (len(data) - 100))
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with index_for(server, cache) as index:
        assert described(index, "pkg") == first
        assert any("moved it to" in n and ".corrupt-" in n for n in index.notes)
    assert list(path.parent.glob("index.sqlite3.corrupt-*"))
    with index_for(server, cache) as index:  # the new database works from now on
        assert described(index, "pkg") == first
        assert not index.notes
    assert same_as_fresh(server, cache, tmp_path, "pkg") == first


def test_an_index_can_be_used_again_after_close(server: IndexServer, tmp_path: Path) -> None:
    index = Index([server.url], cache_dir=tmp_path / "cache")
    with index:
        index.prefetch(["pkg", "nohash"])
        assert index.project("pkg").files
    with index:
        assert index.project("nohash").files
