"""Run-time ABI constraints that metadata omits, added as requirements with their reason.

numpy 2.0 (released 2024-06-16) broke the ABI of extension modules built against numpy 1.x: such a module
fails to import with numpy 2 ("A module that was compiled using NumPy 1.x cannot be run in NumPy 2"). A wheel
with native code that requires numpy and was uploaded before numpy 2.0 was necessarily built against
numpy 1.x, whatever its metadata allows, so it gets ``numpy<2``. An sdist is compiled against the plan's
numpy and gets nothing here (whether its source still compiles is feasibility's question).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from packaging.specifiers import SpecifierSet
from packaging.utils import parse_wheel_filename

from nixgen.resolve.model import Candidate, Req

NUMPY_2_RELEASED = datetime(2024, 6, 16, tzinfo=UTC)
NUMPY_1 = SpecifierSet("<2")


def _native(filename: str) -> bool:
    try:
        tags = parse_wheel_filename(filename)[3]
    except ValueError:
        return False
    return any(t.abi != "none" or t.platform != "any" for t in tags)


def abi_constraints(cand: Candidate, deps: Sequence[Req]) -> list[Req]:
    """The requirements to add to ``cand``'s dependencies ``deps`` (see the module's docstring)."""
    release = cand.release
    if (cand.provider != "wheel" or cand.artifact is None or release is None or release.uploaded is None
            or release.uploaded >= NUMPY_2_RELEASED or not _native(cand.artifact.filename)):
        return []
    if not any(d.name == "numpy" and d.kind == "run" and d.specifier.contains("2.0.0", prereleases=True)
               for d in deps):
        return []
    return [Req(name="numpy", specifier=NUMPY_1, parent=cand, text="numpy<2", kind="run")]
