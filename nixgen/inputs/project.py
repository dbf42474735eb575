"""The user's own project: its core metadata from its build backend when ``[project]`` leaves any of it
dynamic (PEP 621 ``dynamic``, PEP 517 ``prepare_metadata_for_build_wheel``), or from ``[tool.poetry]``.

The PEP 517 hook runs **in place** on the working copy, in a subprocess of nixgen's own interpreter: it is
the user's own code (what ``pip install -e .`` would run), it needs the ``.git`` directory that
setuptools-scm and hatch-vcs read, ``git`` on ``PATH`` and any ``SETUPTOOLS_SCM_*`` variables the user set,
so it inherits nixgen's environment. It is *not* kept off the network: doing that cheaply is not possible
without the sandbox of :mod:`nixgen.pypi.box`, which would hide ``.git`` and ``git``.

The build requirements must be importable for the hook. When every one of them is installed in nixgen's
environment (checked by distribution name and version specifier), the hook runs there
(``build``'s ``isolated=False``), which needs no index. Otherwise ``build`` makes an isolated environment
and installs them with pip (``isolated=True``), which uses pip's own index configuration.
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from nixgen.errors import InputError

__all__ = ["BuiltMetadata", "built_metadata", "check_source_tree", "poetry_specifier", "stable_version",
           "vcs_versioned"]

_DIRTY = re.compile(r"(^|\.)d\d{8}$")  # setuptools-scm's and hatch-vcs's dirty-tree date, `.d20260102`


@dataclass(frozen=True)
class BuiltMetadata:
    """What a PEP 517 metadata hook said of the project (core metadata 2.x fields)."""

    name: str
    version: str
    requires_dist: tuple[str, ...]
    provides_extra: tuple[str, ...]
    requires_python: str | None


def _installed(requirement: str) -> bool:
    """Whether ``requirement`` (PEP 508) is met by a distribution in nixgen's own environment."""
    try:
        req = Requirement(requirement)
    except InvalidRequirement:
        return False
    if req.marker is not None and not req.marker.evaluate():
        return True
    try:
        version = importlib.metadata.version(req.name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return req.specifier.contains(version, prereleases=True)


def built_metadata(directory: Path, build_requires: tuple[str, ...] | None) -> BuiltMetadata:
    """The project's metadata from its own ``prepare_metadata_for_build_wheel`` (PEP 517), run in place.

    Build requirements all installed here: no isolation; otherwise ``build``'s isolated environment (pip).
    """
    import build
    import build.util
    import pyproject_hooks

    requires = build_requires if build_requires is not None else ("setuptools>=40.8.0",)
    isolated = not all(_installed(r) for r in requires)
    how = "in an isolated environment (pip installs its build requirements)" if isolated else "in place"
    sys.stderr.write(f"nixgen: note: {directory}: [project] metadata is dynamic; running its build backend's "
                     f"prepare_metadata_for_build_wheel {how}\n")
    try:
        meta = build.util.project_wheel_metadata(directory, isolated=isolated,
                                                 runner=pyproject_hooks.quiet_subprocess_runner)
    except (build.BuildException, build.BuildBackendException, build.FailedProcessError,
            subprocess.CalledProcessError, OSError) as err:
        detail = str(err)
        if isinstance(err, subprocess.CalledProcessError):
            detail = f"installing its build requirements {', '.join(requires)} failed"
        cause = err if isinstance(err, subprocess.CalledProcessError) else (
            err.__cause__ or getattr(err, "exception", None))
        output = getattr(cause, "stderr", None) or getattr(cause, "output", None)
        if isinstance(output, bytes):
            tail = output.decode(errors="replace").strip().splitlines()[-8:]
            detail += "\n    " + "\n    ".join(tail)
        raise InputError(f"its build backend could not say what the project is: {detail}",
                         path=str(directory / "pyproject.toml"),
                         hint="run `python -m build --wheel` there to see the error; for a version from git, "
                              "check that the tree is a git checkout with a tag (or set "
                              "SETUPTOOLS_SCM_PRETEND_VERSION)") from None
    def first(field: str) -> str | None:
        values = meta.get_all(field)
        return str(values[0]) if values else None

    name, version = first("Name"), first("Version")
    if not name or not version:
        raise InputError("its build backend's metadata has no Name or Version", path=str(directory))
    requires_python = first("Requires-Python")
    return BuiltMetadata(name=str(canonicalize_name(name)), version=version,
                         requires_dist=tuple(meta.get_all("Requires-Dist") or ()),
                         provides_extra=tuple(str(canonicalize_name(e)) for e in meta.get_all("Provides-Extra") or ()),
                         requires_python=requires_python or None)


def stable_version(version: str, where: str) -> tuple[str, str | None]:
    """``version`` without a dirty tree's local part (``+g1a2b3c.d20260102`` → dropped), and a note if so.

    A clean checkout's local part (``+g1a2b3c``, commits after a tag) is kept: it names the commit.
    """
    try:
        parsed = Version(version)
    except InvalidVersion:
        raise InputError(f"the build backend gave version {version!r}, which is not PEP 440",
                         path=where) from None
    if parsed.local is None or not any(_DIRTY.search(part) for part in parsed.local.split(".")):
        return version, None
    public = parsed.public
    return public, (f"{where}: the working tree has uncommitted changes, so its version is {version}; "
                    f"recorded as {public} so that the output does not change with every edit")


def vcs_versioned(pyproject: dict[str, Any]) -> bool:
    """Whether the version comes from git: setuptools-scm (``[tool.setuptools_scm]`` or a build requirement)
    or hatch-vcs (``[tool.hatch.version] source = "vcs"``)."""
    tool = pyproject.get("tool") if isinstance(pyproject.get("tool"), dict) else {}
    assert isinstance(tool, dict)
    if "setuptools_scm" in tool or "setuptools-scm" in tool:
        return True
    hatch = tool.get("hatch")
    if isinstance(hatch, dict) and isinstance(hatch.get("version"), dict) and hatch["version"].get("source") == "vcs":
        return True
    system = pyproject.get("build-system")
    requires = system.get("requires") if isinstance(system, dict) else None
    for text in requires if isinstance(requires, list) else []:
        try:
            name = canonicalize_name(Requirement(str(text)).name)
        except InvalidRequirement:
            continue
        if name in ("setuptools-scm", "hatch-vcs", "setuptools-git-versioning"):
            return True
    return False


def check_source_tree(directory: Path, name: str) -> None:
    """The project's source is there to build: a ``pyproject.toml`` (or ``setup.py``) and some Python source
    by the common layouts (``src/``, a top-level package or module, or a setup script). InputError if not."""
    where = str(directory)
    if not directory.is_dir():
        raise InputError("the project's directory does not exist", path=where,
                         hint="check the path of the project (a path dependency or workspace member?)")
    if not (directory / "pyproject.toml").is_file() and not (directory / "setup.py").is_file():
        raise InputError("the project's directory holds no pyproject.toml or setup.py", path=where,
                         hint="nixgen builds the project from its source tree; point it at the project root")
    if (directory / "setup.py").is_file() or (directory / "src").is_dir():
        return
    module = name.replace("-", "_")
    for entry in directory.iterdir():
        if entry.name.startswith(".") or entry.name in ("tests", "test", "docs", "build", "dist"):
            continue
        if entry.is_dir() and ((entry / "__init__.py").is_file() or entry.name == module):
            return
        if entry.is_file() and entry.suffix == ".py" and entry.name not in ("conftest.py", "noxfile.py"):
            return
    raise InputError(f"the project {name} has no source beside its pyproject.toml (no src/, no package or module "
                     "directory)", path=where,
                     hint=f"add its code (e.g. {module}/__init__.py or src/{module}/), or give nixgen a requirements "
                          "file if only the dependencies are wanted")


def _poetry_bound(version: str, kind: str) -> str:
    """Poetry's ``^`` and ``~`` constraints as PEP 440 (poetry's documented meanings)."""
    parts = version.split(".")
    if not all(p.isdigit() for p in parts):
        raise ValueError(version)
    nums = [int(p) for p in parts]
    if kind == "^":
        # The first non-zero component may not change; ^0.0 and ^0 bump the last component given.
        first = next((i for i, n in enumerate(nums) if n != 0), len(nums) - 1)
        upper = nums[:first + 1]
    else:
        upper = nums[:2] if len(nums) > 1 else nums[:1]
    upper[-1] += 1
    return f">={version},<{'.'.join(str(n) for n in upper)}"


def poetry_specifier(text: str) -> str:
    """A Poetry version constraint (``^1.2``, ``~1.2``, ``*``, ``1.2``, ``>=1,<2``, ``>=1 <2``) as a PEP 440
    specifier; ``||`` has no PEP 440 spelling and raises ValueError."""
    text = text.strip()
    if "||" in text or "|" in text:
        raise ValueError(text)
    if text in ("", "*"):
        return ""
    out: list[str] = []
    for part in re.split(r"\s*,\s*|\s+(?=[<>=!~^])", text):
        part = part.strip()
        if not part or part == "*":
            continue
        if part.startswith("^"):
            out.append(_poetry_bound(part[1:].strip(), "^"))
        elif part.startswith("~") and not part.startswith("~="):
            out.append(_poetry_bound(part[1:].strip(), "~"))
        elif part[0].isdigit():
            out.append(f"=={part}")
        else:
            out.append(part)
    return ",".join(out)
