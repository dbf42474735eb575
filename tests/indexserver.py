"""A local package index for tests: serves a directory of recorded (or built) responses over HTTP.

Layout of a served directory (see ``tests/fixtures/index/README.md``)::

    simple/<normalized name>/index.json     PEP 691 JSON page, file URLs relative ("../../files/<filename>")
    simple/<normalized name>/index.html     or a PEP 503 HTML page (served when there is no index.json)
    files/<filename>                         a whole file (wheels, sdists), served with Range support
    files/<filename>.metadata                PEP 658 metadata
    files/<filename>.ranges.json             only some byte ranges of a big file (recorded range requests)

Pages get an ETag (and answer 304 to If-None-Match) and ``Cache-Control: max-age=600``. Knobs for tests:
:meth:`IndexServer.fail` (answer the next N requests with 503, optionally with headers such as
``Retry-After``), :meth:`IndexServer.hang` (stall them), and the faults of a hostile or broken server:
:meth:`~IndexServer.drip` (the body a byte at a time), :meth:`~IndexServer.truncate` (a body cut short, with
or without a Content-Length), :meth:`~IndexServer.garbage_ranges` (random bytes for a Range request),
:meth:`~IndexServer.serve` (a given raw answer, e.g. a gzip bomb); ``auth`` (HTTP basic auth required),
``chunked`` (bodies in chunks, without a Content-Length),
``ignore_range``, ``serve_metadata``, ``cache_control``, and :attr:`IndexServer.requests` to count requests.
:class:`FixtureIndex` builds such a directory: wheels made on the fly with :mod:`zipfile`, sdists with
:mod:`tarfile`, and their pages.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import tarfile
import threading
import time
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def normalize(name: str) -> str:
    """PEP 503 normalization."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Request:
    """One request the server answered."""

    method: str
    path: str
    headers: Mapping[str, str]
    status: int


@dataclass
class _Trouble:
    times: int
    status: int = 503
    delay: float = 0.0
    path: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    kind: str = "status"  # status | drip | truncate | garbage-range | serve
    keep: int = 0  # truncate: bytes of the body sent
    declare_length: bool = True  # truncate: send the full Content-Length (else none, and close)
    body: bytes = b""  # serve


class IndexServer:
    """A threaded HTTP server playing a package index from a directory (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.cache_control: str | None = "max-age=600"
        self.ignore_range = False
        self.serve_metadata = True
        self.auth: tuple[str, str] | None = None  # (user, password) every request must send (basic auth)
        self.chunked = False  # send bodies with Transfer-Encoding: chunked instead of a Content-Length
        self.requests: list[Request] = []
        self.arrived: list[str] = []  # paths of requests as they arrive (before any stall), for waiting on
        self._troubles: list[_Trouble] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle -------------------------------------------------------------------------------------
    def start(self) -> IndexServer:
        handler = type("Handler", (_Handler,), {"index": self})
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> IndexServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def base(self) -> str:
        assert self._httpd is not None, "the server is not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def url(self) -> str:
        """The simple index URL (``http://127.0.0.1:PORT/simple/``)."""
        return f"{self.base}/simple/"

    # -- knobs for tests --------------------------------------------------------------------------------
    def fail(self, times: int, status: int = 503, path: str | None = None) -> None:
        """Answer the next ``times`` requests (whose path contains ``path``, if given) with ``status``."""
        with self._lock:
            self._troubles.append(_Trouble(times, status=status, path=path))

    def hang(self, times: int, seconds: float, path: str | None = None) -> None:
        """Stall the next ``times`` requests for ``seconds`` before answering them."""
        with self._lock:
            self._troubles.append(_Trouble(times, status=0, delay=seconds, path=path))

    def fail_with(self, times: int, status: int, headers: Mapping[str, str], path: str | None = None) -> None:
        """Like :meth:`fail`, with these response headers (``Retry-After``...)."""
        with self._lock:
            self._troubles.append(_Trouble(times, status=status, path=path, headers=dict(headers)))

    def drip(self, times: int, seconds: float, path: str | None = None) -> None:
        """Send the body of the next ``times`` answers one byte every ``seconds`` (headers at once)."""
        with self._lock:
            self._troubles.append(_Trouble(times, status=0, delay=seconds, path=path, kind="drip"))

    def drip_headers(self, times: int, seconds: float, path: str | None = None) -> None:
        """Send the status line and headers of the next ``times`` answers one byte every ``seconds``."""
        with self._lock:
            self._troubles.append(_Trouble(times, status=0, delay=seconds, path=path, kind="drip-headers"))

    def truncate(self, times: int, keep: int, path: str | None = None, *, declare_length: bool = True) -> None:
        """Send only the first ``keep`` bytes of the next ``times`` bodies, then close the connection; with
        ``declare_length`` the Content-Length still announces the whole body, else there is none."""
        with self._lock:
            self._troubles.append(_Trouble(times, status=0, path=path, kind="truncate", keep=keep,
                                           declare_length=declare_length))

    def garbage_ranges(self, times: int, path: str | None = None) -> None:
        """Answer the next ``times`` Range requests with 206 and random bytes of the asked length."""
        with self._lock:
            self._troubles.append(_Trouble(times, status=0, path=path, kind="garbage-range"))

    def serve(self, times: int, path: str, body: bytes, headers: Mapping[str, str], status: int = 200) -> None:
        """Answer the next ``times`` requests for ``path`` with exactly this body and these headers."""
        with self._lock:
            self._troubles.append(_Trouble(times, status=status, path=path, kind="serve", body=body,
                                           headers=dict(headers)))

    def count(self, path_contains: str = "", method: str | None = None) -> int:
        """How many requests were answered (whose path contains ``path_contains``)."""
        with self._lock:
            return sum(1 for r in self.requests
                       if path_contains in r.path and (method is None or r.method == method))

    def reset(self) -> None:
        """Forget counted requests and pending failures."""
        with self._lock:
            self.requests.clear()
            self.arrived.clear()
            self._troubles.clear()

    def _trouble_for(self, path: str, ranged: bool) -> _Trouble | None:
        with self._lock:
            for trouble in self._troubles:
                if trouble.kind == "garbage-range" and not ranged:
                    continue
                if trouble.times > 0 and (trouble.path is None or trouble.path in path):
                    trouble.times -= 1
                    return trouble
        return None

    def _record(self, method: str, path: str, headers: Mapping[str, str], status: int) -> None:
        with self._lock:
            self.requests.append(Request(method, path, dict(headers), status))


class _QuietServer(ThreadingHTTPServer):
    """A client hanging up (a test killed it, or nixgen gave up on a stalled answer) is not an error."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    index: IndexServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def _authorized(self) -> bool:
        if self.index.auth is None:
            return True
        expected = base64.b64encode(":".join(self.index.auth).encode()).decode()
        return self.headers.get("Authorization", "") == f"Basic {expected}"

    def _answer(self, *, head: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        with self.index._lock:
            self.index.arrived.append(path)
        if not self._authorized():
            self.index._record(self.command, path, dict(self.headers.items()), 401)
            self.send_response(401)
            for key, value in (("WWW-Authenticate", 'Basic realm="index"'), ("Content-Length", "0")):
                self.send_header(key, value)
            self.end_headers()
            return
        trouble = self.index._trouble_for(path, "Range" in self.headers)
        kind = trouble.kind if trouble is not None else ""
        if trouble is not None and trouble.delay and kind not in ("drip", "drip-headers"):
            time.sleep(trouble.delay)
        if kind == "serve":
            assert trouble is not None
            reply = _Reply(trouble.status, trouble.body, dict(trouble.headers))
        elif kind == "garbage-range":
            reply = self._garbage_range(path)
        elif trouble is not None and trouble.status:
            reply = _Reply(trouble.status, b"trouble on purpose\n", dict(trouble.headers))
        else:
            try:
                reply = self._route(path)
            except Exception as err:  # a bug in a test's fixture: say so over HTTP rather than hang
                reply = _Reply(500, f"{type(err).__name__}: {err}\n".encode())
        self.index._record(self.command, path, dict(self.headers.items()), reply.status)
        if kind != "drip-headers":
            self.send_response(reply.status)
        headers = {"Content-Length": str(len(reply.body)), **reply.headers}
        if reply.status == 304:
            headers["Content-Length"] = "0"
        body = reply.body
        if kind == "truncate":
            assert trouble is not None
            body = body[:trouble.keep]
            headers["Connection"] = "close"
            if not trouble.declare_length:
                del headers["Content-Length"]
            self.close_connection = True
        if kind == "drip-headers":
            assert trouble is not None
            head_bytes = f"HTTP/1.1 {reply.status} OK\r\n".encode()
            head_bytes += b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items()) + b"\r\n"
            try:
                for i in range(len(head_bytes)):
                    self.wfile.write(head_bytes[i:i + 1])
                    self.wfile.flush()
                    time.sleep(trouble.delay)
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
            return
        chunked = self.index.chunked and reply.status != 304 and kind not in ("drip",)
        if chunked:
            headers.pop("Content-Length", None)
            headers["Transfer-Encoding"] = "chunked"
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if head or reply.status == 304:
            return
        try:
            if chunked:
                for i in range(0, len(body), 4096):
                    piece = body[i:i + 4096]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                if kind != "truncate":  # a truncated chunked body lacks its last, empty chunk
                    self.wfile.write(b"0\r\n\r\n")
            elif kind == "drip":
                assert trouble is not None
                for i in range(len(body)):
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    time.sleep(trouble.delay)
            else:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _garbage_range(self, path: str) -> _Reply:
        """206 with random bytes where the file's bytes should be (a broken cache or proxy)."""
        import random

        whole = self._file(f"files/{path.removeprefix('/files/')}")
        size = whole.stat().st_size if whole is not None else 1 << 20
        match = _RANGE_RE.match(self.headers.get("Range", "").strip())
        start, end = 0, size
        if match is not None:
            first, last = match.groups()
            if not first and last:
                start = max(0, size - int(last))
            elif first:
                start, end = int(first), min(size, int(last) + 1) if last else size
        noise = random.Random(f"{path}{start}").randbytes(max(0, end - start))
        return _Reply(206, noise, {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes",
                                   "Content-Range": f"bytes {start}-{end - 1}/{size}"})

    def _file(self, rel: str) -> Path | None:
        root = self.index.root.resolve()
        path = (root / rel).resolve()
        if root not in path.parents or not path.is_file():
            return None
        return path

    def _route(self, path: str) -> _Reply:
        if path.startswith("/simple/"):
            name = normalize(path[len("/simple/"):].strip("/"))
            if not name:
                return _Reply(404)
            for filename, ctype in (("index.json", JSON_TYPE), ("index.html", "text/html; charset=utf-8")):
                page = self._file(f"simple/{name}/{filename}")
                if page is not None:
                    return self._page(page.read_bytes(), ctype)
            return _Reply(404, b"no such project\n")
        if path.startswith("/files/"):
            rel = path[len("/files/"):]
            if rel.endswith(".metadata") and not self.index.serve_metadata:
                return _Reply(404)
            whole = self._file(f"files/{rel}")
            if whole is not None:
                return self._ranged(whole.read_bytes(), "application/octet-stream")
            sparse = self._file(f"files/{rel}.ranges.json")
            if sparse is not None:
                return self._sparse(json.loads(sparse.read_text()))
        return _Reply(404, b"not found\n")

    def _page(self, body: bytes, ctype: str) -> _Reply:
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        headers = {"Content-Type": ctype, "ETag": etag}
        if self.index.cache_control is not None:
            headers["Cache-Control"] = self.index.cache_control
        if self.headers.get("If-None-Match") == etag:
            return _Reply(304, b"", headers)
        return _Reply(200, body, headers)

    def _wanted(self, size: int) -> tuple[int, int] | str | None:
        """The requested byte range ``[start, end)``; None for the whole file; "bad" if unsatisfiable."""
        spec = self.headers.get("Range")
        if spec is None or self.index.ignore_range:
            return None
        match = _RANGE_RE.match(spec.strip())
        if match is None:
            return None  # several ranges, or another unit: the whole file, as servers may do
        first, last = match.groups()
        if not first:
            if not last:
                return "bad"
            start, end = max(0, size - int(last)), size
        else:
            start, end = int(first), min(size, int(last) + 1) if last else size
        return (start, end) if start < end else "bad"

    def _ranged(self, data: bytes, ctype: str) -> _Reply:
        headers = {"Content-Type": ctype, "Accept-Ranges": "bytes"}
        wanted = self._wanted(len(data))
        if wanted is None:
            return _Reply(200, data, headers)
        if wanted == "bad":
            return _Reply(416, b"", {"Content-Range": f"bytes */{len(data)}"})
        assert isinstance(wanted, tuple)
        start, end = wanted
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{len(data)}"
        return _Reply(206, data[start:end], headers)

    def _sparse(self, recorded: dict[str, Any]) -> _Reply:
        size = int(recorded["size"])
        wanted = self._wanted(size)
        if wanted is None or wanted == "bad":
            return _Reply(404, b"only byte ranges of this file were recorded\n")
        assert isinstance(wanted, tuple)
        start, end = wanted
        for chunk_start, encoded in recorded["chunks"]:
            chunk = base64.b64decode(encoded)
            if chunk_start <= start and end <= chunk_start + len(chunk):
                body = chunk[start - chunk_start:end - chunk_start]
                return _Reply(206, body, {"Content-Type": "application/octet-stream",
                                          "Accept-Ranges": "bytes",
                                          "Content-Range": f"bytes {start}-{end - 1}/{size}"})
        return _Reply(404, f"bytes {start}-{end - 1} of this file were not recorded\n".encode())


# -- building index directories in tests ---------------------------------------------------------------------
def metadata_text(name: str, version: str, *, requires: Iterable[str] = (),
                  requires_python: str | None = None, provides_extra: Iterable[str] = (),
                  metadata_version: str = "2.1",
                  dynamic: Iterable[str] = ()) -> str:
    """Core metadata (PEP 566) text: what a wheel's METADATA or an sdist's PKG-INFO holds."""
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}"]
    lines += [f"Dynamic: {d}" for d in dynamic]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Provides-Extra: {e}" for e in provides_extra]
    lines += [f"Requires-Dist: {r}" for r in requires]
    return "\n".join(lines) + "\n\nA long description that nobody reads.\n"


def build_wheel(name: str, version: str, metadata: str, *, tag: str = "py3-none-any",
                dist_info_first: bool = False, padding: int = 0, members: int = 0,
                compression: int = zipfile.ZIP_DEFLATED) -> tuple[str, bytes]:
    """A wheel (file name, bytes). ``padding`` adds that many incompressible bytes in a module, ``members``
    that many small files (to make a big central directory); ``dist_info_first`` writes ``*.dist-info``
    before the modules, as some build tools do."""
    import random

    dist = f"{re.sub(r'[-_.]+', '_', name)}-{version}"
    buf = io.BytesIO()
    rng = random.Random(f"{name}{version}")
    with zipfile.ZipFile(buf, "w", compression=compression) as whl:
        def dist_info() -> None:
            whl.writestr(f"{dist}.dist-info/METADATA", metadata)
            wheel = f"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: {tag}\n"
            whl.writestr(f"{dist}.dist-info/WHEEL", wheel)
            whl.writestr(f"{dist}.dist-info/RECORD", "")

        if dist_info_first:
            dist_info()
        pkg = re.sub(r"[-.]+", "_", name)
        whl.writestr(f"{pkg}/__init__.py", f"__version__ = {version!r}\n")
        if padding:
            whl.writestr(f"{pkg}/blob.bin", rng.randbytes(padding))
        for i in range(members):
            whl.writestr(f"{pkg}/generated/a_rather_long_module_name_to_grow_the_directory_{i:06d}.py", "")
        if not dist_info_first:
            dist_info()
    return f"{dist}-{tag}.whl", buf.getvalue()


def build_sdist(name: str, version: str, files: Mapping[str, str | bytes], *,
                fmt: str = "tar.gz") -> tuple[str, bytes]:
    """An sdist (file name, bytes) with ``files`` (paths relative to its top directory)."""
    top = f"{re.sub(r'[-_.]+', '_', name)}-{version}"
    buf = io.BytesIO()
    if fmt == "zip":
        with zipfile.ZipFile(buf, "w") as archive:
            for rel, content in files.items():
                archive.writestr(f"{top}/{rel}", content)
    else:
        with tarfile.open(fileobj=buf, mode="w:gz") as archive:
            for rel, content in files.items():
                data = content.encode() if isinstance(content, str) else content
                info = tarfile.TarInfo(f"{top}/{rel}")
                info.size = len(data)
                info.mtime = 1_700_000_000
                archive.addfile(info, io.BytesIO(data))
    return f"{top}.{fmt}", buf.getvalue()


class FixtureIndex:
    """Builds an index directory for :class:`IndexServer`: add files, then :meth:`write` the pages."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.projects: dict[str, list[dict[str, Any]]] = {}

    def add_file(self, project: str, filename: str, data: bytes, *,
                 upload_time: str | None = "2024-01-01T00:00:00Z", yanked: bool | str = False,
                 requires_python: str | None = None,
                 metadata: str | None = None, advertise_metadata: bool = True) -> dict[str, Any]:
        """Store a file and list it on the project's page; returns the PEP 691 entry (editable until
        :meth:`write`). ``metadata`` is served as ``<file>.metadata`` (PEP 658)."""
        files = self.root / "files"
        files.mkdir(parents=True, exist_ok=True)
        (files / filename).write_bytes(data)
        entry: dict[str, Any] = {"filename": filename, "url": f"../../files/{filename}",
                                 "hashes": {"sha256": hashlib.sha256(data).hexdigest()},
                                 "requires-python": requires_python, "yanked": yanked, "size": len(data)}
        if upload_time is not None:
            entry["upload-time"] = upload_time
        if metadata is not None:
            (files / f"{filename}.metadata").write_text(metadata)
            if advertise_metadata:
                entry["core-metadata"] = {"sha256": hashlib.sha256(metadata.encode()).hexdigest()}
        self.projects.setdefault(normalize(project), []).append(entry)
        return entry

    def add_wheel(self, name: str, version: str, *, requires: Iterable[str] = (), tag: str = "py3-none-any",
                  requires_python: str | None = None, provides_extra: Iterable[str] = (), pep658: bool = True,
                  advertise_metadata: bool = True, upload_time: str | None = "2024-01-01T00:00:00Z",
                  yanked: bool | str = False, **wheel_options: Any) -> dict[str, Any]:
        """Build a wheel with this metadata and list it (with a ``.metadata`` file when ``pep658``)."""
        text = metadata_text(name, version, requires=requires, requires_python=requires_python,
                             provides_extra=provides_extra)
        filename, data = build_wheel(name, version, text, tag=tag, **wheel_options)
        return self.add_file(name, filename, data, upload_time=upload_time, yanked=yanked,
                             requires_python=requires_python, metadata=text if pep658 else None,
                             advertise_metadata=advertise_metadata)

    def add_sdist(self, name: str, version: str, files: Mapping[str, str | bytes], *, fmt: str = "tar.gz",
                  upload_time: str | None = "2024-01-01T00:00:00Z", **entry: Any) -> dict[str, Any]:
        """Build an sdist holding ``files`` and list it."""
        filename, data = build_sdist(name, version, files, fmt=fmt)
        return self.add_file(name, filename, data, upload_time=upload_time, **entry)

    def write(self) -> Path:
        """Write every project's PEP 691 page; returns the directory to serve."""
        for name, entries in self.projects.items():
            page = self.root / "simple" / name / "index.json"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(json.dumps({"meta": {"api-version": "1.1"}, "name": name, "files": entries},
                                       indent=1, sort_keys=True))
        return self.root
