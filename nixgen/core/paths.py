"""Paths written into Nix expressions, always in valid Nix path syntax.

A Nix path literal is a run of ``[a-zA-Z0-9._+-]`` characters containing at least one ``/``, where no
component is empty (so no trailing ``/``): ``./.``, ``./sub``, ``../x``, ``../.``, ``../..``. ``..`` alone is not one
(it does not parse), nor is a name with a space, a quote or any other character outside that set: such a
path is written as ``./.`` plus a string (``./. + "/a b"``), which Nix resolves against the directory of the
file and canonicalizes, ``..`` included.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from nixgen.core.nix import nix_string

_LITERAL = re.compile(r"^[A-Za-z0-9._+-]+(?:/[A-Za-z0-9._+-]+)+$")


def nix_path(target: str | Path, base_dir: str | Path) -> str:
    """A Nix path expression for ``target``, relative to ``base_dir`` (the directory of the Nix file).

    ``./.`` for the directory itself, a literal (``./sub``, ``../x``, ``../.``) when every component fits
    path syntax, else ``./. + "/<relative path>"``. Both are resolved (symlinks included) first.
    """
    rel = Path(os.path.relpath(Path(target).resolve(), Path(base_dir).resolve())).as_posix()
    if rel == ".":
        return "./."
    if rel == "..":
        return "../."  # ".." alone does not parse: a path literal holds a "/"
    literal = rel if rel.startswith("../") else f"./{rel}"
    if _LITERAL.match(literal):
        return literal
    return f"./. + {nix_string('/' + rel)}"
