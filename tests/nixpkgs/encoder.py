"""A writer for nix-index databases (format 1), to build small synthetic ones in tests.

Entries are ``<metadata> NUL <diff> <suffix> LF`` with the path shared-prefix compressed against the previous
entry's; a diff is one signed byte, or 0x80 and a big-endian i16 when it does not fit (or is -128, whose byte
would be 0x80).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import zstandard


def encode_diff(n: int) -> bytes:
    """One signed byte when -127..127, else 0x80 and a big-endian i16."""
    if -127 <= n <= 127:
        return n.to_bytes(1, "big", signed=True)
    return b"\x80" + n.to_bytes(2, "big", signed=True)


class Encoder:
    """Collects entries; :meth:`store_path` writes the file entries of a store path, then its package entry."""

    def __init__(self, system: str = "x86_64-linux") -> None:
        self.system = system  # the origin.system of package entries, unless one says otherwise
        self.out = bytearray()
        self.prev = b""
        self.shared = 0
        self.diffs: list[int] = []  # every diff written, so tests can check what they exercised

    def entry(self, meta: bytes, path: bytes) -> None:
        common = 0
        limit = min(len(path), len(self.prev))
        while common < limit and path[common] == self.prev[common]:
            common += 1
        diff = common - self.shared
        self.diffs.append(diff)
        self.out += meta + b"\x00" + encode_diff(diff) + path[common:] + b"\n"
        self.shared, self.prev = common, path

    def store_path(self, files: list[tuple[str, str]], attr: str, name: str, hash_: str, output: str = "out",
                   toplevel: bool = True, system: str | None = None, root: bool = True) -> None:
        """``files``: (type, path) with type ``r``/``x``/``d``, or ``s:<target>`` for a symlink; ``root``: list
        the store path itself first (as nix-index does; without it, package entries can follow each other)."""
        for kind, path in [("d", "")] * root + files:
            meta = f"{kind[2:]}s" if kind.startswith("s:") else f"{len(path) + 1}{kind}"
            self.entry(meta.encode(), path.encode())
        info = {"store_dir": "/nix/store", "hash": hash_, "name": name,
                "origin": {"attr": attr, "output": output, "toplevel": toplevel,
                           "system": self.system if system is None else system}}
        self.entry(b"p", json.dumps(info, separators=(",", ":")).encode())

    def database(self, version: int = 1, frames: int = 1) -> bytes:
        """The whole file: header, then the entries as ``frames`` concatenated zstd frames."""
        data = bytes(self.out)
        cut = [len(data) * i // frames for i in range(frames + 1)]
        cctx = zstandard.ZstdCompressor()
        body = b"".join(cctx.compress(data[a:b]) for a, b in itertools.pairwise(cut))
        return b"NIXI" + version.to_bytes(8, "little") + body

    def write(self, path: Path, **kwargs: int) -> Path:
        path.write_bytes(self.database(**kwargs))
        return path
