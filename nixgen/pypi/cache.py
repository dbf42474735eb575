"""nixgen's on-disk cache of the index: one SQLite database (WAL) plus artifact files named by sha256.

- ``pages``: project pages, already reduced to rows (see :mod:`nixgen.pypi.pages`), with the HTTP
  validators (ETag, Last-Modified) and the moment they stop being fresh (``Cache-Control: max-age``).
- ``metadata``: what was read from a distribution (core metadata, an sdist's build system, or why nothing
  could be read), keyed by the file's sha256 — such facts never change, so they never expire.
  Metadata a build backend produced (PEP 517 hook) lives there too, under ``build:sha256:<sha256>:python<X.Y>``.
- ``direct``: which sha256 a direct-reference URL (``name @ https://...``) downloaded to.
- ``artifacts/<sha[:2]>/<sha256>.<suffix>``: downloaded wheels and sdists, named by their hash only (the
  suffix from a fixed list), each written to a temporary file and renamed into place after its hash was
  checked, so a reader never sees half a file.

Every write is one statement, its own transaction, on one connection the threads of a process share
under a lock; each thread reads on a connection of its own, without that lock (WAL readers see what was
committed and do not wait for the writer: under one lock, a cold run's 16 workers queued behind each
other's writes and the resolver behind them). Other processes may use the same database at the same
time (WAL, busy timeout).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from nixgen.errors import UsageError
from nixgen.pypi.pages import valid_sha256

SCHEMA_VERSION = 4  # bump when a table's layout or the row format of pages/metadata changes
_PAGES_ONLY = {3}  # older schemas whose metadata and direct tables are still good (only pages changed)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    url TEXT PRIMARY KEY, status INTEGER NOT NULL, etag TEXT, last_modified TEXT,
    fresh_until REAL NOT NULL, body BLOB);
CREATE TABLE IF NOT EXISTS metadata (key TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS direct (url TEXT PRIMARY KEY, sha256 TEXT NOT NULL, filename TEXT NOT NULL);
"""

ARTIFACT_SUFFIXES = (".whl", ".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip")
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

    def __init__(self, root: Path, notes: list[str] | None = None) -> None:
        self.root = root
        self.db_path = root / "index.sqlite3"
        self.notes: list[str] = notes if notes is not None else []
        self._conn: sqlite3.Connection | None = None  # the writer's, and where the schema is made
        self._lock = threading.Lock()
        self._local = threading.local()  # each thread's read connection, with the generation it belongs to
        # Each read connection with a lock of its own: only its thread takes it to read, and close() to close
        # it (a connection closed while another thread reads on it can crash the interpreter).
        self._readers: list[tuple[sqlite3.Connection, threading.Lock]] = []
        self._readers_lock = threading.Lock()  # for that list alone (never held while SQLite works)
        self._generation = 0  # bumped when a damaged database is moved aside: older readers reopen

    # -- database -------------------------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self._conn = self._open()
            except sqlite3.DatabaseError as err:
                if _busy(err) or not self.db_path.exists():
                    raise _cannot_open(self.db_path, err) from err
                self._move_aside(err)
                try:
                    self._conn = self._open()
                except sqlite3.Error as again:
                    raise _cannot_open(self.db_path, again) from again
        return self._conn

    def _move_aside(self, err: Exception) -> None:
        """Rename a database SQLite cannot read to ``index.sqlite3.corrupt-<timestamp>`` (its WAL files
        with it), so that a new one is built instead of every later run failing."""
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        aside = self.db_path.with_name(f"{self.db_path.name}.corrupt-{stamp}-{os.getpid()}")
        try:
            os.replace(self.db_path, aside)
            for suffix in ("-wal", "-shm"):
                extra = self.db_path.with_name(self.db_path.name + suffix)
                if extra.exists():
                    os.replace(extra, aside.with_name(aside.name + suffix))
        except OSError as move_err:
            raise _cannot_open(self.db_path, move_err) from err
        self.notes.append(f"the cache database {self.db_path} was unreadable ({err}); moved it to {aside} "
                          "and started a new one")

    def _recover(self, err: sqlite3.DatabaseError) -> None:
        """Called (under the lock) when a query finds the open database damaged: start a new one."""
        self._close_all()
        self._generation += 1
        self._move_aside(err)

    def _close_all(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for reader, in_use in readers:
            with in_use:
                reader.close()

    def _reader(self) -> tuple[sqlite3.Connection, threading.Lock]:
        """This thread's read connection and its lock, opened (after the database and its schema) on first
        use."""
        mine: tuple[sqlite3.Connection, threading.Lock] | None = getattr(self._local, "reader", None)
        if mine is not None and self._local.generation == self._generation:
            return mine
        generation = self._generation
        if self._conn is None:
            with self._lock:
                self._db()
        try:
            conn = sqlite3.connect(self.db_path, timeout=30, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as err:
            raise _cannot_open(self.db_path, err) from err
        mine = (conn, threading.Lock())
        with self._readers_lock:
            self._readers.append(mine)
        self._local.reader, self._local.generation = mine, generation
        return mine

    def _open(self) -> sqlite3.Connection:
        """Open (and if needed create) the database; sqlite3.DatabaseError when the file is not one."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise _cannot_open(self.db_path, err) from err
        conn = sqlite3.connect(self.db_path, timeout=30, check_same_thread=False, isolation_level=None)
        try:
            _with_retry(lambda: conn.execute("PRAGMA journal_mode=WAL"))
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # reads the schema: fails if corrupt
            if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    # Another process may have created the schema while this one waited for the lock.
                    if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
                        conn.execute("COMMIT")
                        return conn
                    conn.execute("DROP TABLE IF EXISTS pages")
                    if conn.execute("PRAGMA user_version").fetchone()[0] not in _PAGES_ONLY:
                        conn.execute("DROP TABLE IF EXISTS metadata")
                        conn.execute("DROP TABLE IF EXISTS direct")
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _read(self, sql: str, args: tuple[object, ...]) -> tuple[object, ...] | None:
        for attempt in range(2):
            generation = self._generation
            try:
                conn, in_use = self._reader()
                with in_use:
                    row = conn.execute(sql, args).fetchone()
                break
            except sqlite3.DatabaseError as err:
                if _busy(err) or attempt:
                    raise _cannot_open(self.db_path, err) from err
                with self._lock:
                    if generation == self._generation:  # not moved aside by another thread meanwhile
                        self._recover(err)
        return tuple(row) if row is not None else None

    def _write(self, sql: str, args: tuple[object, ...]) -> None:
        with self._lock:
            for attempt in range(2):
                conn = self._db()
                try:
                    conn.execute(sql, args)  # autocommit: one statement, one transaction
                    return
                except sqlite3.DatabaseError as err:
                    if _busy(err) or attempt:
                        raise UsageError(f"cannot write the cache database {self.db_path}: {err}",
                                          hint="choose another place with --cache-dir or NIXGEN_CACHE_DIR") \
                            from err
                    self._recover(err)

    def close(self) -> None:
        with self._lock:
            self._close_all()
            self._generation += 1

    # -- pages ----------------------------------------------------------------------------------------
    def page(self, url: str) -> PageRow | None:
        """``(status, etag, last_modified, fresh_until, body)`` of a cached project page."""
        return self._read("SELECT status, etag, last_modified, fresh_until, body FROM pages WHERE url=?",
                          (url,))  # type: ignore[return-value]

    def put_page(self, url: str, status: int, etag: str | None, last_modified: str | None,
                 fresh_until: float, body: bytes | None) -> None:
        self._write("INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?, ?)",
                    (url, status, etag, last_modified, fresh_until, body))

    def drop_page(self, url: str) -> None:
        """Forget a cached page (one that did not decode)."""
        self._write("DELETE FROM pages WHERE url=?", (url,))

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

    def drop_metadata(self, key: str) -> None:
        """Forget a cached metadata record (one that did not decode)."""
        self._write("DELETE FROM metadata WHERE key=?", (key,))

    def direct(self, url: str) -> tuple[str, str] | None:
        row = self._read("SELECT sha256, filename FROM direct WHERE url=?", (url,))
        return (str(row[0]), str(row[1])) if row is not None else None

    def put_direct(self, url: str, sha256: str, filename: str) -> None:
        self._write("INSERT OR REPLACE INTO direct VALUES (?, ?, ?)", (url, sha256, filename))

    # -- artifacts --------------------------------------------------------------------------------------
    def artifact_path(self, sha256: str, filename: str) -> Path:
        """``artifacts/<sha[:2]>/<sha256><suffix>``: the name on disk comes from the hash alone (plus one
        suffix of a fixed list, so that tools can tell a zip from a tarball); the index's file name is
        data, never part of a path."""
        if not valid_sha256(sha256):
            raise ValueError(f"internal error: {sha256[:80]!r} is not a sha256 digest")
        suffix = next((s for s in ARTIFACT_SUFFIXES if filename.endswith(s)), "")
        return self.root / "artifacts" / sha256[:2] / f"{sha256}{suffix}"

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


def _busy(err: sqlite3.DatabaseError) -> bool:
    """Whether the error is not damage to the file (another process holds it, the disk is full or read-only,
    ...): only a DatabaseError that is no OperationalError ("file is not a database", "database disk image
    is malformed") means the file itself is damaged."""
    return isinstance(err, sqlite3.OperationalError)


def _cannot_open(path: Path, err: Exception) -> UsageError:
    return UsageError(f"cannot open the cache database {path}: {err}",
                       hint="choose another place with --cache-dir or NIXGEN_CACHE_DIR")


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
