"""pip's requirements file format, read as pip reads it.

Logical lines (``\\`` continuations joined, comments stripped), ``${VAR}`` expansion, ``-r``/``-c``
includes relative to the including file, PEP 508 requirement lines with per-line ``--hash`` options, and
the global options nixgen honours (``--index-url``, ``--extra-index-url``, ``--pre``). Every other pip
option is an error at its file and line: nixgen never silently ignores what a file asks for.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from nixgen.errors import InputError
from nixgen.inputs.model import Origin, RequirementSet, UserRequirement

_COMMENT = re.compile(r"(^|\s+)#.*$")
_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")
_HASH = re.compile(r"^(sha256|sha384|sha512):([0-9a-fA-F]+)$")

_INCLUDE = {"-r": "requirement", "--requirement": "requirement", "-c": "constraint", "--constraint": "constraint"}
_GLOBAL_VALUE = {"-i": "index_url", "--index-url": "index_url", "--extra-index-url": "extra_index_url"}
_UNSUPPORTED = {
    "-e": "editable installs are not supported; write `name @ file:///path` or package the project",
    "--editable": "editable installs are not supported; write `name @ file:///path` or package the project",
    "-f": "find-links pages are not supported; serve the files from a PEP 691 index and use --extra-index-url",
    "--find-links": "find-links pages are not supported; serve the files from a PEP 691 index and use "
                    "--extra-index-url",
    "--no-index": "nixgen always needs an index; point --index-url at the one you want",
    "--no-binary": "use `nixgen --provider NAME=sdist` to build a package from source",
    "--only-binary": "use `nixgen --provider NAME=wheel` to require a wheel",
    "--prefer-binary": "nixgen already prefers binaries (nixpkgs, then wheels); remove the option",
    "--trusted-host": "nixgen only talks to indexes over HTTPS or a URL you give; remove the option",
    "--use-feature": "pip feature flags mean nothing to nixgen; remove the option",
    "--require-hashes": "give --hash on the lines you want pinned by hash; remove the option",
    "--global-option": "build options are not supported; use nixgen's overrides",
    "--config-settings": "build options are not supported; use nixgen's overrides",
    "-Z": "remove the option",
    "--always-unzip": "remove the option",
}


@dataclass
class _Reader:
    requirements: list[UserRequirement] = field(default_factory=list)
    constraints: list[UserRequirement] = field(default_factory=list)
    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    pre: bool = False
    sources: list[str] = field(default_factory=list)

    def read_file(self, path: Path, *, constraint: bool, chain: tuple[Path, ...], display: str,
                  at: Origin | None) -> None:
        resolved = path.resolve()
        if resolved in chain:
            names = " -> ".join(str(p) for p in (*chain, resolved))
            raise InputError(f"include cycle: {names}", path=at.path if at else display,
                             line=at.line if at else None, hint="remove one of the -r/-c lines")
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if at is None:
                raise InputError("no such file", path=display, hint="check the path") from None
            raise InputError(f"no such file: {display}", path=at.path, line=at.line,
                             hint="check the path (includes are relative to the including file)") from None
        except IsADirectoryError:
            raise InputError("is a directory, not a requirements file", path=display) from None
        except UnicodeDecodeError:
            raise InputError("is not UTF-8 text", path=display,
                             hint="save the file as UTF-8") from None
        except OSError as err:
            raise InputError(f"cannot read: {err.strerror}", path=display) from None
        self.sources.append(display)
        self.parse(text, display=display, base=path.parent, constraint=constraint, chain=(*chain, resolved))

    def parse(self, text: str, *, display: str, base: Path | None, constraint: bool,
              chain: tuple[Path, ...]) -> None:
        for line_no, logical in _logical_lines(text):
            origin = Origin(display, line_no, logical)
            line = _COMMENT.sub("", logical).strip()
            if not line:
                continue
            line = _ENV_VAR.sub(lambda m: os.environ.get(m.group(1), m.group(0)), line)
            if line.startswith("-"):
                self._option(line, origin, base=base, constraint=constraint, chain=chain)
            else:
                self._requirement(line, origin, constraint=constraint)

    def _option(self, line: str, origin: Origin, *, base: Path | None, constraint: bool,
                chain: tuple[Path, ...]) -> None:
        name, value = _split_option(line, origin)
        if name in _INCLUDE:
            if not value:
                raise _error(f"{name} needs a file name", origin)
            if "://" in value:
                raise _error(f"{name} {value}: including files by URL is not supported", origin,
                             hint="download the file and include it by path")
            target = (base / value) if base is not None else Path(value)
            shown = str(Path(origin.path).parent / value) if base is not None else value
            self.read_file(target, constraint=constraint or _INCLUDE[name] == "constraint", chain=chain,
                           display=shown, at=origin)
        elif name in _GLOBAL_VALUE:
            if not value:
                raise _error(f"{name} needs a URL", origin)
            if _GLOBAL_VALUE[name] == "index_url":
                self.index_url = value
            else:
                self.extra_index_urls.append(value)
        elif name == "--pre":
            if value:
                raise _error("--pre takes no value", origin)
            self.pre = True
        elif name in _UNSUPPORTED:
            raise _error(f"the option {name} is not supported", origin, hint=_UNSUPPORTED[name])
        else:
            raise _error(f"unknown option {name}", origin,
                         hint="nixgen reads -r, -c, --index-url, --extra-index-url, --pre and --hash")

    def _requirement(self, line: str, origin: Origin, *, constraint: bool) -> None:
        spec, hashes = _split_hashes(line, origin)
        try:
            req = Requirement(spec)
        except InvalidRequirement as err:
            if re.match(r"^(\.|/|~|[a-zA-Z]+://)", spec):
                raise _error("a bare path or URL is not a requirement", origin,
                             hint="write `name @ url` (local projects are not supported yet)") from None
            raise _error(f"not a valid PEP 508 requirement: {err}", origin) from None
        if req.url and req.url.startswith("file:") is False and "://" not in req.url:
            raise _error(f"{req.url!r} is not a URL", origin, hint="write `name @ https://…/file`")
        if constraint and req.extras:
            raise _error("constraints cannot have extras (as in pip)", origin,
                         hint="write the constraint without [extras]")
        entry = UserRequirement(req, origin, hashes)
        (self.constraints if constraint else self.requirements).append(entry)

    def result(self) -> RequirementSet:
        return RequirementSet(tuple(self.requirements), tuple(self.constraints), self.index_url,
                              tuple(self.extra_index_urls), self.pre, tuple(self.sources))


def _error(message: str, origin: Origin, hint: str | None = None) -> InputError:
    return InputError(message, path=origin.path, line=origin.line, text=origin.text, hint=hint)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Join ``\\`` continuations; each logical line keeps the number of its first physical line."""
    out: list[tuple[int, str]] = []
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not buffer:
            start = number
        stripped = raw.rstrip()
        if stripped.endswith("\\") and not _COMMENT.search(stripped[:-1]):
            buffer.append(stripped[:-1])
            continue
        buffer.append(raw)
        out.append((start, "".join(buffer)))
        buffer = []
    if buffer:
        out.append((start, "".join(buffer)))
    return out


def _split_option(line: str, origin: Origin) -> tuple[str, str]:
    """``--name=value``, ``--name value`` or ``-rfile`` into (name, value)."""
    if line.startswith("--"):
        name, sep, value = line.partition("=")
        if not sep:
            name, _, value = line.partition(" ")
        return name.strip(), value.strip()
    name = line[:2]
    return name, line[2:].strip().lstrip("=").strip()


def _split_hashes(line: str, origin: Origin) -> tuple[str, tuple[str, ...]]:
    """The requirement text and its ``--hash`` values; any other per-line option is an error."""
    idx = line.find(" --")
    if idx < 0:
        idx = line.find("\t--")
    if idx < 0:
        return line, ()
    spec, rest = line[:idx].strip(), line[idx:]
    try:
        words = shlex.split(rest)
    except ValueError as err:
        raise _error(f"cannot read the options: {err}", origin) from None
    hashes: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--hash" and i + 1 < len(words):
            value, i = words[i + 1], i + 2
        elif word.startswith("--hash="):
            value, i = word.split("=", 1)[1], i + 1
        else:
            option = word.split("=", 1)[0]
            hint = _UNSUPPORTED.get(option, "nixgen reads only --hash after a requirement")
            raise _error(f"the option {option} is not supported on a requirement line", origin, hint=hint)
        match = _HASH.match(value)
        if not match:
            raise _error(f"--hash {value!r} is not algorithm:hex (e.g. sha256:…)", origin)
        hashes.append(f"{match.group(1)}:{match.group(2).lower()}")
    return spec, tuple(hashes)


def read_requirements(path: Path) -> RequirementSet:
    """Read a requirements file and everything it includes."""
    reader = _Reader()
    reader.read_file(path, constraint=False, chain=(), display=str(path), at=None)
    return reader.result()


def parse_requirements(text: str, path: str = "<string>", base: Path | None = None) -> RequirementSet:
    """Parse requirements text; ``-r``/``-c`` are resolved against ``base`` (the cwd when None)."""
    reader = _Reader()
    reader.parse(text, display=path, base=base, constraint=False, chain=())
    return reader.result()
