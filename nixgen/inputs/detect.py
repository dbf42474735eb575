"""Which input format a file is, by its name and content."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from nixgen.inputs.model import RequirementSet

if TYPE_CHECKING:
    from nixgen.pipeline import Locked

_PYLOCK = re.compile(r"^pylock\.([^.]+\.)?toml$")


def read_input(path: Path) -> RequirementSet | Locked:
    """A requirements file (pip's format) or a nixgen-written PEP 751 lock (``pylock[.NAME].toml``)."""
    if _PYLOCK.match(path.name):
        from nixgen.inputs.pylock import read_pylock

        return read_pylock(path)
    from nixgen.inputs.requirements_txt import read_requirements

    return read_requirements(path)
