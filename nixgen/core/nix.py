"""Nix values as text: the one escaping helper every template goes through (Nix manual, "String literals")."""

from __future__ import annotations

import base64
import re

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_'-]*$")
_KEYWORDS = frozenset({"if", "then", "else", "assert", "with", "let", "in", "rec", "inherit", "or"})


def nix_string(value: str) -> str:
    """A double-quoted Nix string literal holding ``value`` exactly (escapes ``\\``, ``"`` and ``${``)."""
    escaped = (value.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${")
               .replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t"))
    return f'"{escaped}"'


def nix_attr(name: str) -> str:
    """An attribute name: bare when Nix allows it, quoted otherwise (``"3to2"``, ``"with"``)."""
    if _IDENT.match(name) and name not in _KEYWORDS:
        return name
    return nix_string(name)


def sri_sha256(hex_digest: str) -> str:
    """A sha256 hex digest as the SRI hash Nix fetchers take (``sha256-<base64>``)."""
    return "sha256-" + base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


def nix_comment(text: str) -> str:
    """Text made safe for a ``#`` line comment (no line breaks)."""
    return " ".join(text.split())


def nix_attr_path(path: str) -> str:
    """A dotted attribute path (``libpq.pg_config``), each component quoted only when needed."""
    return ".".join(nix_attr(part) for part in path.split("."))


def nix_interpolated(value: str, scope: str = "final") -> str:
    """A string literal where ``@attr@`` becomes ``${<scope>.attr}`` (a package's store path) and the rest
    is taken literally; ``@@`` stands for a literal ``@``."""
    parts = value.split("@")
    if len(parts) % 2 == 0:
        return nix_string(value)
    out = ""
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out += nix_string(part)[1:-1]
        elif part:
            out += "${" + scope + "." + nix_attr_path(part) + "}"
        else:
            out += "@"
    return f'"{out}"'
