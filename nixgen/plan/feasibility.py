"""Build feasibility: can a package the plan builds from source build for the target?

A verdict (``ok | risky | infeasible``) from evidence, each fact with its own verdict, the worst one winning:

- the release's own wheels (PEP 425 interpreter tags of its files): wheels for the target's interpreter mean
  its authors built it there (``ok``); interpreter-specific wheels with none for the target mean native code
  that was not built for it. When the release was uploaded before the interpreter's release and a later
  release of the project is the first with wheels for it, the project needed that release to support the
  interpreter; when its newest wheels are two or more interpreter versions behind the target and later
  releases went on to newer interpreters, the project left it behind (both ``infeasible``); otherwise
  ``risky`` — so the last release of an abandoned project (box2d-py 2.3.8, wheels up to cp37, whose sdist
  still builds on Python 3.13 with swig) is risky, not ruled out;
- known removals read from setup.py (:mod:`nixgen.pypi.sourcefacts`): ``numpy.distutils`` (gone in numpy 2.0,
  and numpy 1.26 has none on Python 3.12+: ``infeasible`` there), ``distutils`` (gone from Python 3.12; a
  setuptools build usually has its copy: ``risky``).

Requires-Python and the build requirements' bounds are not evidence here: the resolver already chose versions
that satisfy them. Pure: the facts come in as data.
"""

from __future__ import annotations

from collections.abc import Mapping

from packaging.version import InvalidVersion, Version

from nixgen.core.kinds import Verdict
from nixgen.plan.model import Evidence
from nixgen.pypi.sourcefacts import SourceFacts
from nixgen.resolve.model import Pin

PYTHON_RELEASES = {"3.11": "2022-10-24", "3.12": "2023-10-02", "3.13": "2024-10-07", "3.14": "2025-10-07"}
"""The final release date of each CPython minor version nixpkgs has (python.org's release pages)."""

_ORDER: dict[Verdict, int] = {"ok": 0, "risky": 1, "infeasible": 2}


def worst(verdicts: list[Verdict]) -> Verdict:
    """The most severe of ``verdicts`` (``ok`` for none)."""
    return max(verdicts, key=lambda v: _ORDER[v], default="ok")


def _newer(a: str, b: str) -> bool:
    try:
        return Version(a) > Version(b)
    except InvalidVersion:
        return False


def judge(pin: Pin, python_version: str, versions: Mapping[str, str],
          facts: SourceFacts | None) -> tuple[Verdict, tuple[Evidence, ...]]:
    """The verdict and evidence for building ``pin`` from source on Python ``python_version`` (``3.13.12``)
    with the plan's ``versions`` (name → version)."""
    parts = python_version.split(".")
    python = ".".join(parts[:2])
    minor = (int(parts[0]), int(parts[1]))
    tag = f"cp{parts[0]}{parts[1]}"
    evidence: list[Evidence] = []
    release = pin.release
    if release is not None:
        specific = [t for t in release.wheel_pythons if t.startswith("cp")]
        if tag in release.wheel_pythons:
            evidence.append(Evidence("target-wheels", "ok", python, release.wheel_pythons))
        elif specific:
            released = PYTHON_RELEASES.get(python)
            before = (released is not None and release.uploaded is not None
                      and release.uploaded.date().isoformat() < released)
            needed_newer = before and release.wheels_from is not None and _newer(release.wheels_from, pin.version)
            minors = [int(t[3:]) for t in specific if t[3:].isdigit()]
            newest = max(minors) if minors else minor[1]
            later = release.later_wheels
            went_on = later is not None and later[3:].isdigit() and int(later[3:]) > newest
            far_behind = before and minor[1] - newest >= 2 and went_on
            evidence.append(Evidence("no-target-wheels", "infeasible" if needed_newer or far_behind else "risky",
                                     python,
                                     tuple(specific), release.uploaded, released,
                                     release.wheels_from if needed_newer else None))
    if facts is not None:
        numpy = versions.get("numpy")
        if facts.numpy_distutils:
            gone = minor >= (3, 12) or numpy is None or not _newer("2", numpy)
            evidence.append(Evidence("numpy-distutils", "infeasible" if gone else "ok", python, numpy=numpy))
        elif facts.distutils and minor >= (3, 12):
            evidence.append(Evidence("distutils", "risky", python))
    return worst([e.verdict for e in evidence]), tuple(evidence)
