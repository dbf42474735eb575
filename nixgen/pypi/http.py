"""HTTP for the index: one kept-alive ``requests.Session`` shared by the worker threads, retries with
exponential backoff, bounds on time and size, credentials kept in memory, and errors a person can act on.
``requests`` is imported only when the network is actually used, so a warm run never pays for it.

Bounds (module constants, stated in the README):

- :data:`DEADLINE`: one request — every attempt, every pause between them and the whole body — ends within
  this many seconds, however slowly the server sends (a watchdog shuts the socket down at the deadline; the
  socket timeout alone is per read). A download gets :data:`DEADLINE` plus a second per
  :data:`MIN_DOWNLOAD_RATE` bytes of its size.
- :data:`MAX_BODY`: a page or metadata body may inflate (gzip, deflate) to at most this many bytes.
- ``Retry-After`` (RFC 9110) on 429 and 503 is honoured when the pause fits in the deadline; otherwise the
  request fails at once, saying how long the server asked to wait.

Credentials: :meth:`Http.add_credentials` takes the userinfo out of an index URL and sends it (HTTP basic
auth) with every request to that scheme, host and port; no URL nixgen keeps or shows carries it, and every
URL in a message goes through :func:`nixgen.pypi.urls.redact_url`.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from nixgen.errors import HashMismatch, IndexAccessError
from nixgen.pypi.config import pip_setting
from nixgen.pypi.urls import MASK, SECRET_PARAMETERS, Origin, origin, redact_url, split_credentials
from nixgen.pypi.watchdog import Watchdog

if TYPE_CHECKING:
    import requests
    import requests.adapters

    from nixgen.pypi.cache import Cache

T = TypeVar("T")

DEADLINE = 60.0  # seconds for one request: all attempts, pauses and the whole body
READ_TIMEOUT = 30.0  # seconds one socket read may wait (connecting as well)
MAX_BODY = 100 * 1024 * 1024  # bytes a page or metadata body may decompress to
MIN_DOWNLOAD_RATE = 1024 * 1024  # bytes per second a download of known size is given beyond DEADLINE
CHUNK = 64 * 1024

NETWORK_HINT = ("check the network connection and the index URL (--index-url); with a warm cache, "
                "--offline works without the network")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Reply:
    """A response whose body was read in full: ``complete`` when the server gave a Content-Length and
    exactly that many bytes arrived, or sent it chunked to the final chunk (so it was not cut short)."""

    status: int
    reason: str
    headers: Mapping[str, str]
    content: bytes
    url: str
    encoding: str | None
    complete: bool


class Http:
    """GET requests with retries (timeouts, connection errors, 429 and 5xx), counted by ``on_fetch``."""

    def __init__(self, *, pool_size: int, retries: int = 3, backoff: float = 0.5, timeout: float = READ_TIMEOUT,
                 on_fetch: Callable[[str, int], None] | None = None, cert: str | None = None,
                 deadline: float = DEADLINE, max_body: int = MAX_BODY) -> None:
        self.pool_size = pool_size
        self.retries = max(1, retries)
        self.backoff = backoff
        self.timeout = timeout
        self.deadline = deadline
        self.max_body = max_body
        self.on_fetch = on_fetch
        self.cert = cert
        self._credentials: dict[Origin, tuple[str, str]] = {}
        self._session: requests.Session | None = None
        self._lock = threading.Lock()
        self._watchdog = Watchdog()  # each request's deadline (one thread for all of them)

    # -- credentials ------------------------------------------------------------------------------------
    @staticmethod
    def _origin(url: str) -> Origin:
        scheme, host, port = origin(url)
        return scheme, host, port if port is not None else _DEFAULT_PORTS.get(scheme)

    def add_credentials(self, url: str) -> str:
        """``url`` without its userinfo; the user and password it carried are sent (basic auth) with every
        request to the same scheme, host and port from now on."""
        bare, credentials = split_credentials(url)
        if credentials is not None:
            self._credentials[self._origin(bare)] = credentials
        return bare

    def _auth(self, url: str) -> tuple[str, str] | None:
        if not self._credentials:
            return None
        return self._credentials.get(self._origin(url))

    # -- session ----------------------------------------------------------------------------------------
    @property
    def session(self) -> requests.Session:
        with self._lock:
            if self._session is None:
                import requests
                from requests.adapters import HTTPAdapter

                from nixgen import __version__ as version

                session = requests.Session()
                adapter = _bounded_adapter(HTTPAdapter, self._watchdog)(pool_connections=8, pool_maxsize=self.pool_size,
                                                        max_retries=0)
                session.mount("https://", adapter)
                session.mount("http://", adapter)
                session.headers["User-Agent"] = f"nixgen/{version}"
                cert = self.cert or pip_setting("cert")  # pip's CA bundle (PIP_CERT, pip.conf), as pip would
                if cert:
                    session.verify = cert
                self._session = session
            return self._session

    def close(self) -> None:
        """Close the connections (not waiting for requests in flight in other threads); a later request
        opens new ones."""
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()
        self._watchdog.stop()

    def _fetched(self, url: str, nbytes: int) -> None:
        if self.on_fetch is not None:
            self.on_fetch(redact_url(url), nbytes)

    def _send(self, url: str, headers: Mapping[str, str], ends: float) -> requests.Response:
        """Start a streamed GET; the socket timeout is cut to what is left of the deadline."""
        left = ends - time.monotonic()
        if left <= 0:
            raise _Deadline()
        wait = min(self.timeout, left)
        _request_ends.value = ends  # read by the connection's watchdog while the headers arrive
        try:
            return self.session.get(url, headers=dict(headers), stream=True, timeout=(wait, wait),
                                    auth=self._auth(url))
        finally:
            _request_ends.value = None

    # -- requests ---------------------------------------------------------------------------------------
    def get(self, url: str, headers: Mapping[str, str] | None = None,
            ok: frozenset[int] = frozenset({200})) -> Reply:
        """GET ``url`` and read the body; a status outside ``ok`` (other than 404 and retried ones) raises
        IndexAccessError. 404 is returned for the caller to judge."""
        wanted = {"Accept-Encoding": "gzip, deflate", **(headers or {})}

        def once(ends: float) -> Reply:
            resp = self._send(url, wanted, ends)
            with resp:
                _check_retry(resp)
                if resp.status_code not in ok and resp.status_code != 404:
                    raise _fatal(url, resp)
                body, complete = self._read(resp, ends, url)
            self._fetched(url, len(body))
            return Reply(resp.status_code, resp.reason, resp.headers, body, resp.url, resp.encoding, complete)

        return self._attempts(url, once)

    def get_range(self, url: str, spec: str) -> tuple[bytes, int, int] | requests.Response | None:
        """A ranged GET (``spec`` like ``bytes=-65536``): ``(data, offset, file size)`` for a 206 answer; the
        unread response when the server ignored the range and sends the whole file (200); None when it
        refuses ranges (416 or a 206 without a usable Content-Range)."""

        def once(ends: float) -> tuple[bytes, int, int] | requests.Response | None:
            resp = self._send(url, {"Range": spec, "Accept-Encoding": "identity"}, ends)
            if resp.status_code == 200:
                return resp
            with resp:
                _check_retry(resp)
                if resp.status_code == 416:
                    return None
                if resp.status_code != 206:
                    raise _fatal(url, resp)
                body, _ = self._read(resp, ends, url)
            self._fetched(url, len(body))
            unit, _, rest = resp.headers.get("Content-Range", "").partition(" ")
            span, _, total = rest.partition("/")
            first, _, _ = span.partition("-")
            if unit != "bytes" or not first.isdigit() or not total.isdigit():
                return None
            return body, int(first), int(total)

        return self._attempts(url, once)

    def download(self, url: str, cache: Cache, filename: str, expected_sha256: str | None,
                 first: requests.Response | None = None, size: int | None = None) -> tuple[Path, str, int]:
        """Stream ``url`` into the artifact cache, checking its sha256: ``(path, sha256, size)``.

        ``first`` is a response already under way for the whole file (a server that ignored a Range
        request) whose body is used instead of asking again. ``size`` (the index's, if it gives one) extends
        the deadline by a second per :data:`MIN_DOWNLOAD_RATE` bytes and is the most that is read.
        """
        import hashlib

        pending = [first] if first is not None else []
        shown = redact_url(url)

        def once(ends: float) -> tuple[Path, str, int]:
            resp = pending.pop() if pending else self._send(url, {"Accept-Encoding": "identity"}, ends)
            handle, tmp = cache.temp_file()
            digest = hashlib.sha256()
            received = 0
            try:
                with handle, resp:
                    _check_retry(resp)
                    if resp.status_code != 200:
                        raise _fatal(url, resp)
                    limit = size if size is not None else None
                    # The bytes as stored: a server that gzips a .tar.gz in transit must not change its hash.
                    for chunk in _chunks(resp, ends, self._watchdog):
                        received += len(chunk)
                        if limit is not None and received > limit:
                            raise HashMismatch(f"{filename} from {shown} is larger than the {limit} bytes the "
                                               "index gives as its size",
                                               hint="the index (or a proxy) serves a different file than it "
                                                    "lists")
                        digest.update(chunk)
                        handle.write(chunk)
                    _check_length(resp, received)
                sha256 = digest.hexdigest()
                if expected_sha256 is not None and sha256 != expected_sha256.lower():
                    raise HashMismatch(
                        f"{filename} downloaded from {shown} has sha256 {sha256}, but the index says "
                        f"{expected_sha256}",
                        hint="try again; if it persists, the index (or a proxy) serves a different file "
                             "than it lists")
                path = cache.commit_artifact(tmp, sha256, filename)
            finally:
                tmp.unlink(missing_ok=True)
            self._fetched(url, received)
            return path, sha256, received

        extra = (size or 0) / MIN_DOWNLOAD_RATE
        return self._attempts(url, once, extra=extra)

    # -- reading bodies -----------------------------------------------------------------------------------
    def _read(self, resp: requests.Response, ends: float, url: str) -> tuple[bytes, bool]:
        """The body, decompressed with at most ``max_body`` bytes out, and whether it is complete."""
        encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding in ("gzip", "x-gzip", "deflate"):
            decoder: zlib._Decompress | None = zlib.decompressobj(47)  # zlib or gzip header, auto-detected
        elif encoding in ("", "identity"):
            decoder = None
        else:
            raise IndexAccessError(f"{redact_url(url)} answered in an encoding nixgen did not ask for: "
                                   f"{encoding[:40]!r}", hint=NETWORK_HINT)
        out = bytearray()
        received = 0
        cap = self.max_body
        for chunk in _chunks(resp, ends, self._watchdog):
            received += len(chunk)
            if decoder is None:
                out += chunk
            else:
                data = chunk
                while data:
                    try:
                        out += decoder.decompress(data, cap + 1 - len(out))
                    except zlib.error as err:
                        raise _Retry(f"a broken {encoding} body: {err}") from err
                    if len(out) > cap:
                        break
                    data = decoder.unconsumed_tail
            if len(out) > cap:
                raise IndexAccessError(
                    f"{redact_url(url)} sent a body larger than {cap // (1024 * 1024) or cap} "
                    f"{'MB' if cap >= 1024 * 1024 else 'bytes'} (after decompression); nixgen stopped reading",
                    hint="is the index URL a package index? a page or metadata file is never this big")
        if decoder is not None:
            out += decoder.flush()
            if len(out) > cap:
                raise IndexAccessError(f"{redact_url(url)} sent a body larger than {cap} bytes", hint=NETWORK_HINT)
        complete = _check_length(resp, received)
        return bytes(out), complete

    # -- retries --------------------------------------------------------------------------------------------
    def _attempts(self, url: str, action: Callable[[float], T], extra: float = 0.0) -> T:
        import requests

        shown = redact_url(url)
        budget = self.deadline + extra
        ends = time.monotonic() + budget
        last = ""
        pause = 0.0
        for attempt in range(self.retries):
            if attempt:
                if time.monotonic() + pause >= ends:
                    break
                time.sleep(pause)
            pause = self.backoff * 2 ** attempt
            try:
                return action(ends)
            except _Retry as err:
                last = str(err)
                if err.after is not None:
                    if time.monotonic() + err.after > ends:
                        raise IndexAccessError(
                            f"cannot get {shown}: {last}; the server asked to retry after {err.after:g} s, "
                            f"beyond the {budget:g} s deadline of a request", hint="try again later") from None
                    pause = err.after
            except _Deadline:
                last = "no complete answer"
                break
            except requests.exceptions.SSLError as err:
                raise IndexAccessError(
                    f"TLS failure talking to {shown}: {_describe(err)}",
                    hint="check the system's certificates (pip's `cert` setting / PIP_CERT is honoured)",
                ) from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                    requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError) as err:
                last = _describe(err)
            except requests.exceptions.RequestException as err:
                raise IndexAccessError(f"cannot get {shown}: {_describe(err)}", hint=NETWORK_HINT) from None
        else:
            times = "once" if self.retries == 1 else f"{self.retries} times"
            raise IndexAccessError(f"cannot get {shown}: {last} (tried {times})", hint=NETWORK_HINT)
        raise IndexAccessError(f"cannot get {shown}: {last or 'no answer'} within the {budget:g} s deadline "
                               "of a request", hint=NETWORK_HINT)


class _Ends(threading.local):
    value: float | None = None


_request_ends = _Ends()  # the deadline of the request this thread is sending, for the header watchdog


def _bounded_adapter(base: type[requests.adapters.HTTPAdapter],
                     watchdog: Watchdog) -> type[requests.adapters.HTTPAdapter]:
    """A requests adapter whose connections shut their socket down when the request's deadline passes
    while the status line and headers are still arriving (a server can drip those too; the socket
    timeout bounds only each read). The body has its own watchdog (:func:`_chunks`)."""
    import socket

    from urllib3 import connection, connectionpool

    def watched(cls: type[connection.HTTPConnection]) -> type[connection.HTTPConnection]:
        class Watched(cls):  # type: ignore[valid-type,misc]
            def getresponse(self) -> Any:
                ends = _request_ends.value
                if ends is None:
                    return super().getresponse()

                def cut() -> None:
                    sock = getattr(self, "sock", None)
                    if sock is not None:
                        with contextlib.suppress(OSError):
                            sock.shutdown(socket.SHUT_RDWR)

                watch = watchdog.watch(ends, cut)
                try:
                    return super().getresponse()
                finally:
                    watchdog.cancel(watch)

        return Watched

    class Pool(connectionpool.HTTPConnectionPool):
        ConnectionCls = watched(connection.HTTPConnection)

    class TlsPool(connectionpool.HTTPSConnectionPool):
        ConnectionCls = watched(connection.HTTPSConnection)  # type: ignore[assignment]

    class Adapter(base):  # type: ignore[valid-type,misc]
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": TlsPool}

    return Adapter


class _Retry(Exception):
    """A transient failure: try again after a pause (``after``: the server's Retry-After, in seconds)."""

    def __init__(self, message: str, after: float | None = None) -> None:
        super().__init__(message)
        self.after = after


class _Deadline(Exception):
    """The request's deadline passed."""


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (RFC 9110 §10.2.3: seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _check_retry(resp: requests.Response) -> None:
    if resp.status_code in RETRY_STATUSES:
        after = _retry_after(resp.headers.get("Retry-After")) if resp.status_code in (429, 503) else None
        raise _Retry(f"HTTP {resp.status_code} {resp.reason}", after)


def _chunks(resp: requests.Response, ends: float, watchdog: Watchdog) -> Iterator[bytes]:
    """The raw body in pieces as they arrive, up to the deadline: a watchdog shuts the socket down when the
    deadline passes, so that a server sending a byte now and then cannot hold a read open."""
    import urllib3

    raw = resp.raw
    left = ends - time.monotonic()
    if left <= 0:
        raise _Deadline()

    fired: list[bool] = []

    def cut() -> None:
        fired.append(True)
        with contextlib.suppress(ValueError, RuntimeError, OSError):
            raw.shutdown()

    watch = watchdog.watch(ends, cut)
    try:
        while True:
            try:
                chunk = raw.read1(CHUNK, decode_content=False)
            except (urllib3.exceptions.HTTPError, OSError) as err:
                if fired or time.monotonic() >= ends:
                    raise _Deadline() from err
                raise _Retry(f"the body was cut short: {_scrub(str(err))[:200]}") from err
            if fired or time.monotonic() >= ends:
                raise _Deadline()
            if not chunk:
                return
            yield chunk
    finally:
        watchdog.cancel(watch)


def _check_length(resp: requests.Response, received: int) -> bool:
    """Whether the body is known complete: its length is the Content-Length (a shorter one is retried), or
    it came in chunks up to the last, empty one (urllib3 raises on a chunked body that ends early)."""
    declared = resp.headers.get("Content-Length", "")
    if not declared.strip().isdigit():
        return bool(getattr(resp.raw, "chunked", False))
    if received != int(declared):
        raise _Retry(f"the body was cut short ({received} of {declared} bytes)")
    return True


def _fatal(url: str, resp: requests.Response) -> IndexAccessError:
    if resp.status_code in (401, 403):
        hint = "the index wants credentials: put them in the index URL or in ~/.netrc"
    else:
        hint = NETWORK_HINT
    return IndexAccessError(f"{redact_url(url)} answered HTTP {resp.status_code} {resp.reason}", hint=hint)


def _describe(err: Exception) -> str:
    import requests

    if isinstance(err, requests.exceptions.Timeout):
        return "timed out"
    text = _scrub(str(err))
    return text if len(text) < 200 else text[:200] + "…"


def _scrub(text: str) -> str:
    """``text`` with every URL in it redacted and every secret query parameter masked, wherever it stands
    (exception texts of requests and urllib3 quote the URL, or only its path and query)."""
    text = re.sub(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>)]+", lambda m: redact_url(m.group(0)), text)
    return _SECRET_PARAMETER_RE.sub(lambda m: f"{m.group(1)}={MASK}", text)


def _secret_parameter_re() -> re.Pattern[str]:
    names = "|".join(re.escape(n) for n in sorted(SECRET_PARAMETERS, key=len, reverse=True))
    return re.compile(rf"(?i)(?<![A-Za-z0-9_-])({names})=([^&\s'\"<>)#]+)")


_SECRET_PARAMETER_RE = _secret_parameter_re()
