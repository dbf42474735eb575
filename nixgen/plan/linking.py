"""From the libraries a wheel's binaries need (``DT_NEEDED`` sonames) to the nixpkgs attributes its
derivation is given, for autoPatchelfHook to find them.

Each needed soname is, in this order: provided by another wheel of the plan (torch's ``nvidia-*`` wheels:
left to the wheels' own ``$ORIGIN`` run paths); the host's GPU driver (``libcuda.so.1``, ``libnvidia-*``:
never in a derivation, NixOS puts it in ``/run/opengl-driver``); glibc's (every derivation links it); the
C compiler's runtime (libstdc++, libgomp, libgcc_s, libatomic: ``stdenv.cc.cc.lib``); else looked up in the
curated table ``plan/data/sonames.toml``, by soname then by stem. What none of these name is *unmapped*:
recorded in the lock and said as a warning, never silently dropped.

Pure: the sonames come in as data (read by :mod:`nixgen.pypi.linkage` at the pipeline's edge).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SONAMES = Path(__file__).parent / "data" / "sonames.toml"
CC_RUNTIME_ATTR = "stdenv.cc.cc.lib"
_GLIBC = re.compile(r"^(libc|libm|libpthread|libdl|librt|libutil|libresolv|libanl|libmvec|libBrokenLocale)"
                    r"\.so(\.[0-9]+)*$|^ld-linux[-_a-z0-9]*\.so(\.[0-9]+)*$")
_CC_RUNTIME = ("libstdc++", "libgomp", "libgcc_s", "libatomic")
_HOST_DRIVER = re.compile(r"^(libcuda|libnvcuvid|libnvidia-[-a-z0-9]+)\.so(\.[0-9]+)*$")


@dataclass(frozen=True)
class Linking:
    """What a wheel's derivation links: nixpkgs attrs (sorted), sonames no table maps, and sonames left to
    the host or to other wheels of the plan (autoPatchelfHook is told not to look for them)."""

    linked: tuple[str, ...]
    unmapped: tuple[str, ...]
    ignored: tuple[str, ...]


def stem(soname: str) -> str:
    """A soname's library name without the ``.so`` suffix and version (``libz.so.1`` → ``libz``)."""
    return soname.split(".so", 1)[0]


@cache
def soname_table() -> dict[str, str]:
    """The curated soname (or stem) → nixpkgs attribute table shipped with nixgen."""
    text = SONAMES.read_text(encoding="utf-8")
    table = tomllib.loads(text)["libraries"]
    return {str(k): str(v) for k, v in table.items()}


def link_libraries(needed: Iterable[str], provided_by_plan: Iterable[str] = (),
                   table: Mapping[str, str] | None = None) -> Linking:
    """Classify ``needed`` sonames (see the module's docstring)."""
    names = table if table is not None else soname_table()
    provided = frozenset(provided_by_plan)
    linked: set[str] = set()
    unmapped: set[str] = set()
    ignored: set[str] = set()
    for soname in needed:
        if soname in provided or _HOST_DRIVER.match(soname):
            ignored.add(soname)
        elif _GLIBC.match(soname):
            continue
        elif stem(soname) in _CC_RUNTIME:
            linked.add(CC_RUNTIME_ATTR)
        elif (attr := names.get(soname) or names.get(stem(soname))) is not None:
            linked.add(attr)
        else:
            unmapped.add(soname)
    return Linking(tuple(sorted(linked)), tuple(sorted(unmapped)), tuple(sorted(ignored)))
