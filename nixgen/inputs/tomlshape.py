"""Checked access to parsed TOML documents (pyproject.toml, uv.lock, poetry.lock).

``tomllib`` gives plain dicts and lists of any shape; every reader takes values through these helpers, so a
value of the wrong type is an :class:`~nixgen.errors.InputError` naming the file, the dotted key as TOML would
write it (``project.optional-dependencies.test[0]``) and the type expected, instead of a traceback later.
Requirements, versions, markers and names are parsed with ``packaging`` (PEP 508, PEP 440, PEP 503).
"""

from __future__ import annotations

import datetime
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from nixgen.errors import InputError

__all__ = ["MAX_INPUT_BYTES", "FileTooLarge", "Key", "load_toml", "read_limited"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_PROJECT_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)  # PEP 508 names
_T = TypeVar("_T")


MAX_INPUT_BYTES = 64 << 20  # an input file larger than this is a mistake (a device, a stream), not an input


class FileTooLarge(Exception):
    """A file has more than :data:`MAX_INPUT_BYTES` (raised by :func:`read_limited`)."""


def read_limited(path: Path) -> bytes:
    """The file's bytes, reading at most :data:`MAX_INPUT_BYTES` (so ``/dev/zero`` cannot fill the memory)."""
    with path.open("rb") as stream:
        data = stream.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise FileTooLarge(str(path))
    return data


def load_toml(path: Path, what: str) -> dict[str, Any]:
    """The document in ``path`` (TOML 1.0 via ``tomllib``); unreadable or invalid TOML is an InputError."""
    try:
        return tomllib.loads(read_limited(path).decode("utf-8"))
    except FileTooLarge:
        raise InputError(f"is larger than {MAX_INPUT_BYTES >> 20} MiB; it is not {what}", path=str(path)) from None
    except FileNotFoundError:
        raise InputError("no such file", path=str(path)) from None
    except IsADirectoryError:
        raise InputError(f"is a directory, not {what}", path=str(path)) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError, ValueError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else err
        if isinstance(err, RecursionError):
            reason = "values nested too deeply"
        raise InputError(f"cannot read it as {what}: {reason}", path=str(path)) from None


def describe(value: object) -> str:
    """A value's TOML type in words, with a short rendering: ``a string ('x')``, ``an integer (1)``."""
    kind = ("a boolean" if isinstance(value, bool) else "an integer" if isinstance(value, int)
            else "a float" if isinstance(value, float) else "a string" if isinstance(value, str)
            else "an array" if isinstance(value, list) else "a table" if isinstance(value, dict)
            else "a date or time" if isinstance(value, datetime.date | datetime.time) else type(value).__name__)
    shown = repr(value)
    return f"{kind} ({shown[:40]}{'…' if len(shown) > 40 else ''})"


@dataclass(frozen=True)
class Key:
    """Where a value sits: the file, and its dotted key path (empty for the document itself)."""

    path: str
    dotted: str = ""

    def __truediv__(self, part: str | int) -> Key:
        """The key of a table entry (``str``) or an array item (``int``, shown from 0 as ``[i]``)."""
        if isinstance(part, int):
            return Key(self.path, f"{self.dotted}[{part}]")
        shown = part if _BARE_KEY.fullmatch(part) else '"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return Key(self.path, f"{self.dotted}.{shown}" if self.dotted else shown)

    def error(self, message: str, hint: str | None = None) -> InputError:
        where = f"{self.dotted}: " if self.dotted else ""
        return InputError(where + message, path=self.path, hint=hint)

    def wrong(self, value: object, expected: str, hint: str | None = None) -> InputError:
        return self.error(f"expected {expected}, got {describe(value)}", hint=hint)

    # -- typed getters -------------------------------------------------------------------------------
    def table(self, value: object) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.wrong(value, "a table")
        return value

    def array(self, value: object) -> list[Any]:
        if not isinstance(value, list):
            raise self.wrong(value, "an array")
        return value

    def string(self, value: object) -> str:
        if not isinstance(value, str):
            raise self.wrong(value, "a string")
        return value

    def strings(self, value: object) -> list[str]:
        """An array of strings."""
        items = self.array(value)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise (self / i).wrong(item, "a string")
        return items

    def each(self, value: object, parse: Callable[[Key, object], _T]) -> list[_T]:
        """An array, each item through ``parse`` with its own key."""
        return [parse(self / i, item) for i, item in enumerate(self.array(value))]

    def requirement(self, value: object) -> Requirement:
        """A PEP 508 requirement string."""
        text = self.string(value)
        try:
            return Requirement(text)
        except InvalidRequirement as err:
            raise self.error(f"{text!r} is not a PEP 508 requirement: {str(err).splitlines()[0]}") from None

    def requirements(self, value: object) -> list[str]:
        """An array of PEP 508 requirement strings, checked and kept as written."""
        texts = self.strings(value)
        for i, text in enumerate(texts):
            (self / i).requirement(text)
        return texts

    def version(self, value: object) -> str:
        """A PEP 440 version string."""
        text = self.string(value)
        try:
            Version(text)
        except InvalidVersion:
            raise self.error(f"{text!r} is not a PEP 440 version") from None
        return text

    def specifier(self, value: object) -> str:
        """A PEP 440 specifier set string (e.g. ``>=3.10``)."""
        text = self.string(value)
        try:
            SpecifierSet(text)
        except InvalidSpecifier:
            raise self.error(f"{text!r} is not a PEP 440 version specifier (e.g. '>=3.10')") from None
        return text

    def marker(self, value: object) -> str:
        """A PEP 508 environment marker string."""
        text = self.string(value)
        try:
            Marker(text)
        except InvalidMarker as err:
            raise self.error(f"{text!r} is not a PEP 508 marker: {str(err).splitlines()[0]}") from None
        return text

    def name(self, value: object) -> str:
        """A project (or extra, or group) name as PEP 508 allows it, normalized (PEP 503)."""
        text = self.string(value)
        if not _PROJECT_NAME.match(text):
            raise self.error(f"{text!r} is not a valid name (letters, digits, '.', '_', '-')")
        return str(canonicalize_name(text))


def get(table: dict[str, Any], key: Key, part: str, parse: Callable[[Key, object], _T]) -> _T | None:
    """``table[part]`` through ``parse`` (with the key ``key / part``), or None when it is absent."""
    if part not in table:
        return None
    return parse(key / part, table[part])
