"""The index cache's SQLite database shared by threads: each thread reads on its own connection, without the
writers' lock, and sees every committed write."""

from __future__ import annotations

import threading
from pathlib import Path

from nixgen.pypi.cache import Cache


def _in_thread(action: object) -> list[object]:
    out: list[object] = []
    thread = threading.Thread(target=lambda: out.append(action()))  # type: ignore[operator]
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "the read waited"
    return out


def test_a_read_does_not_wait_for_a_write_in_progress(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "pypi")
    cache.put_metadata("sha256:aa", "{}")
    with cache._lock:  # a writer holds the lock (a slow write) while another thread reads
        assert _in_thread(lambda: cache.metadata("sha256:aa")) == ["{}"]
    cache.close()


def test_what_one_thread_writes_the_others_read(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "pypi")
    assert _in_thread(lambda: cache.metadata("sha256:bb")) == [None]  # that thread's connection is open
    cache.put_metadata("sha256:bb", "one")
    assert _in_thread(lambda: cache.metadata("sha256:bb")) == ["one"]
    assert cache.metadata("sha256:bb") == "one"
    cache.put_page("https://example.invalid/simple/x/", 200, None, None, 0.0, b"body")
    assert _in_thread(lambda: cache.page("https://example.invalid/simple/x/")) == [(200, None, None, 0.0, b"body")]
    cache.close()
    assert cache.metadata("sha256:bb") == "one"  # reopened after close


def test_readers_of_a_database_moved_aside_open_the_new_one(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "pypi")
    cache.put_metadata("sha256:cc", "old")
    assert cache.metadata("sha256:cc") == "old"
    cache.close()
    (tmp_path / "pypi" / "index.sqlite3").write_bytes(b"not a database" * 512)
    for suffix in ("-wal", "-shm"):
        (tmp_path / "pypi" / f"index.sqlite3{suffix}").unlink(missing_ok=True)
    assert cache.metadata("sha256:cc") is None  # damaged: moved aside, a new database
    assert any("moved it to" in n for n in cache.notes)
    cache.put_metadata("sha256:cc", "new")
    assert _in_thread(lambda: cache.metadata("sha256:cc")) == ["new"]
    cache.close()
