"""The package index as nixgen's resolver sees it: project pages (PEP 691, PEP 503 as a fallback), core
metadata (PEP 658, HTTP ranges, or the file itself), direct references (PEP 508 ``name @ url``).

Everything goes through the cache (:mod:`nixgen.pypi.cache`): a page is not asked for again while
``Cache-Control: max-age`` says it is fresh and is revalidated (ETag / Last-Modified) after; what was read
from a file is kept forever under the file's sha256. ``offline=True`` uses the cache alone.

Work runs in a thread pool when prefetched and inline otherwise; each page and each file is worked on once
(a caller waiting for a queued task takes it over rather than wait for a worker).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Hashable, Iterable, MutableMapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import unquote, urlsplit

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from nixgen.errors import (
    HashMismatch,
    IndexAccessError,
    MetadataError,
    NixgenError,
    OfflineMiss,
    ProjectNotFound,
    UsageError,
)
from nixgen.fsutil import sha256_file
from nixgen.pypi.cache import Cache, PageRow, default_cache_dir
from nixgen.pypi.config import default_index_url, pip_setting
from nixgen.pypi.http import DEADLINE, MAX_BODY, READ_TIMEOUT, Http
from nixgen.pypi.metadata import (
    BuildSystem,
    SdistInfo,
    parse_metadata,
    read_sdist,
    wheel_metadata_from_file,
)
from nixgen.pypi.model import CoreMetadata, DistFile, ProjectFiles
from nixgen.pypi.pages import (
    ACCEPT,
    Page,
    Release,
    group_releases,
    page_of_body,
    parse_html_page,
    parse_json_page,
    plain_filename,
    release_rows,
    rows_to_files,
    split_filename,
    valid_sha256,
)
from nixgen.pypi.ranges import NotAWheel, RangeFetch, RangesUnusable, read_wheel_metadata
from nixgen.pypi.urls import redact_url, strip_userinfo

if TYPE_CHECKING:
    import requests

    from nixgen.pypi.vcs import GitFound
    from nixgen.resolve.model import Artifact

T = TypeVar("T")
OFFLINE_HINT = "run nixgen once without --offline to fill the cache"
_VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")


class _Task(Generic[T]):
    """One unit of work (a page, a file's metadata) that runs exactly once, in a worker or in the caller.

    (A ``concurrent.futures.Future`` would do, but importing that module costs a warm run 4 ms.)"""

    __slots__ = ("args", "claimed", "done", "error", "fn", "value")

    def __init__(self, fn: Callable[..., T], args: tuple[Any, ...]) -> None:
        self.fn, self.args = fn, args
        self.claimed = False
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None

    def run(self, lock: threading.Lock) -> None:
        with lock:
            if self.claimed:
                return
            self.claimed = True
        try:
            self.value = self.fn(*self.args)
        except BaseException as err:  # handed to whoever waits for the result
            self.error = err
        finally:
            self.done.set()

    def result(self) -> T:
        self.done.wait()
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


class _Notes(list[str]):
    """A list of notes that also hands each new one to a callback (the CLI prints them as they come)."""

    def __init__(self, on_note: Callable[[str], None] | None) -> None:
        super().__init__()
        self._on_note = on_note
        self._lock = threading.Lock()

    def append(self, note: str) -> None:
        with self._lock:
            super().append(note)
        if self._on_note is not None:
            self._on_note(note)


class _Workers:
    """Daemon worker threads taking tasks from a queue. Unlike ``ThreadPoolExecutor`` (whose threads the
    interpreter joins at exit), a stopped pool is never waited for: Ctrl-C ends nixgen at once even while a
    worker is stuck in a slow request; queued tasks are dropped."""

    def __init__(self, size: int) -> None:
        import queue

        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._size = size
        self._threads: list[threading.Thread] = []
        self._stopped = False

    def submit(self, job: Callable[[], None]) -> None:
        if self._stopped:
            return
        self._queue.put(job)
        if len(self._threads) < self._size:
            thread = threading.Thread(target=self._work, name=f"nixgen-index-{len(self._threads)}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _work(self) -> None:
        while not self._stopped:
            job = self._queue.get()
            if job is None or self._stopped:
                return
            job()

    def stop(self) -> None:
        """Stop taking tasks; threads still in a request end with it (or with the process), unwaited."""
        self._stopped = True
        for _ in self._threads:
            self._queue.put(None)


def _max_age(headers: Any) -> float:
    """Seconds a response stays fresh (``Cache-Control: max-age`` less ``Age``); 0 means revalidate."""
    value = 0.0
    for part in headers.get("Cache-Control", "").lower().split(","):
        key, _, arg = part.strip().partition("=")
        if key in ("no-cache", "no-store"):
            return 0.0
        if key == "max-age" and arg.strip().isdigit():
            value = float(arg.strip())
    age = headers.get("Age", "")
    return max(0.0, value - float(age)) if age.strip().isdigit() else value


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _file_key(file: DistFile) -> str:
    return f"sha256:{file.sha256}" if file.sha256 else f"url:{file.url}"


class Index:
    """One or more package indexes (the first index wins for a file name both have), behind a cache."""

    def __init__(self, urls: Sequence[str] | None = None, *, cache_dir: Path | None = None,
                 offline: bool = False, exclude_newer: datetime | None = None, max_workers: int = 16,
                 on_fetch: Callable[[str, int], None] | None = None, retries: int = 3, backoff: float = 0.5,
                 timeout: float = READ_TIMEOUT, deadline: float = DEADLINE, max_body: int = MAX_BODY,
                 on_note: Callable[[str], None] | None = None) -> None:
        # What was dropped or repaired on the way, in order; each is also handed to ``on_note`` (stderr).
        self.notes: list[str] = _Notes(on_note)
        self.http = Http(pool_size=max(1, max_workers), retries=retries, backoff=backoff, timeout=timeout,
                         on_fetch=on_fetch, deadline=deadline, max_body=max_body)
        if not urls:
            urls = [default_index_url()]
            for extra in pip_setting("extra-index-url", every=True):
                if extra.startswith(("http://", "https://")):
                    urls.append(extra)
                else:
                    self.notes.append(f"pip's extra-index-url {redact_url(extra)} is not an HTTP(S) index; "
                                      "nixgen does not use it")
        given = [u if u.endswith("/") else u + "/" for u in urls]
        for url in given:
            if not url.startswith(("http://", "https://")):
                raise UsageError(f"index URL {redact_url(url)}: nixgen reads package indexes over HTTP(S) only",
                                 hint="serve a local index directory with `python -m http.server` and "
                                      "give its http:// URL")
        # Credentials stay in the Http layer; every URL kept from here on (and every DistFile URL) has none.
        self.urls: tuple[str, ...] = tuple(dict.fromkeys(self.http.add_credentials(u) for u in given))
        self.cache = Cache(Path(cache_dir if cache_dir is not None else default_cache_dir()) / "pypi",
                           notes=self.notes)
        self.offline = offline
        if exclude_newer is not None and exclude_newer.tzinfo is None:
            exclude_newer = exclude_newer.replace(tzinfo=UTC)
        self.exclude_newer = exclude_newer
        self._not_after = exclude_newer.timestamp() if exclude_newer is not None else None
        self.max_workers = max(1, max_workers)
        self._lock = threading.Lock()
        self._pool: _Workers | None = None
        self._pages: dict[tuple[str, str], _Task[Page]] = {}
        self._meta: dict[str, _Task[CoreMetadata]] = {}
        self._sdists: dict[str, _Task[dict[str, Any]]] = {}
        self._built: dict[tuple[str, str], _Task[dict[str, Any]]] = {}  # (sdist sha256, Python X.Y)
        self._jobs: dict[Hashable, _Task[Any]] = {}  # other per-file facts read in the background
        self._projects: dict[str, ProjectFiles] = {}
        self._git: dict[tuple[str, str | None], GitFound] = {}

    # -- life cycle -----------------------------------------------------------------------------------
    def __enter__(self) -> Index:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers (queued prefetches are dropped, requests in flight are not waited for) and close
        the connections and the cache: returns at once, so Ctrl-C ends nixgen at once."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop()
        self.http.close()
        self.cache.close()

    def _run(self, table: dict[Any, _Task[T]], key: Any, fn: Callable[..., T], *args: Any,
             background: bool) -> _Task[T]:
        with self._lock:
            task = table.get(key)
            new = task is None
            if task is None:
                task = table[key] = _Task(fn, args)
            if new and background:
                if self._pool is None:
                    self._pool = _Workers(self.max_workers)
                lock = self._lock
                self._pool.submit(lambda: task.run(lock))
        if not background:
            task.run(self._lock)  # no-op when a worker has it already
        return task

    # -- project pages --------------------------------------------------------------------------------
    def project(self, name: str, *, undated: bool = False) -> ProjectFiles:
        """The project's files (PEP 503/691), after ``exclude_newer`` unless ``undated`` (a nixpkgs package's
        metadata: nixpkgs' version is kept whatever its upload date). Blocks.

        With several indexes, the first index (in the order given) that has the project serves all of its
        files and later indexes' pages of it are not used (uv's ``first-index`` rule), so a later index cannot
        slip in a file of a project an earlier one owns (dependency confusion). A failure of an earlier index
        is an error, not a reason to look further."""
        key = canonicalize_name(name)
        found = self._projects.get(f"{key} undated" if undated else key)
        if found is not None:
            return found
        later = [self._run(self._pages, (u, key), self._load_page, u, key, background=True)
                 for u in self.urls[1:]]
        tasks = [self._run(self._pages, (self.urls[0], key), self._load_page, self.urls[0], key,
                           background=False), *later]
        for url, task in zip(self.urls, tasks, strict=True):
            task.run(self._lock)  # take it over if it is still queued behind other prefetches
            page = task.result()
            if page.releases is not None:
                result = self._files_of(url, key, page, undated)
                self._projects[f"{key} undated" if undated else key] = result
                return result
        where = (f"the index {redact_url(self.urls[0])}" if len(self.urls) == 1
                 else "the indexes " + ", ".join(map(redact_url, self.urls)))
        raise ProjectNotFound(f"no project named {key} on {where}",
                              hint="check the name's spelling and the index URL (--index-url)")

    def _files_of(self, index_url: str, key: str, page: Page, undated: bool = False) -> ProjectFiles:
        """The project of a page's rows, its ``DistFile`` objects made per release as asked for; cached rows
        that do not decode are dropped and the page fetched again (with a note)."""
        not_after = None if undated else self._not_after
        url = f"{index_url}{key}/"
        try:
            groups = group_releases(page, not_after)
        except (ValueError, TypeError):
            self.notes.append(f"the cached page of {key} ({redact_url(url)}) was unreadable; fetched it again")
            self.cache.drop_page(url)
            page = self._load_page(index_url, key)
            groups = group_releases(page, not_after)

        def make(spellings: Sequence[Release]) -> list[DistFile]:
            try:
                return rows_to_files(key, release_rows(spellings), not_after, page.dated)
            except (ValueError, TypeError, IndexError, KeyError, OverflowError, AttributeError, EOFError) as err:
                self.cache.drop_page(url)
                raise IndexAccessError(f"the cached page of {key} ({redact_url(url)}) is damaged: {err}",
                                       hint="run nixgen again: the damaged page was dropped from the cache") from None

        return ProjectFiles(key, groups, make)

    def prefetch(self, names: Iterable[str]) -> None:
        """Start loading these projects' pages in the background (from the cache when it answers, else from
        the index)."""
        if self.offline:
            return
        for name in names:
            key = canonicalize_name(name)
            if key in self._projects:
                continue
            for url in self.urls:
                if (url, key) not in self._pages:  # the worker reads the cache first (not this thread: its
                    # reads would wait on the workers' writes)
                    self._run(self._pages, (url, key), self._load_page, url, key, background=True)

    def _load_page(self, index_url: str, name: str) -> Page:
        url = f"{index_url}{name}/"
        cached = self.cache.page(url)
        page = _decode(cached) if cached is not None else None
        if cached is not None and page is None:
            self.notes.append(f"the cached page of {name} ({redact_url(url)}) was unreadable; fetching it again")
            cached = None
        if self.offline:
            if page is None:
                raise OfflineMiss(f"the index page of {name} ({redact_url(url)}) is not in the cache "
                                  f"{self.cache.root}",
                                  hint=OFFLINE_HINT)
            return page
        now = time.time()
        if cached is not None and page is not None and cached[3] > now:
            return page
        headers = {"Accept": ACCEPT}
        if page is not None and cached is not None:
            if cached[1]:
                headers["If-None-Match"] = cached[1]
            if cached[2]:
                headers["If-Modified-Since"] = cached[2]
        resp = self.http.get(url, headers, ok=frozenset({200, 304, 410}))
        fresh_until = now + _max_age(resp.headers)
        if resp.status == 304 and page is not None:
            self.cache.touch_page(url, fresh_until)
            return page
        if resp.status in (404, 410):
            self.cache.put_page(url, 404, None, None, fresh_until, None)
            return Page(None)
        if resp.status != 200:
            raise IndexAccessError(f"{redact_url(url)} answered HTTP {resp.status} without a page to reuse")
        content_type = resp.headers.get("Content-Type", "")
        # The page's own URL after redirects, without credentials: file URLs are resolved against it.
        page_url = strip_userinfo(resp.url)
        if not page_url.startswith(("http://", "https://")):
            raise IndexAccessError(f"{redact_url(url)} redirected to a URL that is not http(s)")
        try:
            if "json" in content_type:
                rows = parse_json_page(resp.content, page_url, name, self.notes)
            else:
                rows = parse_html_page(resp.content, page_url, name, resp.encoding, self.notes)
        except (ValueError, TypeError, AttributeError, RecursionError) as err:
            raise IndexAccessError(f"{redact_url(url)} sent a project page nixgen cannot read "
                                   f"({content_type[:60]}): {str(err)[:200]}",
                                   hint="is the index URL a PEP 503/691 simple index?") from None
        page = Page.of_rows(rows)
        self.cache.put_page(url, 200, resp.headers.get("ETag"), resp.headers.get("Last-Modified"),
                            fresh_until, page.body())
        return page

    # -- metadata -------------------------------------------------------------------------------------
    def metadata(self, file: DistFile) -> CoreMetadata:
        """The file's core metadata: for a wheel from PEP 658 ``<url>.metadata``, else HTTP ranges, else the
        downloaded wheel; for an sdist what it says without a build (see :mod:`nixgen.pypi.metadata`)."""
        key = _file_key(file)
        return self._run(self._meta, key, self._load_metadata, file, background=False).result()

    def prefetch_metadata(self, files: Iterable[DistFile]) -> None:
        """Start reading these files' metadata in the background (those not in the cache)."""
        if self.offline:
            return
        for file in files:
            key = _file_key(file)
            if key in self._meta or self.cache.metadata(key) is not None:
                continue
            self._run(self._meta, key, self._load_metadata, file, background=True)

    def prefetch_chosen(self, name: str, what: Hashable, choose: Callable[[ProjectFiles], Sequence[DistFile]]) -> None:
        """In the background: the project's page, then the metadata of the files ``choose`` picks from it
        (a nixpkgs candidate's: which file is read depends on the page); once per ``(name, what)``. Errors are
        left for whoever asks for the same page or metadata in the foreground."""
        if self.offline:
            return
        key = canonicalize_name(name)
        self._run(self._jobs, ("chosen", key, what), self._page_then_metadata, key, choose, background=True)

    def _page_then_metadata(self, key: str, choose: Callable[[ProjectFiles], Sequence[DistFile]]) -> None:
        try:
            files = choose(self.project(key))
        except NixgenError:
            return
        for file in files:
            fkey = _file_key(file)
            if fkey not in self._meta and self.cache.metadata(fkey) is None:
                self._run(self._meta, fkey, self._load_metadata, file, background=False)

    def sdist_build_system(self, file: DistFile) -> BuildSystem | None:
        """``[build-system]`` of an sdist's pyproject.toml (PEP 518): requires and build-backend."""
        if file.kind != "sdist":
            return None
        system = self._sdist_record(file).get("build_system")
        return (tuple(system[0]), system[1]) if system else None

    def _cached_record(self, key: str, what: str) -> dict[str, Any] | None:
        """A cached metadata record, or None (with a note, and the row dropped) when it does not decode."""
        text = self.cache.metadata(key)
        if text is None:
            return None
        try:
            record = json.loads(text)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            if record.get("metadata") is not None:
                record["metadata"] = CoreMetadata.from_json(record["metadata"])  # parsed once, here
        except (ValueError, TypeError, KeyError, AttributeError):
            self.notes.append(f"the cached metadata of {what} was unreadable; reading it again")
            self.cache.drop_metadata(key)
            return None
        return record

    def _load_metadata(self, file: DistFile) -> CoreMetadata:
        if file.kind == "sdist":
            record = self._sdist_record(file)
        else:
            key = _file_key(file)
            cached = self._cached_record(key, file.filename)
            if cached is not None:
                record = cached
            elif self.offline:
                raise OfflineMiss(f"the metadata of {file.filename} is not in the cache {self.cache.root}",
                                  hint=OFFLINE_HINT)
            else:
                # Only what verified bytes say is cached, errors included: bytes checked against a hash,
                # a complete body (its Content-Length), or a hash-checked download.
                try:
                    md, verified = self._wheel_metadata(file)
                    record = {"metadata": md.to_json()}
                except _Unverified as err:
                    raise err.error from None
                except MetadataError as err:
                    if isinstance(err, HashMismatch):
                        raise
                    record, verified = {"error": err.message}, file.sha256 is not None
                if verified:
                    self.cache.put_metadata(key, json.dumps(record))
        return _metadata_of(record, file)

    def _wheel_metadata(self, file: DistFile) -> tuple[CoreMetadata, bool]:
        """The wheel's metadata and whether the bytes it came from are verified (see ``_load_metadata``);
        a MetadataError from unverified bytes comes wrapped in ``_Unverified`` (not to be cached)."""
        where = file.filename
        shown = redact_url(file.url)
        resp = self.http.get(file.url + ".metadata", ok=frozenset({200, 410}))
        if resp.status == 200:
            data = resp.content
            if file.metadata_sha256 and _sha256(data) != file.metadata_sha256.lower():
                raise HashMismatch(f"{shown}.metadata does not match the sha256 the index gives for it",
                                   hint="try again; if it persists, the index serves inconsistent data")
            verified = bool(file.metadata_sha256) or resp.complete
            try:
                md = _matching(parse_metadata(data, source="pep658", trusted=True, where=f"{where}.metadata"),
                               file, f"{where}.metadata")
            except MetadataError as err:
                if verified:
                    raise
                raise _Unverified(err) from None
            return md, verified
        whole: list[requests.Response] = []

        def fetch(spec: str) -> tuple[bytes, int, int] | None:
            got = self.http.get_range(file.url, spec)
            if got is None or isinstance(got, tuple):
                return got
            whole.append(got)  # the server ignored Range and is sending the whole file
            return None

        try:
            data = read_wheel_metadata(fetch, file.project)
            md = parse_metadata(data, source="range", trusted=True, where=where)
            return _matching(md, file, where), True
        except RangesUnusable:
            pass
        except (NotAWheel, MetadataError) as err:
            # Range answers carry no hash: what they say is not trusted to be the file. The file itself,
            # downloaded and hash-checked, decides.
            self.notes.append(f"reading {where} by HTTP ranges failed ({err}); downloading the whole file")
            for pending in whole:
                pending.close()
            whole.clear()
        path = self._artifact(file, whole[0] if whole else None)
        md = parse_metadata(wheel_metadata_from_file(path, file.project, where), source="download",
                            trusted=True, where=where)
        return _matching(md, file, where), file.sha256 is not None

    def _sdist_record(self, file: DistFile) -> dict[str, Any]:
        key = _file_key(file)
        return self._run(self._sdists, key, self._load_sdist, file, key, background=False).result()

    def _load_sdist(self, file: DistFile, key: str) -> dict[str, Any]:
        cached = self._cached_record(key, file.filename)
        if cached is not None:
            return cached
        if self.offline:
            raise OfflineMiss(f"{file.filename} (to read its metadata) is not in the cache {self.cache.root}",
                              hint=OFFLINE_HINT)
        path = self._artifact(file, None)
        record = _sdist_json(_sdist_matching(read_sdist(path, file.filename, str(file.version)), file))
        self.cache.put_metadata(key, json.dumps(record))
        return record

    # -- artifacts and direct references ----------------------------------------------------------------
    def _artifact(self, file: DistFile, first: requests.Response | None) -> Path:
        """The file, from the artifact cache or downloaded into it (checked against the index's sha256); a
        cached file whose hash no longer matches is dropped and downloaded again (with a note)."""
        sha256 = file.sha256
        if not sha256:
            known = self.cache.direct(file.url)
            sha256 = known[0] if known is not None and valid_sha256(known[0]) else None
        if sha256:
            path = self._verified_artifact(sha256, file.filename)
            if path is not None:
                if first is not None:
                    first.close()
                return path
        if self.offline:
            raise OfflineMiss(f"{file.filename} is not in the cache {self.cache.root}", hint=OFFLINE_HINT)
        path, got, _ = self.http.download(file.url, self.cache, file.filename, file.sha256, first, size=file.size)
        if not file.sha256:
            self.cache.put_direct(file.url, got, file.filename)
        return path

    def _verified_artifact(self, sha256: str, filename: str) -> Path | None:
        """A cached artifact whose bytes still have this sha256, else None (a damaged one is removed)."""
        path = self.cache.artifact(sha256, filename)
        if path is None:
            return None
        if sha256_file(path) == sha256:
            return path
        self.notes.append(f"the cached {filename} no longer matches its sha256; downloading it again")
        path.unlink(missing_ok=True)
        return None

    def prefetch_facts(self, kind: str, files: Sequence[tuple[str, Artifact]],
                       read: Callable[[Index, str, Artifact], object]) -> None:
        """Start :meth:`facts_of_files`' reads in the background (when online): a later call for the same
        files waits for these instead of starting its own."""
        if self.offline:
            return
        for name, art in files:
            self._run(self._jobs, (kind, art.sha256), read, self, name, art, background=True)

    def facts_of_files(self, kind: str, files: Sequence[tuple[str, Artifact]],
                       read: Callable[[Index, str, Artifact], T | None],
                       memo: MutableMapping[str, T | None]) -> dict[str, T]:
        """``read(index, project, file)`` for each ``(project, file)`` not in ``memo`` (by sha256), all at once
        on the index's workers (each is a few requests or a download); the facts found, by sha256. ``kind``
        names the fact, so two kinds of one file are two reads."""
        waiting = {art.sha256: self._run(self._jobs, (kind, art.sha256), read, self, name, art,
                                         background=not self.offline)
                   for name, art in files if art.sha256 not in memo}
        for sha256, task in waiting.items():
            memo[sha256] = task.result()
        return {art.sha256: found for _name, art in files if (found := memo[art.sha256]) is not None}

    def read_by_ranges(self, file: DistFile, read: Callable[[RangeFetch], T]) -> T | None:
        """What ``read`` makes of the file through HTTP range requests (``nixgen.pypi.ranges``); None when
        the file is in the artifact cache (read that), offline, or the server will not serve ranges. What
        ranges bring carries no hash: only facts that are not checked against it are read this way."""
        if self.offline or (file.sha256 and self.cache.artifact(file.sha256, file.filename) is not None):
            return None
        whole: list[requests.Response] = []

        def fetch(spec: str) -> tuple[bytes, int, int] | None:
            got = self.http.get_range(file.url, spec)
            if got is None or isinstance(got, tuple):
                return got
            whole.append(got)
            return None

        try:
            return read(fetch)
        except RangesUnusable:
            return None
        except (NotAWheel, NixgenError) as err:  # a damaged zip, a refused range: the whole file decides
            message = err.message if isinstance(err, NixgenError) else str(err)
            self.notes.append(f"reading {file.filename} by HTTP ranges failed ({message}); downloading it")
            return None
        finally:
            for pending in whole:
                pending.close()

    def artifact(self, file: DistFile) -> Path:
        """The file itself, from the artifact cache or downloaded (checked against the index's sha256)."""
        return self._artifact(file, None)

    def metadata_by_build(self, file: DistFile, timeout: float = 300.0, *, python: str | None = None,
                          allow_unboxed: bool = False) -> CoreMetadata:
        """PEP 517: an sdist's metadata from its build backend, run boxed with a Python ``python`` (``3.12``)
        when the host has one; at most once per (sdist sha256, Python minor) for every system and run."""
        from nixgen.pypi.buildmeta import build_key, cached_metadata

        sha256, interp, note = build_key(self, file, python)
        task = self._run(self._built, (sha256, interp.minor), cached_metadata, self, file, sha256, interp, note,
                         allow_unboxed, timeout, background=False)
        return _metadata_of(task.result(), file)

    def git(self, name: str, url: str, *, python: str | None = None, allow_unboxed: bool = False,
            build_metadata: bool = True) -> GitFound:
        """A PEP 508 direct reference ``name @ git+URL``: its commit, checkout hash and metadata
        (:mod:`nixgen.pypi.vcs`), worked out once per run for every system."""
        from nixgen.pypi.vcs import resolve_git

        key = (url, python)
        with self._lock:
            found = self._git.get(key)
        if found is None:
            found = resolve_git(self, name, url, python=python, allow_unboxed=allow_unboxed,
                                build_metadata=build_metadata)
            with self._lock:
                self._git[key] = found
        return found

    def direct(self, name: str, url: str) -> tuple[DistFile, CoreMetadata]:
        """A PEP 508 direct reference ``name @ url`` to a wheel or sdist: downloaded (and cached), hashed,
        its metadata read. A ``#sha256=`` fragment is checked."""
        project = canonicalize_name(name)
        if url.startswith(_VCS_PREFIXES):
            raise MetadataError(f"{name} @ {redact_url(url)}: a version-control reference is not a file",
                                hint="nixgen fetches git sources (git+https://…) as such; point other "
                                     "requirements at a wheel or sdist URL")
        base, _, fragment = url.partition("#")
        # Credentials in the URL are sent to its host from the Http layer; nothing kept carries them.
        base = self.http.add_credentials(base)
        shown = redact_url(url)
        expected = fragment[7:].lower() if fragment.startswith("sha256=") else None
        if expected is not None and not valid_sha256(expected):
            raise MetadataError(f"{name} @ {shown}: the #sha256= fragment is not 64 hex digits",
                                hint="give the file's sha256 as 64 hex digits, or leave the fragment out")
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https", "file"):
            raise MetadataError(f"{name} @ {shown}: nixgen fetches direct references over http(s) only",
                                hint="point the requirement at an https:// URL or a local file:// path")
        filename = unquote(parts.path.rsplit("/", 1)[-1])
        if not plain_filename(filename):
            raise MetadataError(f"{name} @ {shown}: the URL's file name {filename[:120]!r} is not a plain "
                                "wheel or sdist file name (path separators, '..' or odd characters)",
                                hint="a direct reference must end in the file's own name, like "
                                     "name-1.0-py3-none-any.whl or name-1.0.tar.gz")
        split = split_filename(filename, project)
        if split is None and filename.endswith((".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz")):
            stem = filename.rsplit("-", 1)
            split = (False, stem[1].split(".tar")[0].removesuffix(".zip").removesuffix(".tgz"), "") \
                if len(stem) == 2 else None
        if split is not None and split[1] and _version_or_none(split[1]) is None:
            split = None
        if split is None:
            raise MetadataError(f"{name} @ {shown}: {filename!r} is not a wheel or sdist name nixgen can read",
                                hint="a direct reference must name a .whl or an sdist (.tar.gz, .zip)")
        is_wheel, version_text, tag_string = split
        path, sha256 = self._direct_file(name, shown, base, parts.scheme, filename, expected)
        size = path.stat().st_size
        from packaging.tags import parse_tag

        file = DistFile(project=project, filename=filename, url=base, version=Version(version_text),
                        kind="wheel" if is_wheel else "sdist", sha256=sha256, requires_python=None,
                        yanked=False, upload_time=None, size=size, has_metadata=False,
                        tags=frozenset(parse_tag(tag_string)) if is_wheel else frozenset())
        key = _file_key(file)
        cached = self._cached_record(key, filename)
        if cached is not None:
            return file, _metadata_of(cached, file)
        if is_wheel:
            md = _matching(parse_metadata(wheel_metadata_from_file(path, project, filename), source="download",
                                          trusted=True, where=filename), file, filename)
            record: dict[str, Any] = {"metadata": md.to_json()}
        else:
            record = _sdist_json(read_sdist(path, filename, version_text))
        self.cache.put_metadata(key, json.dumps(record))
        return file, _metadata_of(record, file)

    def _direct_file(self, name: str, url: str, base: str, scheme: str, filename: str,
                     expected: str | None) -> tuple[Path, str]:
        if scheme == "file":
            from urllib.request import url2pathname

            path = Path(url2pathname(urlsplit(base).path))
            if not path.is_file():
                raise MetadataError(f"{name} @ {url}: {path} is not a file",
                                    hint="local directories need a build; point at a wheel or sdist")
            sha256 = sha256_file(path)
            if expected is not None and sha256 != expected:
                raise HashMismatch(f"{path} has sha256 {sha256}, but the requirement says {expected}")
            return path, sha256
        known = self.cache.direct(base)
        if known is not None and valid_sha256(known[0]) and (expected is None or known[0] == expected):
            path_hit = self._verified_artifact(known[0], filename)
            if path_hit is not None:
                return path_hit, known[0]
        if self.offline:
            raise OfflineMiss(f"{url} is not in the cache {self.cache.root}", hint=OFFLINE_HINT)
        path, sha256, _ = self.http.download(base, self.cache, filename, expected)
        self.cache.put_direct(base, sha256, filename)
        return path, sha256


class _Unverified(Exception):
    """A MetadataError found in bytes nothing vouches for (no hash, no Content-Length): not cached."""

    def __init__(self, error: MetadataError) -> None:
        super().__init__(error.message)
        self.error = error


def _version_or_none(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _matching(md: CoreMetadata, file: DistFile, where: str) -> CoreMetadata:
    """``md`` if its Name and Version are the file's (canonicalized name, PEP 440-equal version), as pip
    requires of a distribution's metadata; else MetadataError."""
    version = _version_or_none(md.version)
    if canonicalize_name(md.name) != file.project or version != file.version:
        raise MetadataError(f"{where}: the metadata names {md.name[:80]} {md.version[:40]}, but the file is "
                            f"{file.project} {file.version}",
                            hint="the index serves metadata of another distribution; pin another version or "
                                 "use another index")
    return md


def _sdist_matching(info: SdistInfo, file: DistFile) -> SdistInfo:
    """``info``, with its metadata refused (as an error) when trusted metadata names another project or
    version than the file (:func:`_matching`)."""
    if info.metadata is None or not info.metadata.trusted:
        return info
    try:
        _matching(info.metadata, file, file.filename)
    except MetadataError as err:
        return SdistInfo(None, err.message, info.build_system)
    return info


def _decode(cached: PageRow) -> Page | None:
    """The cached page, or None when the stored rows cannot be read (then it is fetched again)."""
    status, _, _, _, body = cached
    if status == 404:
        return Page(None)
    try:
        return page_of_body(body)
    except (ValueError, EOFError, TypeError):
        return None


def _metadata_of(record: dict[str, Any], file: DistFile) -> CoreMetadata:
    """The record's metadata: parsed already when it came from the cache (``_cached_record``)."""
    found = record.get("metadata")
    if found is None:
        raise MetadataError(record.get("error") or f"no metadata for {file.filename}",
                            hint="pin a version that has a wheel, or one whose sdist has static metadata")
    return found if isinstance(found, CoreMetadata) else CoreMetadata.from_json(found)


def _sdist_json(info: SdistInfo) -> dict[str, Any]:
    return {"metadata": info.metadata.to_json() if info.metadata is not None else None, "error": info.error,
            "build_system": list(info.build_system) if info.build_system is not None else None}

