"""What a Linux wheel's native code links: the ``DT_NEEDED`` entries of its ELF shared objects.

The ELF gABI's dynamic section lists, per shared object, the libraries the dynamic linker must load
(``DT_NEEDED``) and the object's own name (``DT_SONAME``). A manylinux wheel (PEP 600) bundles what the policy
does not allow it to assume, under ``<name>.libs/`` with hashed names (auditwheel's repair), and its modules
name those copies in ``DT_NEEDED``; so what a wheel needs from outside is every ``DT_NEEDED`` name that is
not the file name or soname of a shared object the wheel holds itself.

The answer is a fact about a file, so it is cached in the index cache's ``metadata`` table under
``needed:sha256:<hash>`` and never expires. Reading needs the whole wheel: it is downloaded (and
hash-checked) by :meth:`nixgen.pypi.Index.artifact` into the artifact cache, where Nix's fetch of the same
file would find nothing to share but the index's bytes.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nixgen.errors import HashMismatch, MetadataError, NixgenError
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
    from elftools.common.exceptions import ELFError
    from elftools.elf.dynamic import DynamicSegment
    from elftools.elf.elffile import ELFFile

    needed: set[str] = set()
    provides: set[str] = set()
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as err:
        raise MetadataError(f"{path.name} is not a readable wheel: {err}") from err
    with archive, tempfile.TemporaryDirectory(prefix="nixgen-elf-") as tmp:
        for info in archive.infolist():
            base = info.filename.rsplit("/", 1)[-1]
            if info.is_dir() or not _SHARED_OBJECT.search(base):
                continue
            with archive.open(info) as member:
                if member.read(4) != _ELF_MAGIC:
                    continue
            provides.add(base)
            # pyelftools seeks around the file; a zip member streams, so it is read from a real file.
            target = Path(tmp) / "member.so"
            with archive.open(info) as member, target.open("wb") as out:
                shutil.copyfileobj(member, out, 1 << 20)
            try:
                with target.open("rb") as stream:
                    for segment in ELFFile(stream).iter_segments():
                        if not isinstance(segment, DynamicSegment):
                            continue
                        for tag in segment.iter_tags():
                            entry: Any = tag  # DT_NEEDED/DT_SONAME tags carry the name as an attribute
                            if tag.entry.d_tag == "DT_NEEDED":
                                needed.add(str(entry.needed))
                            elif tag.entry.d_tag == "DT_SONAME":
                                provides.add(str(entry.soname))
            except ELFError as err:
                raise MetadataError(f"{path.name}: {info.filename} is not a readable ELF file: {err}") from err
    return WheelLinkage(tuple(sorted(needed - provides)), tuple(sorted(provides)))


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
    try:
        path = index.artifact(_distfile(name, artifact))
    except HashMismatch:
        raise
    except NixgenError:
        return None
    found = read_wheel_linkage(path)
    index.cache.put_metadata(key, json.dumps(found.to_json()))
    return found


def plan_linkage(index: Index, pins: Iterable[Pin],
                 memo: MutableMapping[str, WheelLinkage | None] | None = None) -> dict[str, WheelLinkage]:
    """The linkage of every Linux wheel with native code among ``pins``, by the wheel's sha256 (what the
    planner takes as data); wheels that could not be read are absent."""
    seen = memo if memo is not None else {}
    out: dict[str, WheelLinkage] = {}
    for pin in pins:
        art = pin.artifact
        if pin.provider != "wheel" or not pin.native_code or art is None or not is_linux_wheel(art.filename):
            continue
        if art.sha256 not in seen:
            seen[art.sha256] = wheel_linkage(index, pin.name, art)
        found = seen[art.sha256]
        if found is not None:
            out[art.sha256] = found
    return out
