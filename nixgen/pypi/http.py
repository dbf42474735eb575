"""HTTP for the index: one kept-alive ``requests.Session`` shared by the worker threads, retries with
exponential backoff, and errors a person can act on. ``requests`` is imported only when the network is
actually used, so a warm run never pays for it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from nixgen.errors import HashMismatch, IndexAccessError
from nixgen.pypi.config import pip_setting

if TYPE_CHECKING:
    import requests

    from nixgen.pypi.cache import Cache

T = TypeVar("T")

NETWORK_HINT = ("check the network connection and the index URL (--index-url); with a warm cache, "
                "--offline works without the network")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class Http:
    """GET requests with retries (timeouts, connection errors, 429 and 5xx), counted by ``on_fetch``."""

    def __init__(self, *, pool_size: int, retries: int = 3, backoff: float = 0.5, timeout: float = 30.0,
                 on_fetch: Callable[[str, int], None] | None = None, cert: str | None = None) -> None:
        self.pool_size = pool_size
        self.retries = max(1, retries)
        self.backoff = backoff
        self.timeout = timeout
        self.on_fetch = on_fetch
        self.cert = cert
        self._session: requests.Session | None = None
        self._lock = threading.Lock()

    @property
    def session(self) -> requests.Session:
        with self._lock:
            if self._session is None:
                import requests
                from requests.adapters import HTTPAdapter

                from nixgen import __version__ as version

                session = requests.Session()
                adapter = HTTPAdapter(pool_connections=8, pool_maxsize=self.pool_size, max_retries=0)
                session.mount("https://", adapter)
                session.mount("http://", adapter)
                session.headers["User-Agent"] = f"nixgen/{version}"
                cert = self.cert or pip_setting("cert")  # pip's CA bundle (PIP_CERT, pip.conf), as pip would
                if cert:
                    session.verify = cert
                self._session = session
            return self._session

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.close()
                self._session = None

    def _fetched(self, url: str, nbytes: int) -> None:
        if self.on_fetch is not None:
            self.on_fetch(url, nbytes)

    def get(self, url: str, headers: Mapping[str, str] | None = None,
            ok: frozenset[int] = frozenset({200})) -> requests.Response:
        """GET ``url`` and read the body; a status outside ``ok`` (other than 404 and retried ones) raises
        IndexAccessError. 404 is returned for the caller to judge."""
        return self._attempts(url, lambda: self._get_once(url, headers, ok))

    def _get_once(self, url: str, headers: Mapping[str, str] | None,
                  ok: frozenset[int]) -> requests.Response:
        resp = self.session.get(url, headers=dict(headers or {}), timeout=self.timeout)
        try:
            if resp.status_code in RETRY_STATUSES:
                raise _Retry(f"HTTP {resp.status_code} {resp.reason}")
            if resp.status_code not in ok and resp.status_code != 404:
                raise _fatal(url, resp)
            body = resp.content  # read inside the retry loop: a broken body is retried as well
        finally:
            resp.close()
        self._fetched(url, len(body))
        return resp

    def get_range(self, url: str, spec: str) -> tuple[bytes, int, int] | requests.Response | None:
        """A ranged GET (``spec`` like ``bytes=-65536``): ``(data, offset, file size)`` for a 206 answer; the
        unread response when the server ignored the range and sends the whole file (200); None when it
        refuses ranges (416 or a 206 without a usable Content-Range)."""

        def once() -> tuple[bytes, int, int] | requests.Response | None:
            resp = self.session.get(url, headers={"Range": spec, "Accept-Encoding": "identity"}, stream=True,
                                    timeout=self.timeout)
            if resp.status_code == 200:
                return resp
            try:
                if resp.status_code in RETRY_STATUSES:
                    raise _Retry(f"HTTP {resp.status_code} {resp.reason}")
                if resp.status_code == 416:
                    return None
                if resp.status_code != 206:
                    raise _fatal(url, resp)
                body = resp.content
            finally:
                resp.close()
            self._fetched(url, len(body))
            unit, _, rest = resp.headers.get("Content-Range", "").partition(" ")
            span, _, total = rest.partition("/")
            first, _, _ = span.partition("-")
            if unit != "bytes" or not first.isdigit() or not total.isdigit():
                return None
            return body, int(first), int(total)

        return self._attempts(url, once)

    def download(self, url: str, cache: Cache, filename: str, expected_sha256: str | None,
                 first: requests.Response | None = None) -> tuple[Path, str, int]:
        """Stream ``url`` into the artifact cache, checking its sha256: ``(path, sha256, size)``.

        ``first`` is a response already under way for the whole file (a server that ignored a Range
        request) whose body is used instead of asking again.
        """
        import hashlib

        import urllib3

        pending = [first] if first is not None else []

        def once() -> tuple[Path, str, int]:
            resp = pending.pop() if pending else self.session.get(
                url, stream=True, timeout=self.timeout, headers={"Accept-Encoding": "identity"})
            handle, tmp = cache.temp_file()
            digest = hashlib.sha256()
            size = 0
            try:
                with handle, resp:
                    if resp.status_code in RETRY_STATUSES:
                        raise _Retry(f"HTTP {resp.status_code} {resp.reason}")
                    if resp.status_code != 200:
                        raise _fatal(url, resp)
                    # The bytes as stored: a server that gzips a .tar.gz in transit must not change its hash.
                    try:
                        for chunk in resp.raw.stream(1 << 20, decode_content=False):
                            digest.update(chunk)
                            handle.write(chunk)
                            size += len(chunk)
                    except urllib3.exceptions.HTTPError as err:  # a broken or stalled body: try again
                        raise _Retry(f"download interrupted: {err}") from err
                sha256 = digest.hexdigest()
                if expected_sha256 is not None and sha256 != expected_sha256.lower():
                    raise HashMismatch(
                        f"{filename} downloaded from {url} has sha256 {sha256}, but the index says "
                        f"{expected_sha256}",
                        hint="try again; if it persists, the index (or a proxy) serves a different file "
                             "than it lists")
                path = cache.commit_artifact(tmp, sha256, filename)
            finally:
                tmp.unlink(missing_ok=True)
            self._fetched(url, size)
            return path, sha256, size

        return self._attempts(url, once)

    def _attempts(self, url: str, action: Callable[[], T]) -> T:
        import requests

        last = ""
        for attempt in range(self.retries):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                return action()
            except _Retry as err:
                last = str(err)
            except requests.exceptions.SSLError as err:
                raise IndexAccessError(
                    f"TLS failure talking to {url}: {err}",
                    hint="check the system's certificates (pip's `cert` setting / PIP_CERT is honoured)",
                ) from err
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                    requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError) as err:
                last = _describe(err)
            except requests.exceptions.RequestException as err:
                raise IndexAccessError(f"cannot get {url}: {_describe(err)}", hint=NETWORK_HINT) from err
        times = "once" if self.retries == 1 else f"{self.retries} times"
        raise IndexAccessError(f"cannot get {url}: {last} (tried {times})", hint=NETWORK_HINT)


class _Retry(Exception):
    """A transient failure: try again after a pause."""


def _fatal(url: str, resp: requests.Response) -> IndexAccessError:
    if resp.status_code in (401, 403):
        hint = "the index wants credentials: put them in the index URL or in ~/.netrc"
    else:
        hint = NETWORK_HINT
    return IndexAccessError(f"{url} answered HTTP {resp.status_code} {resp.reason}", hint=hint)


def _describe(err: Exception) -> str:
    import requests

    if isinstance(err, requests.exceptions.Timeout):
        return "timed out"
    text = str(err)
    return text if len(text) < 200 else text[:200] + "…"
