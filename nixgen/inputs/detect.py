"""Which input format a file is, by its name and content."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from nixgen.errors import InputError
from nixgen.inputs.model import RequirementSet

if TYPE_CHECKING:
    from nixgen.pipeline import Locked

_PYLOCK = re.compile(r"^pylock\.([^.]+\.)?toml$")


def read_input(path: Path, extras: Sequence[str] = (), groups: Sequence[str] = ()) -> RequirementSet | Locked:
    """By file name: a nixgen-written PEP 751 lock (``pylock[.NAME].toml``), ``pyproject.toml``, ``uv.lock``,
    ``poetry.lock``; any other ``.toml`` or ``.lock`` is an error; everything else is read as pip's
    requirements format."""
    name = path.name
    if (extras or groups) and name != "pyproject.toml":
        raise InputError("--extra and --group apply to a pyproject.toml", path=str(path))
    if _PYLOCK.match(name):
        from nixgen.inputs.pylock import read_pylock

        return read_pylock(path)
    if name == "pyproject.toml":
        from nixgen.inputs.pyproject import read_pyproject

        return read_pyproject(path, extras, groups)
    if name == "uv.lock":
        from nixgen.inputs.lockfiles import read_uv_lock

        return read_uv_lock(path)
    if name == "poetry.lock":
        from nixgen.inputs.lockfiles import read_poetry_lock

        return read_poetry_lock(path)
    if path.suffix in (".toml", ".lock"):
        raise InputError("is not an input nixgen reads", path=str(path),
                         hint="give a requirements file, pyproject.toml, pylock.toml, uv.lock or poetry.lock")
    from nixgen.inputs.requirements_txt import read_requirements

    return read_requirements(path)
