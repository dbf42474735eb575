"""What an sdist's setup.py says about the tools its build needs, for build feasibility.

Two removals break old setup scripts: ``distutils`` left the standard library in Python 3.12 (PEP 632;
setuptools' copy stands in when setuptools is imported first), and ``numpy.distutils`` left numpy in 2.0
(and numpy 1.26 does not provide it on Python 3.12 and later). A setup.py that imports them is found by
reading it (never running it). The answer is a fact about a file, cached in the index cache's ``metadata``
table under ``setup-py:sha256:<hash>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, MutableMapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from nixgen.errors import HashMismatch, NixgenError
from nixgen.resolve.model import Artifact, Pin

if TYPE_CHECKING:
    from nixgen.pypi.client import Index
    from nixgen.pypi.model import DistFile

CACHE_PREFIX = "setup-py:sha256:"
_NUMPY_DISTUTILS = re.compile(r"^[ \t]*(from[ \t]+numpy\.distutils\b|import[ \t]+numpy\.distutils\b)", re.M)
_DISTUTILS = re.compile(r"^[ \t]*(from[ \t]+distutils\b|import[ \t]+distutils\b)", re.M)


@dataclass(frozen=True)
class SourceFacts:
    """What an sdist's setup.py imports (numpy.distutils, distutils) and whether it has a pyproject.toml."""

    numpy_distutils: bool = False
    distutils: bool = False
    pyproject: bool = False


def scan_setup_py(text: str, has_pyproject: bool) -> SourceFacts:
    """The facts of one setup.py's text."""
    return SourceFacts(numpy_distutils=bool(_NUMPY_DISTUTILS.search(text)), distutils=bool(_DISTUTILS.search(text)),
                       pyproject=has_pyproject)


def _distfile(name: str, artifact: Artifact) -> DistFile:
    from packaging.version import Version

    from nixgen.pypi.model import make_distfile

    return make_distfile(name, artifact.filename, artifact.url, Version("0"), "sdist", artifact.sha256, None, False,
                         None, artifact.size, False, frozenset(), None)


def source_facts(index: Index, name: str, artifact: Artifact) -> SourceFacts | None:
    """The facts of one sdist: cached by sha256, else read from the file (the artifact cache has it when
    its metadata was read; otherwise it is downloaded). None when the file cannot be had."""
    from nixgen.pypi.metadata import read_sdist_member

    key = CACHE_PREFIX + artifact.sha256
    cached = index.cache.metadata(key)
    if cached is not None:
        return SourceFacts(**json.loads(cached))
    try:
        path = index.artifact(_distfile(name, artifact))
        setup = read_sdist_member(path, "setup.py")
        pyproject = read_sdist_member(path, "pyproject.toml") is not None
    except HashMismatch:
        raise
    except NixgenError:
        return None
    found = scan_setup_py(setup.decode("utf-8", "replace") if setup else "", pyproject)
    index.cache.put_metadata(key, json.dumps(asdict(found)))
    return found


def plan_source_facts(index: Index, pins: Iterable[Pin],
                      memo: MutableMapping[str, SourceFacts | None] | None = None) -> dict[str, SourceFacts]:
    """The facts of every index sdist among ``pins``, by the sdist's sha256."""
    return index.facts_of_files("source-facts", _sdists(pins), source_facts, memo if memo is not None else {})


def start_source_facts(index: Index, pins: Iterable[Pin]) -> None:
    """Start reading, in the background, what :func:`plan_source_facts` will read for ``pins``."""
    index.prefetch_facts("source-facts", _sdists(pins), source_facts)


def _sdists(pins: Iterable[Pin]) -> list[tuple[str, Artifact]]:
    return [(pin.name, art) for pin in pins if (art := pin.artifact) is not None and pin.provider == "sdist"]
