"""pip's configuration, read the way pip reads it, for the settings nixgen shares with pip.

pip keeps its settings in INI files (``pip.conf`` / ``pip.ini``) and in ``PIP_<NAME>`` environment variables;
later files override earlier ones, the environment overrides every file. Spawning ``pip config`` costs a
second of start-up on every run, so the files are read here with :mod:`configparser`.
"""

from __future__ import annotations

import configparser
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, overload

# Read from pypi-simple's source rather than by importing it: importing pypi_simple loads pydantic and
# BeautifulSoup (~0.2 s), which would be most of a warm run.
_ENDPOINT_RE = re.compile(r"""^PYPI_SIMPLE_ENDPOINT\s*(?::\s*str\s*)?=\s*["']([^"']+)["']""", re.M)


def _library_endpoint() -> str:
    """``pypi_simple.PYPI_SIMPLE_ENDPOINT``, without paying for the import when the source can be read."""
    import importlib.util

    spec = importlib.util.find_spec("pypi_simple")
    if spec is not None and spec.origin:
        try:
            match = _ENDPOINT_RE.search(Path(spec.origin).read_text(encoding="utf-8"))
        except OSError:
            match = None
        if match:
            return match.group(1)
    import pypi_simple

    return str(pypi_simple.PYPI_SIMPLE_ENDPOINT)


def config_files() -> list[Path]:
    """pip's configuration files in the order pip loads them (a later one overrides an earlier one)."""
    env_file = os.environ.get("PIP_CONFIG_FILE")
    if env_file == os.devnull:
        return []
    ini = "pip.ini" if sys.platform == "win32" else "pip.conf"
    files: list[Path] = []
    if sys.platform == "win32":
        program_data = os.environ.get("PROGRAMDATA", r"C:\ProgramData")
        files.append(Path(program_data) / "pip" / ini)
    elif sys.platform == "darwin":
        files.append(Path("/Library/Application Support/pip") / ini)
    else:
        xdg_dirs = os.environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
        files += [Path(d) / "pip" / ini for d in reversed(xdg_dirs.split(os.pathsep)) if d]
        files.append(Path("/etc") / ini)
    home = Path.home()
    files.append(home / ".pip" / ini)  # pip's legacy per-user file
    if sys.platform == "win32":
        files.append(Path(os.environ.get("APPDATA", home)) / "pip" / ini)
    elif sys.platform == "darwin":
        files += [home / ".config" / "pip" / ini, home / "Library" / "Application Support" / "pip" / ini]
    else:
        files.append(Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "pip" / ini)
    files.append(Path(sys.prefix) / ini)  # the virtualenv's ("site") file
    if env_file:
        files.append(Path(env_file))
    return files


def _values(name: str) -> Iterator[str]:
    for path in config_files():
        if not path.is_file():
            continue
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError, OSError):
            continue  # pip would refuse a broken file; nixgen just does not take settings from it
        for section in ("global", "install"):  # pip's command section overrides [global]
            if parser.has_option(section, name):
                yield parser.get(section, name).strip()


@overload
def pip_setting(name: str) -> str | None: ...
@overload
def pip_setting(name: str, *, every: Literal[True]) -> list[str]: ...


def pip_setting(name: str, *, every: bool = False) -> str | list[str] | None:
    """The value pip would use for ``name`` (e.g. ``index-url``): environment first, then the files; with
    ``every``, a list setting's words (``extra-index-url``: whitespace-separated, as pip splits it)."""
    env = os.environ.get("PIP_" + name.upper().replace("-", "_"))
    found: str | None = env.strip() if env else None
    if found is None:
        for value in _values(name):
            if value:
                found = value
    if every:
        return found.split() if found else []
    return found


def default_index_url() -> str:
    """The index pip would use: ``PIP_INDEX_URL``, then ``index-url`` in pip's files, then pypi-simple's
    ``PYPI_SIMPLE_ENDPOINT``. Always ends with ``/``."""
    url = pip_setting("index-url") or _library_endpoint()
    url = url.split()[0]
    return url if url.endswith("/") else url + "/"
