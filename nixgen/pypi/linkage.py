"""What a Linux wheel's native code links: the ``DT_NEEDED`` entries of its ELF shared objects.

The ELF gABI's dynamic section lists, per shared object, the libraries the dynamic linker must load
(``DT_NEEDED``) and the object's own name (``DT_SONAME``). A manylinux wheel (PEP 600) bundles what the policy
does not allow it to assume, under ``<name>.libs/`` with hashed names (auditwheel's repair), and its modules
name those copies in ``DT_NEEDED``; so what a wheel needs from outside is every ``DT_NEEDED`` name that is
not the file name or soname of a shared object the wheel holds itself.

The answer is a fact about a file, so it is cached in the index cache's ``metadata`` table under
``needed:sha256:<hash>`` and never expires. A wheel already in the artifact cache is read whole. Otherwise
only the start of each shared object is read, with HTTP range requests, neighbouring starts in one request
(a torch wheel is 900 MB; its objects' string tables are a few): in the layout linkers have written by
default since binutils 2.31 (``-z separate-code``), everything before the first executable ``PT_LOAD``
segment holds the dynamic string table and no other text, so the names there that are shared-object names
are the ``DT_NEEDED`` entries, the object's own ``DT_SONAME`` and the version-needs' file names (which
repeat ``DT_NEEDED``). An object whose code starts at its first byte (the older layout) is read to its end
and parsed. Range answers carry no hash, as for metadata read by ranges; a server without ranges means the
whole wheel is downloaded.
"""

from __future__ import annotations

import bisect
import json
import re
import shutil
import struct
import tempfile
import zipfile
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from nixgen.errors import HashMismatch, MetadataError, NixgenError
from nixgen.pypi.ranges import Member, RangeFetch, RangesUnusable, read_starts, remote_members
from nixgen.resolve.model import Artifact, Pin

if TYPE_CHECKING:
    from nixgen.pypi.client import Index
    from nixgen.pypi.model import DistFile

CACHE_PREFIX = "needed:sha256:"
_SHARED_OBJECT = re.compile(r"\.so(\.[0-9]+)*$")
_ELF_MAGIC = b"\x7fELF"


@dataclass(frozen=True)
class WheelLinkage:
    """The libraries a wheel's ELF files need from outside it (sorted sonames), and the shared objects it
    holds itself (file names and sonames: what it can offer other wheels of a plan, such as ``nvidia-*``)."""

    needed: tuple[str, ...]
    provides: tuple[str, ...]

    def to_json(self) -> dict[str, list[str]]:
        return {"needed": list(self.needed), "provides": list(self.provides)}

    @classmethod
    def from_json(cls, data: dict[str, list[str]]) -> WheelLinkage:
        return cls(tuple(data["needed"]), tuple(data["provides"]))


def is_linux_wheel(filename: str) -> bool:
    """Whether a wheel's platform tags (PEP 425/600) name Linux: only those hold ELF files to read."""
    from packaging.utils import parse_wheel_filename

    try:
        tags = parse_wheel_filename(filename)[3]
    except ValueError:
        return False
    return any("linux" in t.platform for t in tags)


def read_wheel_linkage(path: Path) -> WheelLinkage:
    """The :class:`WheelLinkage` of the wheel at ``path`` (pyelftools reads each ELF member's dynamic
    segment; members that are not ELF, such as a ``.so`` text stub, are skipped)."""
    needed: set[str] = set()
    provides: set[str] = set()
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as err:
        raise MetadataError(f"{path.name} is not a readable wheel: {err}") from err
    with archive:
        for info in archive.infolist():
            base = info.filename.rsplit("/", 1)[-1]
            if info.is_dir() or not _SHARED_OBJECT.search(base):
                continue
            with archive.open(info) as member:
                if member.read(4) != _ELF_MAGIC:
                    continue
            provides.add(base)
            # pyelftools seeks around the file; a zip member streams, so it is spooled (to disk past 64 MB).
            with archive.open(info) as member, tempfile.SpooledTemporaryFile(_KEEP) as spool:
                shutil.copyfileobj(member, spool, 1 << 20)
                spool.seek(0)
                wanted, soname = _dynamic_names(spool, f"{path.name}: {info.filename}")  # type: ignore[arg-type]
            needed |= wanted
            provides |= soname
    return WheelLinkage(tuple(sorted(needed - provides)), tuple(sorted(provides)))


_LIBRARY_NAME = re.compile(r"[A-Za-z0-9_+][A-Za-z0-9_.+-]{0,254}")


def _checked(names: set[str], where: str) -> set[str]:
    """``names`` if each is a plain library file name (they reach Nix strings and messages), else an error."""
    for name in names:
        if not _LIBRARY_NAME.fullmatch(name):
            raise MetadataError(f"{where}: the library name {name[:80]!r} in its dynamic section is not a plain "
                                "file name", hint="the wheel's binaries are malformed or hostile; do not use it")
    return names


def _dynamic_names(stream: BinaryIO, where: str) -> tuple[set[str], set[str]]:
    """``DT_NEEDED`` and ``DT_SONAME`` names of one whole ELF file."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.dynamic import DynamicSegment
    from elftools.elf.elffile import ELFFile

    needed: set[str] = set()
    soname: set[str] = set()
    try:
        for segment in ELFFile(stream).iter_segments():
            if not isinstance(segment, DynamicSegment):
                continue
            for tag in segment.iter_tags():
                entry: Any = tag  # DT_NEEDED/DT_SONAME tags carry the name as an attribute
                if tag.entry.d_tag == "DT_NEEDED":
                    needed.add(str(entry.needed))
                elif tag.entry.d_tag == "DT_SONAME":
                    soname.add(str(entry.soname))
    except ELFError as err:
        raise MetadataError(f"{where} is not a readable ELF file: {err}") from err
    return _checked(needed, where), _checked(soname, where)


# A shared object's name in a string table: NUL before and after, no path.
_WHOLE_NAME = re.compile(rb"[A-Za-z0-9_+][A-Za-z0-9_.+-]*\.so(?:\.[0-9]+)*")
_DT_NULL, _DT_NEEDED, _DT_STRTAB, _DT_SONAME = 0, 1, 5, 14
_KEEP = 64 << 20  # of an object whose code starts at byte 0, the first bytes kept while it streams past


@dataclass(frozen=True)
class _Elf:
    """What an ELF file's header and program headers (ELF gABI) say of where things are."""

    big: bool  # 64-bit
    order: str  # struct byte order
    code: int | None  # file offset of the first executable PT_LOAD segment
    dynamic: tuple[int, int] | None  # PT_DYNAMIC's file offset and size
    loads: tuple[tuple[int, int, int], ...]  # PT_LOAD segments: vaddr, file offset, file size

    def offset_of(self, vaddr: int) -> int | None:
        for start, offset, size in self.loads:
            if start <= vaddr < start + size:
                return vaddr - start + offset
        return None


def _elf(head: bytes, member: Member) -> _Elf | None:
    """The :class:`_Elf` of a member whose first bytes are ``head``; None when it is not an ELF file."""
    if head[:4] != _ELF_MAGIC or len(head) < 64 or head[4] not in (1, 2) or head[5] not in (1, 2):
        return None
    big, order = head[4] == 2, "<" if head[5] == 1 else ">"
    if big:
        (phoff,) = struct.unpack_from(order + "Q", head, 32)
        phentsize, phnum = struct.unpack_from(order + "HH", head, 54)
        layout = struct.Struct(order + "IIQQQQ")  # type, flags, offset, vaddr, paddr, filesz
    else:
        (phoff,) = struct.unpack_from(order + "I", head, 28)
        phentsize, phnum = struct.unpack_from(order + "HH", head, 42)
        layout = struct.Struct(order + "IIIIIII")  # type, offset, vaddr, paddr, filesz, memsz, flags
    if phentsize < layout.size or not 0 < phnum < 4096:
        return None
    table = member.head(phoff + phentsize * phnum)
    if len(table) < phoff + phentsize * phnum:
        return None
    code: list[int] = []
    loads: list[tuple[int, int, int]] = []
    dynamic = None
    for i in range(phnum):
        fields = layout.unpack_from(table, phoff + i * phentsize)
        if big:
            kind, flags, offset, vaddr, _paddr, size = fields
        else:
            kind, offset, vaddr, _paddr, size, _memsz, flags = fields
        if kind == 1:  # PT_LOAD
            loads.append((vaddr, offset, size))
            if flags & 1:  # PF_X
                code.append(offset)
        elif kind == 2:  # PT_DYNAMIC
            dynamic = (offset, size)
    return _Elf(big, order, min(code) if code else None, dynamic, tuple(loads))


class TooBig(Exception):
    """Reading an object's dynamic segment would mean streaming more than :data:`STREAM_BUDGET` of it."""


STREAM_BUDGET = 48 << 20  # compressed bytes of one object streamed to reach its dynamic section, at most
_DT_STRSZ = 10


class _Forward:
    """A member read once from its start: any span at or after the piece in hand, or within its first
    :data:`_KEEP` bytes (kept as they pass)."""

    def __init__(self, member: Member) -> None:
        self._pieces = member.stream()
        self.kept = bytearray()
        self._piece, self._piece_at, self._end = b"", 0, 0

    def _next(self) -> bool:
        piece = next(self._pieces, None)
        if piece is None:
            return False
        if self._end < _KEEP:
            self.kept += piece[: _KEEP - self._end]
        self._piece, self._piece_at = piece, self._end
        self._end += len(piece)
        return True

    def read(self, lo: int, hi: int) -> bytes:
        if hi <= len(self.kept):
            return bytes(self.kept[lo:hi])
        if lo < self._piece_at:
            raise RangesUnusable  # already streamed past and not kept: read the downloaded wheel
        out = bytearray()
        while True:
            a, b = max(lo - self._piece_at, 0), min(hi - self._piece_at, len(self._piece))
            if a < b:
                out += self._piece[a:b]
            if self._end >= hi or not self._next():
                return bytes(out)


def _streamed_names(member: Member, elf: _Elf, where: str, budget: int) -> tuple[set[str], set[str]]:
    """``DT_NEEDED`` and ``DT_SONAME`` of an object whose code starts at its first byte: it streams past
    until its dynamic segment and the string table it points to are read (the table lies before the code,
    in what is kept from the start, or after the segment, as in NVIDIA's libraries)."""
    if elf.dynamic is None:
        return set(), set()
    if member.compressed_size > budget:
        raise TooBig
    forward = _Forward(member)
    dyn_at, dyn_size = elf.dynamic
    dynamic = forward.read(dyn_at, dyn_at + dyn_size)
    entry = struct.Struct(elf.order + ("qQ" if elf.big else "iI"))
    tags: list[tuple[int, int]] = []
    for at in range(0, len(dynamic) - entry.size + 1, entry.size):
        tag, value = entry.unpack_from(dynamic, at)
        if tag == _DT_NULL:
            break
        tags.append((tag, value))
    table = next((elf.offset_of(v) for t, v in tags if t == _DT_STRTAB), None)
    if table is None:
        return set(), set()
    strings = forward.read(table, table + next((v for t, v in tags if t == _DT_STRSZ), 0))

    def name(offset: int) -> str:
        end = strings.find(b"\x00", offset)
        if end == -1:
            raise MetadataError(f"{where}: a dynamic string runs past its table")
        return strings[offset:end].decode("utf-8", "replace")

    return (_checked({name(v) for t, v in tags if t == _DT_NEEDED}, where),
            _checked({name(v) for t, v in tags if t == _DT_SONAME}, where))


def read_remote_linkage(fetch: RangeFetch, filename: str, budget: int = STREAM_BUDGET) -> WheelLinkage:
    """The :class:`WheelLinkage` of a remote wheel, read by HTTP ranges (see the module docstring). Raises
    ``RangesUnusable`` or ``NotAWheel`` when the wheel must be downloaded instead, :class:`TooBig` when an
    object whose code comes first is over ``budget`` compressed bytes."""
    needed: set[str] = set()
    names: set[str] = set()
    provides: set[str] = set()
    objects = [m for m in remote_members(fetch) if _SHARED_OBJECT.search(m.name.rsplit("/", 1)[-1])]
    read_starts(objects)
    for member in objects:
        base = member.name.rsplit("/", 1)[-1]
        elf = _elf(member.head(64), member)
        if elf is None:
            continue
        provides.add(base)
        if elf.code:
            names |= table_names(member.head(elf.code))
        else:
            wanted, soname = _streamed_names(member, elf, f"{filename}: {member.name}", budget)
            needed |= wanted
            provides |= soname
    # The string tables hold each object's own soname too: a name that a file of the wheel starts with.
    provides |= _prefixes_of(names, provides)
    return WheelLinkage(tuple(sorted((needed | names) - provides)), tuple(sorted(provides)))


def table_names(data: bytes) -> set[str]:
    """The shared-object names (``libfoo.so.1``) among the NUL-terminated strings of ``data`` (an object's
    bytes before its code: its string tables), each a whole string: found from each ``.so`` by ``find``,
    a regular expression tried at every byte being many times slower on the megabytes of torch's tables."""
    found: set[str] = set()
    at = data.find(b".so")
    while at != -1:
        start = data.rfind(b"\x00", 0, at) + 1
        end = data.find(b"\x00", at)
        if end == -1:
            break
        if start > 0 and _WHOLE_NAME.fullmatch(data, start, end):
            found.add(data[start:end].decode())
        at = data.find(b".so", end)
    return found


def _prefixes_of(names: Iterable[str], files: Iterable[str]) -> set[str]:
    """The ``names`` some of ``files`` start with (by bisection in the sorted files: torch's objects name
    thousands of strings)."""
    ordered = sorted(files)
    found = set()
    for n in names:
        i = bisect.bisect_left(ordered, n)
        if i < len(ordered) and ordered[i].startswith(n):
            found.add(n)
    return found


def _distfile(name: str, artifact: Artifact) -> DistFile:
    from packaging.utils import parse_wheel_filename

    from nixgen.pypi.model import make_distfile

    version = parse_wheel_filename(artifact.filename)[1]
    return make_distfile(name, artifact.filename, artifact.url, version, "wheel", artifact.sha256, None, False,
                         None, artifact.size, False, frozenset(), None)


def wheel_linkage(index: Index, name: str, artifact: Artifact) -> WheelLinkage | None:
    """The linkage of one wheel: from the cache by its sha256, else read from the file (downloaded when not
    in the artifact cache). None when the file cannot be had (offline without it, or the index refuses it);
    a file that does not match its hash is an error."""
    key = CACHE_PREFIX + artifact.sha256
    cached = index.cache.metadata(key)
    if cached is not None:
        return WheelLinkage.from_json(json.loads(cached))
    file = _distfile(name, artifact)
    try:
        found = index.read_by_ranges(file, lambda fetch: read_remote_linkage(fetch, artifact.filename))
    except TooBig:
        index.notes.append(f"{name}: which libraries {artifact.filename} links was not read: its code comes "
                           f"first in its shared objects, so reading them means downloading most of its "
                           f"{_megabytes(artifact.size)}")
        return None
    if found is None:
        try:
            path = index.artifact(file)
        except HashMismatch:
            raise
        except NixgenError:
            return None
        found = read_wheel_linkage(path)
    index.cache.put_metadata(key, json.dumps(found.to_json()))
    return found


def _megabytes(size: int | None) -> str:
    return f"{size / 1e6:.0f} MB" if size else "size"


def plan_linkage(index: Index, pins: Iterable[Pin],
                 memo: MutableMapping[str, WheelLinkage | None] | None = None) -> dict[str, WheelLinkage]:
    """The linkage of every Linux wheel with native code among ``pins``, by the wheel's sha256 (what the
    planner takes as data); wheels that could not be read are absent."""
    return index.facts_of_files("linkage", _native_linux_wheels(pins), wheel_linkage, memo if memo is not None else {})


def start_linkage(index: Index, pins: Iterable[Pin]) -> None:
    """Start reading, in the background, what :func:`plan_linkage` will read for ``pins``."""
    index.prefetch_facts("linkage", _native_linux_wheels(pins), wheel_linkage)


def _native_linux_wheels(pins: Iterable[Pin]) -> list[tuple[str, Artifact]]:
    return [(pin.name, art) for pin in pins if (art := pin.artifact) is not None and pin.provider == "wheel"
            and pin.native_code and is_linux_wheel(art.filename)]
