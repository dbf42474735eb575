"""Which input format a file is, by its name and content."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from nixgen.errors import InputError
from nixgen.inputs.model import RequirementSet

_PYLOCK = re.compile(r"^pylock\.([^.]+\.)?toml$")


def is_pylock(path: Path) -> bool:
    """PEP 751's file names: ``pylock.toml`` or ``pylock.<name>.toml`` (a lock, read by
    :mod:`nixgen.lock.pylock`, which loads only then)."""
    return _PYLOCK.match(path.name) is not None


def read_input(path: Path, extras: Sequence[str] = (), groups: Sequence[str] = (), *, all_extras: bool = False,
               all_groups: bool = False, no_dev: bool = False, with_groups: Sequence[str] = (),
               without_groups: Sequence[str] = (), only_groups: Sequence[str] = ()) -> RequirementSet:
    """By file name: ``pyproject.toml``, ``uv.lock``, ``poetry.lock``; any other ``.toml`` or ``.lock`` is an
    error; everything else is read as pip's requirements format. (A ``pylock.toml`` is a lock, read by
    :mod:`nixgen.lock.pylock`, not an input.)"""
    name = path.name
    if (extras or groups) and name not in ("pyproject.toml", "uv.lock", "poetry.lock"):
        raise InputError("--extra and --group apply to a pyproject.toml, uv.lock or poetry.lock", path=str(path))
    poetry = {"with_groups": with_groups, "without_groups": without_groups, "only_groups": only_groups}
    if any(poetry.values()) and name not in ("pyproject.toml", "poetry.lock"):
        raise InputError("--with, --without and --only apply to a Poetry project (pyproject.toml or poetry.lock)",
                         path=str(path))
    if (all_extras or all_groups or no_dev) and name != "uv.lock":
        raise InputError("--all-extras, --all-groups and --no-dev apply to a uv.lock", path=str(path))
    if name == "pyproject.toml":
        from nixgen.inputs.pyproject import read_pyproject

        return read_pyproject(path, extras, groups, **poetry)
    if name == "uv.lock":
        from nixgen.inputs.lockfiles import read_uv_lock

        return read_uv_lock(path, extras, groups, all_extras=all_extras, all_groups=all_groups, no_dev=no_dev)
    if name == "poetry.lock":
        from nixgen.inputs.lockfiles import read_poetry_lock

        return read_poetry_lock(path, extras, groups, **poetry)
    if path.suffix in (".toml", ".lock"):
        raise InputError("is not an input nixgen reads", path=str(path),
                         hint="give a requirements file, pyproject.toml, pylock.toml, uv.lock or poetry.lock")
    from nixgen.inputs.requirements_txt import read_requirements

    return read_requirements(path)
