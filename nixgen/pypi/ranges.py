"""A wheel's METADATA read with HTTP range requests, without downloading the wheel (PKZIP APPNOTE 4.3).

One suffix request (``Range: bytes=-65536``) brings the end of the file: the end-of-central-directory
record (zip64 too) and, for wheels written the usual way (``*.dist-info`` last), the central-directory
entry of ``METADATA``; a second request brings that member, stored or deflated. When the entry is not in
the tail, the head of the central directory is tried (some wheels list ``*.dist-info`` first), then all
of it. Hand-written because neither the standard library nor a
well-kept library reads a zip member over HTTP ranges; ``zipfile`` needs a seekable file and would ask for
the whole central directory of a 600 MB wheel.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator, Sequence

from packaging.utils import canonicalize_name

TAIL = 64 * 1024
FIRST_PIECE = 256 * 1024  # of a member read from its start, the compressed bytes asked for first
_LOCAL_EXTRA = 1024  # a local header's extra field, at most, in the bytes asked for with it (APPNOTE 4.3.7)
# fetch("bytes=a-b" or "bytes=-n") -> (data, first byte's offset, file size), or None when the server will
# not serve ranges (the caller then downloads the whole file).
RangeFetch = Callable[[str], "tuple[bytes, int, int] | None"]

_EOCD = struct.Struct("<4sHHHHIIH")
_EOCD64_LOCATOR = struct.Struct("<4sIQI")
_EOCD64 = struct.Struct("<4sQHHIIQQQQ")
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_MARKER = b".dist-info/METADATA"


class RangesUnusable(Exception):
    """The server does not serve ranges, or the zip is one this reader does not handle: download it."""


class NotAWheel(Exception):
    """The file is not a zip archive with a ``*.dist-info/METADATA`` member."""


class _Remote:
    """The bytes of a remote file seen so far (a few disjoint pieces), fetching what is missing."""

    def __init__(self, fetch: RangeFetch) -> None:
        self.fetch = fetch
        got = fetch(f"bytes=-{TAIL}")
        if got is None:
            raise RangesUnusable
        data, start, self.size = got
        self.pieces: list[tuple[int, bytes]] = [(start, data)]

    @property
    def tail_start(self) -> int:
        return self.pieces[0][0]

    def read(self, start: int, end: int, keep: bool = True) -> bytes:
        """Bytes ``start`` to ``end`` (exclusive), from a piece in hand or fetched (and kept, unless not
        ``keep``: a piece of a stream)."""
        end = min(end, self.size)
        for begin, data in self.pieces:
            if begin <= start and end <= begin + len(data):
                return data[start - begin:end - begin]
        got = self.fetch(f"bytes={start}-{end - 1}")
        if got is None or got[1] != start or len(got[0]) < end - start:
            raise RangesUnusable
        if keep:
            self.pieces.append((start, got[0]))
        return got[0][: end - start]


def _end_record(tail: bytes, tail_start: int, remote: _Remote) -> tuple[int, int]:
    """Offset and size of the central directory, from the (zip64) end-of-central-directory record."""
    pos = len(tail)
    while (pos := tail.rfind(b"PK\x05\x06", 0, pos)) != -1:
        if pos + _EOCD.size <= len(tail):
            _, _, _, _, count, cd_size, cd_offset, comment = _EOCD.unpack_from(tail, pos)
            if pos + _EOCD.size + comment == len(tail):
                break
    else:
        raise NotAWheel("no end-of-central-directory record")
    if 0xFFFFFFFF in (cd_size, cd_offset) or count == 0xFFFF:
        at = tail_start + pos - _EOCD64_LOCATOR.size
        sig, _, eocd64, _ = _EOCD64_LOCATOR.unpack(remote.read(at, at + _EOCD64_LOCATOR.size))
        if sig != b"PK\x06\x07":
            raise NotAWheel("zip64 locator missing")
        record = remote.read(eocd64, eocd64 + _EOCD64.size)
        sig, *_, cd_size, cd_offset = _EOCD64.unpack(record)
        if sig != b"PK\x06\x06":
            raise NotAWheel("zip64 end record missing")
    return cd_offset, cd_size


def _entry(data: bytes, pos: int) -> tuple[str, int, int, int, int] | None:
    """``(name, method, compressed size, local header offset, entry length)`` of the central-directory
    entry at ``pos``, or None when it is not whole in ``data``."""
    if pos + _CENTRAL.size > len(data):
        return None
    (sig, _, _, flags, method, _, _, _, comp, uncomp, name_len, extra_len, comment_len, _, _, _,
     offset) = _CENTRAL.unpack_from(data, pos)
    end = pos + _CENTRAL.size + name_len + extra_len + comment_len
    if sig != b"PK\x01\x02" or end > len(data):
        return None
    raw_name = data[pos + _CENTRAL.size: pos + _CENTRAL.size + name_len]
    name = raw_name.decode("utf-8" if flags & 0x800 else "cp437")
    extra = data[pos + _CENTRAL.size + name_len: pos + _CENTRAL.size + name_len + extra_len]
    if 0xFFFFFFFF in (comp, uncomp, offset):
        comp, offset = _zip64_sizes(extra, comp, uncomp, offset)
    return name, method, comp, offset, end - pos


def _zip64_sizes(extra: bytes, comp: int, uncomp: int, offset: int) -> tuple[int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        if tag == 1:
            values = iter(struct.unpack_from(f"<{size // 8}Q", extra, pos + 4))
            if uncomp == 0xFFFFFFFF:
                next(values, None)
            if comp == 0xFFFFFFFF:
                comp = next(values, comp)
            if offset == 0xFFFFFFFF:
                offset = next(values, offset)
            break
        pos += 4 + size
    return comp, offset


def _is_metadata(name: str) -> bool:
    return name.endswith(".dist-info/METADATA") and name.count("/") == 1


def _best(found: list[tuple[str, int, int, int, int]],
          project: str) -> tuple[str, int, int, int, int] | None:
    for entry in found:
        if canonicalize_name(entry[0].split("-", 1)[0]) == project:
            return entry
    return found[0] if found else None


def _scan_partial(data: bytes) -> list[tuple[str, int, int, int, int]]:
    """METADATA entries in a piece of the central directory that may start mid-entry: each occurrence of
    the name is checked against the entry header that must precede it."""
    found = []
    at = 0
    while (at := data.find(_MARKER, at)) != -1:
        end = at + len(_MARKER)
        hi = end - _CENTRAL.size - len(_MARKER) + 1
        lo = max(0, end - _CENTRAL.size - 512)
        while (pos := data.rfind(b"PK\x01\x02", lo, hi)) != -1:
            entry = _entry(data, pos)
            if entry is not None and pos + _CENTRAL.size + len(entry[0].encode()) == end \
                    and _is_metadata(entry[0]):
                found.append(entry)
                break
            hi = pos
        at = end
    return found


def _scan_full(cd: bytes) -> list[tuple[str, int, int, int, int]]:
    found, pos = [], 0
    while (entry := _entry(cd, pos)) is not None:
        if _is_metadata(entry[0]):
            found.append(entry)
        pos += entry[4]
    return found


def read_wheel_metadata(fetch: RangeFetch, project: str) -> bytes:
    """The ``*.dist-info/METADATA`` member of a remote wheel. Raises :class:`RangesUnusable` when the file
    must be downloaded instead, :class:`NotAWheel` when it is not a wheel."""
    remote = _Remote(fetch)
    tail_start, tail = remote.pieces[0]
    cd_offset, cd_size = _end_record(tail, tail_start, remote)
    cd_end = cd_offset + cd_size
    if cd_end > remote.size:
        raise NotAWheel("central directory beyond the end of the file")
    entry = None
    if cd_offset < tail_start:
        # Most wheels list *.dist-info last, some (tensorflow's) first: look at both ends before reading
        # the whole central directory (1.9 MB for tensorflow).
        entry = _best(_scan_partial(tail[: cd_end - tail_start]), project)
        if entry is None:
            entry = _best(_scan_full(remote.read(cd_offset, min(cd_offset + TAIL, tail_start))), project)
        if entry is None:
            cd = remote.read(cd_offset, tail_start) + tail[: max(0, cd_end - tail_start)]
            entry = _best(_scan_full(cd), project)
    else:
        entry = _best(_scan_full(remote.read(cd_offset, cd_end)), project)
    if entry is None:
        raise NotAWheel("no *.dist-info/METADATA member")
    name, method, comp, offset, _ = entry
    guess_end = offset + _LOCAL.size + len(name.encode()) + _LOCAL_EXTRA + comp
    head = remote.read(offset, min(guess_end, remote.size))
    sig, _, _, _, _, _, _, _, _, name_len, extra_len = _LOCAL.unpack_from(head, 0)
    if sig != b"PK\x03\x04":
        raise NotAWheel("bad local file header")
    start = offset + _LOCAL.size + name_len + extra_len
    data = remote.read(start, start + comp)
    if method == 0:
        return data
    if method == 8:
        inflater = zlib.decompressobj(-15)
        return inflater.decompress(data) + inflater.flush()
    raise RangesUnusable  # bzip2/lzma members: let zipfile read the downloaded wheel


class Member:
    """One member of a remote zip, readable from its start as far as it is needed (stored or deflated),
    fetching its compressed bytes in growing pieces."""

    def __init__(self, remote: _Remote, name: str, method: int, comp: int, offset: int) -> None:
        self.name, self._remote, self._method, self._comp, self._offset = name, remote, method, comp, offset
        self._start: int | None = None
        self._read = 0  # compressed bytes consumed
        self._inflater = zlib.decompressobj(-15) if method == 8 else None
        self._out = bytearray()
        if method not in (0, 8):
            raise RangesUnusable

    @property
    def compressed_size(self) -> int:
        return self._comp

    def start_span(self, first: int) -> tuple[int, int]:
        """The bytes that hold the member's local header (APPNOTE 4.3.7) and its first ``first`` compressed
        bytes, as far as the central directory tells: the local extra field is assumed to be at most
        :data:`_LOCAL_EXTRA` long (a longer one is read when it is met)."""
        end = self._offset + _LOCAL.size + len(self.name.encode()) + _LOCAL_EXTRA + min(first, self._comp)
        return self._offset, min(end, self._remote.size)

    def head(self, size: int, step: int = FIRST_PIECE) -> bytes:
        """The member's first ``size`` bytes (fewer when it is shorter)."""
        if self._start is None:
            header = self._remote.read(self._offset, self._offset + _LOCAL.size)
            sig, *_, name_len, extra_len = _LOCAL.unpack_from(header, 0)
            if sig != b"PK\x03\x04":
                raise NotAWheel(f"bad local file header for {self.name}")
            self._start = self._offset + _LOCAL.size + name_len + extra_len
        while len(self._out) < size and self._read < self._comp:
            take = min(step, self._comp - self._read)
            piece = self._remote.read(self._start + self._read, self._start + self._read + take)
            self._read += take
            self._out += self._inflater.decompress(piece) if self._inflater is not None else piece
            step = min(step * 2, 8 << 20)
        return bytes(self._out[:size])

    def stream(self, step: int = 1 << 20, most: int = 8 << 20) -> Iterator[bytes]:
        """The member's bytes from its start, piece by piece, nothing kept (for members too big to hold).
        Each request asks for twice the last (up to ``most``): a request's round trip, not its bytes, is
        what a stream of small pieces waits for (40 MB in 1 MB pieces took 7 s where 2.5 s carry it)."""
        self.head(0)
        assert self._start is not None
        inflater = zlib.decompressobj(-15) if self._method == 8 else None
        done = 0
        while done < self._comp:
            take = min(step, self._comp - done)
            start = self._start + done
            piece = self._remote.read(start, start + take, keep=False)
            done += take
            step = min(step * 2, most)
            yield inflater.decompress(piece) if inflater is not None else piece


def read_starts(members: Sequence[Member], first: int = FIRST_PIECE, gap: int = 1 << 20,
                most: int = 8 << 20) -> None:
    """Fetch the start of each of ``members`` (of one remote zip; see :meth:`Member.start_span`) in as few
    requests as will do: spans less than ``gap`` bytes apart are asked for together, up to ``most`` bytes a
    request. A request's round trip costs what some megabytes of its answer do, and objects read one after
    another paid two trips each (a header, then the bytes): pillow's wheel took 54 of them."""
    if not members:
        return
    remote = members[0]._remote
    spans = sorted(m.start_span(first) for m in members)
    lo, hi = spans[0]
    for start, end in spans[1:]:
        if start - hi <= gap and max(hi, end) - lo <= most:
            hi = max(hi, end)
            continue
        remote.read(lo, hi)
        lo, hi = start, end
    remote.read(lo, hi)


def remote_members(fetch: RangeFetch) -> list[Member]:
    """Every member of a remote zip, from its whole central directory (APPNOTE 4.3.12)."""
    remote = _Remote(fetch)
    tail_start, tail = remote.pieces[0]
    cd_offset, cd_size = _end_record(tail, tail_start, remote)
    if cd_offset + cd_size > remote.size:
        raise NotAWheel("central directory beyond the end of the file")
    cd = remote.read(cd_offset, cd_offset + cd_size)
    members, pos = [], 0
    while (entry := _entry(cd, pos)) is not None:
        name, method, comp, offset, length = entry
        if not name.endswith("/"):
            members.append(Member(remote, name, method, comp, offset) if method in (0, 8) else None)
        pos += length
    if any(m is None for m in members):
        raise RangesUnusable  # bzip2/lzma members: let zipfile read the downloaded wheel
    return [m for m in members if m is not None]
