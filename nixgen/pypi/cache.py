"""nixgen's on-disk cache of the index: one SQLite database (WAL) plus artifact files named by sha256.

- ``pages``: project pages, already reduced to rows (see :mod:`nixgen.pypi.pages`), with the HTTP
  validators (ETag, Last-Modified) and the moment they stop being fresh (``Cache-Control: max-age``).
- ``metadata``: what was read from a distribution (core metadata, an sdist's build system, or why nothing
  could be read), keyed by the file's sha256 — such facts never change, so they never expire.
  Metadata a build backend produced (PEP 517 hook) lives there too, under ``build:sha256:<sha256>:python<X.Y>``.
- ``direct``: which sha256 a direct-reference URL (``name @ https://...``) downloaded to.
- ``artifacts/<sha256>/<filename>``: downloaded wheels and sdists, each written to a temporary file and
  renamed into place after its hash was checked, so a reader never sees half a file.

Every write is one transaction. One connection is shared by the threads of a process under a lock; other
processes may use the same database at the same time (WAL, busy timeout).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from nixgen.errors import NixgenError

SCHEMA_VERSION = 1  # bump when a table's layout or the row format of pages/metadata changes

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    url TEXT PRIMARY KEY, status INTEGER NOT NULL, etag TEXT, last_modified TEXT,
    fresh_until REAL NOT NULL, body BLOB);
CREATE TABLE IF NOT EXISTS metadata (key TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS direct (url TEXT PRIMARY KEY, sha256 TEXT NOT NULL, filename TEXT NOT NULL);
"""

PageRow = tuple[int, "str | None", "str | None", float, "bytes | None"]


def default_cache_dir() -> Path:
    """``$NIXGEN_CACHE_DIR``, else the platform's user cache directory for nixgen."""
    env = os.environ.get("NIXGEN_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("nixgen", appauthor=False))


class Cache:
    """The index cache under ``root`` (``<cache dir>/pypi``); the database opens on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.db_path = root / "index.sqlite3"
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    # -- database -------------------------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.db_path, timeout=30, check_same_thread=False,
                                       isolation_level=None)
                _with_retry(lambda: conn.execute("PRAGMA journal_mode=WAL"))
                conn.execute("PRAGMA synchronous=NORMAL")
                if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                    with conn:
                        conn.execute("BEGIN IMMEDIATE")
                        # Another process may have created the schema while this one waited for the lock.
                        if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
                            conn.execute("COMMIT")
                            self._conn = conn
                            return conn
                        conn.execute("DROP TABLE IF EXISTS pages")
                        conn.execute("DROP TABLE IF EXISTS metadata")
                        conn.execute("DROP TABLE IF EXISTS direct")
                        for statement in _SCHEMA.split(";"):
                            if statement.strip():
                                conn.execute(statement)
                        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            except (OSError, sqlite3.Error) as err:
                raise NixgenError(f"cannot open the cache database {self.db_path}: {err}",
                                  hint="choose another place with --cache-dir or NIXGEN_CACHE_DIR") from err
            self._conn = conn
        return self._conn

    def _read(self, sql: str, args: tuple[object, ...]) -> tuple[object, ...] | None:
        with self._lock:
            row = self._db().execute(sql, args).fetchone()
        return tuple(row) if row is not None else None

    def _write(self, sql: str, args: tuple[object, ...]) -> None:
        with self._lock:
            conn = self._db()
            try:
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute(sql, args)
            except sqlite3.Error as err:
                raise NixgenError(f"cannot write the cache database {self.db_path}: {err}",
                                  hint="choose another place with --cache-dir or NIXGEN_CACHE_DIR") from err

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- pages ----------------------------------------------------------------------------------------
    def page(self, url: str) -> PageRow | None:
        """``(status, etag, last_modified, fresh_until, body)`` of a cached project page."""
        return self._read("SELECT status, etag, last_modified, fresh_until, body FROM pages WHERE url=?",
                          (url,))  # type: ignore[return-value]

    def page_fresh_until(self, url: str) -> float | None:
        row = self._read("SELECT fresh_until FROM pages WHERE url=?", (url,))
        return float(row[0]) if row is not None else None  # type: ignore[arg-type]

    def put_page(self, url: str, status: int, etag: str | None, last_modified: str | None,
                 fresh_until: float, body: bytes | None) -> None:
        self._write("INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?, ?)",
                    (url, status, etag, last_modified, fresh_until, body))

    def touch_page(self, url: str, fresh_until: float) -> None:
        """Record that the server confirmed (304) the cached page."""
        self._write("UPDATE pages SET fresh_until=? WHERE url=?", (fresh_until, url))

    # -- metadata and direct references -----------------------------------------------------------------
    def metadata(self, key: str) -> str | None:
        row = self._read("SELECT body FROM metadata WHERE key=?", (key,))
        return str(row[0]) if row is not None else None

    def put_metadata(self, key: str, body: str) -> None:
        self._write("INSERT OR REPLACE INTO metadata VALUES (?, ?)", (key, body))

    # -- metadata a build backend produced: keyed by the sdist's sha256 and the interpreter's minor version --
    def built_metadata(self, sha256: str, python: str) -> str | None:
        """The record of an sdist's PEP 517 metadata hook run with Python ``python`` (``3.12``)."""
        return self.metadata(f"build:sha256:{sha256}:python{python}")

    def put_built_metadata(self, sha256: str, python: str, body: str) -> None:
        self.put_metadata(f"build:sha256:{sha256}:python{python}", body)

    def direct(self, url: str) -> tuple[str, str] | None:
        row = self._read("SELECT sha256, filename FROM direct WHERE url=?", (url,))
        return (str(row[0]), str(row[1])) if row is not None else None

    def put_direct(self, url: str, sha256: str, filename: str) -> None:
        self._write("INSERT OR REPLACE INTO direct VALUES (?, ?, ?)", (url, sha256, filename))

    # -- artifacts --------------------------------------------------------------------------------------
    def artifact_path(self, sha256: str, filename: str) -> Path:
        return self.root / "artifacts" / sha256[:2] / sha256 / filename

    def artifact(self, sha256: str, filename: str) -> Path | None:
        path = self.artifact_path(sha256, filename)
        return path if path.is_file() else None

    def temp_file(self) -> tuple[IO[bytes], Path]:
        """A new temporary file inside the cache (so that the final rename stays on one file system)."""
        import tempfile

        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=tmp_dir, suffix=".part")
        return os.fdopen(fd, "wb"), Path(name)

    def commit_artifact(self, tmp: Path, sha256: str, filename: str) -> Path:
        """Move a fully written, hash-checked temporary file to its place (atomic rename)."""
        path = self.artifact_path(sha256, filename)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, path)
        return path


def _with_retry(action: Callable[[], object], attempts: int = 100, pause: float = 0.1) -> None:
    """Switching a new database to WAL needs a moment alone with it; other processes may be opening it too
    (SQLite does not call the busy handler for that), so wait and try again."""
    for attempt in range(attempts):
        try:
            action()
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or attempt == attempts - 1:
                raise
            time.sleep(pause)
