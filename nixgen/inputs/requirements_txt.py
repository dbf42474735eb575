"""pip's requirements file format, read the way pip reads it.

The format is pip's (its "Requirements File Format" reference). What nixgen does with each part:

* Text: a UTF-8, UTF-16 or UTF-32 byte-order mark or a PEP 263 ``coding:`` comment in the first two lines
  picks the encoding; otherwise the file must be UTF-8 (pip falls back to the locale's encoding, which would
  make the output depend on the machine, so nixgen refuses instead).
* Lines are split as ``str.splitlines`` splits them; a line ending in ``\\`` continues on the next (not a
  comment line, and not when blanks follow the ``\\``); a logical line keeps the number of its first
  physical line. ``#`` at the start of a line or after whitespace starts a comment. ``${NAME}`` (upper-case
  letters, digits, ``_``) is replaced by a non-empty environment variable of that name; anything else is
  left as written.
* A line whose first space-separated word starts with ``-`` holds options only; otherwise the words before
  the first one starting with ``-`` are a PEP 508 requirement and the rest its options. Options follow
  optparse's rules as pip's line parser does: ``--name=value`` or ``--name value``, ``-Xvalue`` or
  ``-X value``, unambiguous abbreviations of long options, shell-style quoting.
* ``-r``/``--requirement`` and ``-c``/``--constraint`` include a file relative to the including file's
  directory (``file:`` URLs too). As in pip, ``-r`` inside a constraints file reads requirements, not
  constraints, and an include line that closes a cycle is an error.
* Global options nixgen honours: ``-i``/``--index-url`` (last one wins), ``--extra-index-url``, ``--pre``.
  Per-requirement option: ``--hash=algo:hex`` (repeatable). A git URL naming its project with ``#egg=NAME``
  (alone or after ``-e``) is the direct reference ``NAME @ git+URL``; ``-e`` of one is built, not editable
  (with a note). Every other option pip accepts, and every option
  it does not, is an :class:`~nixgen.errors.InputError` at file:line saying what to do instead. So is
  anything pip would silently drop (a second include on one line, words after the options, ``--hash`` on a
  line without a requirement, global options after a requirement, an ``--index-url`` that would discard
  earlier ``--extra-index-url`` lines).
"""

from __future__ import annotations

import codecs
import os
import re
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from packaging.requirements import InvalidRequirement, Requirement

from nixgen.errors import InputError
from nixgen.inputs.model import Origin, RequirementSet, UserRequirement
from nixgen.inputs.tomlshape import MAX_INPUT_BYTES, FileTooLarge, read_limited

__all__ = ["parse_requirements", "read_requirements"]

# A comment: `#` at the start or after whitespace (the blanks before it go with the line's strip). Written
# with a look-behind, as `(^|\s+)#` backtracks quadratically over a long run of blanks without a `#`.
_COMMENT = re.compile(r"(?:^|(?<=\s))#.*$")
_COMMENT_LINE = re.compile(r"\s*#")
_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")
_CODING = re.compile(rb"coding[:=]\s*([-\w.]+)")
_BOMS = (  # UTF-32 before UTF-16: the UTF-16-LE mark is a prefix of the UTF-32-LE one
    (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"), (codecs.BOM_UTF16_LE, "utf-16-le"),
)
_HEX_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}  # the algorithms pip accepts for --hash
# Schemes pip takes as a URL when a requirement line starts with one (plain and version-control).
_URL_SCHEMES = frozenset({
    "http", "https", "file", "ftp",
    "git", "git+http", "git+https", "git+ssh", "git+git", "git+file",
    "hg+file", "hg+http", "hg+https", "hg+ssh", "hg+static-http",
    "svn", "svn+ssh", "svn+http", "svn+https", "svn+svn", "svn+file",
    "bzr+http", "bzr+https", "bzr+ssh", "bzr+sftp", "bzr+ftp", "bzr+lp", "bzr+file",
})
_ARCHIVE_SUFFIXES = (".whl", ".zip", ".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz",
                     ".tar.xz", ".txz", ".tlz", ".tar.lz", ".tar.lzma")
_VERSION_OPERATORS = ("~=", "==", "!=", "<=", ">=", "<", ">", "===")
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")

_BUILD_HINT = "nixgen passes no build options; describe a package's build in an overrides file (--overrides)"
_REMOVED_HINT = "pip no longer accepts it either; delete it"


@dataclass(frozen=True)
class _PipOption:
    """One option of pip's requirements-file parser: its spellings and, unless nixgen reads it, a hint."""

    spellings: tuple[str, ...]
    takes_value: bool
    hint: str | None = None

    @property
    def long(self) -> str:
        return next((s for s in self.spellings if s.startswith("--")), self.spellings[0])


_INDEX_URL = _PipOption(("-i", "--index-url", "--pypi-url"), True)
_EXTRA_INDEX_URL = _PipOption(("--extra-index-url",), True)
_PRE = _PipOption(("--pre",), False)
_REQUIREMENT = _PipOption(("-r", "--requirement"), True)
_CONSTRAINT = _PipOption(("-c", "--constraint"), True)
_HASH = _PipOption(("--hash",), True)

# Every option pip's requirements-file parser knows (global ones and the per-requirement ones).
_EDITABLE = _PipOption(("-e", "--editable"), True,
                       "editable installs are not supported: nixgen builds packages into the Nix store; for a "
                       "built wheel or sdist write `name @ file:///path/to/file`, for a git source "
                       "`-e git+URL#egg=name` or `name @ git+URL` (local projects: give their pyproject.toml)")
_PIP_OPTIONS = (
    _INDEX_URL, _EXTRA_INDEX_URL, _PRE, _REQUIREMENT, _CONSTRAINT, _HASH, _EDITABLE,
    _PipOption(("-f", "--find-links"), True,
               "serve the files from an index and add it with --extra-index-url, or write `name @ URL` "
               "for a single file"),
    _PipOption(("--no-index",), False,
               "nixgen resolves against an index; choose it with --index-url"),
    _PipOption(("--no-binary",), True,
               "nixgen picks a provider per package; `nixgen --provider NAME=sdist` builds NAME from source"),
    _PipOption(("--only-binary",), True,
               "nixgen picks a provider per package; `nixgen --provider NAME=wheel` insists on a wheel"),
    _PipOption(("--prefer-binary",), False,
               "nixgen already prefers nixpkgs' cached builds, then wheels; delete the line"),
    _PipOption(("--require-hashes",), False,
               "nixgen pins every file it uses by hash anyway, and checks the --hash values you give; "
               "delete the line"),
    _PipOption(("--no-require-hashes",), False, "delete the line; --hash values are always checked"),
    _PipOption(("--all-releases",), True,
               "use --pre to take the newest release, pre-release or not, everywhere; without it nixgen "
               "takes a pre-release only where no final release fits (as uv does)"),
    _PipOption(("--only-final",), True,
               "nixgen prefers final releases and takes a pre-release only where no final release fits; "
               "delete the line"),
    _PipOption(("--trusted-host",), True,
               "nixgen does not switch off TLS checks; give the index an https URL you can verify"),
    _PipOption(("--use-feature",), True, "pip feature flags mean nothing to nixgen; delete the line"),
    _PipOption(("-C", "--config-settings"), True, _BUILD_HINT),
)
_BY_SPELLING = {s: option for option in _PIP_OPTIONS for s in option.spellings}
_LONG_SPELLINGS = sorted(s for s in _BY_SPELLING if s.startswith("--"))
# Options older pips had: unknown to pip now, but worth a precise hint.
_RETIRED = {
    "--global-option": f"pip removed it in 25.3; {_BUILD_HINT}",
    "--install-option": f"pip removed it in 23.1; {_BUILD_HINT}",
    "-Z": _REMOVED_HINT, "--always-unzip": _REMOVED_HINT, "--allow-external": _REMOVED_HINT,
    "--allow-all-external": _REMOVED_HINT, "--allow-unverified": _REMOVED_HINT,
    "--process-dependency-links": _REMOVED_HINT,
}


@dataclass(frozen=True)
class _Given:
    """An option as a line gives it: which one, how it was spelt, and its value."""

    option: _PipOption
    spelt: str
    value: str | None

    def __str__(self) -> str:
        long = self.option.long
        return self.spelt if self.spelt == long else f"{self.spelt} ({long})"


@dataclass(frozen=True)
class _Line:
    """One logical line: where it is, its text as written, and its text after ``${VAR}`` expansion."""

    origin: Origin
    text: str
    unset: tuple[str, ...]  # ${NAME}s left as written because the variable is unset or empty


@dataclass(frozen=True)
class _File:
    """A file being read: how to show it, where its includes are resolved, and how it was included."""

    display: str
    directory: Path
    display_dir: str
    constraint: bool
    chain: tuple[tuple[Path, str], ...]  # (resolved path, display) of the files being read, outermost first


_Open = tuple[Iterator[_Line], _File]  # a file being read: its remaining logical lines, and the file


@dataclass
class _Reader:
    requirements: list[UserRequirement] = field(default_factory=list)
    constraints: list[UserRequirement] = field(default_factory=list)
    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    pre: bool = False
    sources: list[str] = field(default_factory=list)
    _seen_sources: set[str] = field(default_factory=set)
    _active: set[Path] = field(default_factory=set)  # the resolved paths of the files being read (the chain)
    # Each distinct requirement text is parsed once (packaging's parser is most of the time a file takes);
    # the Requirement is shared by the lines that repeat it, which is safe as nothing changes one.
    _parsed: dict[str, Requirement] = field(default_factory=dict)

    def result(self) -> RequirementSet:
        return RequirementSet(tuple(self.requirements), tuple(self.constraints), self.index_url,
                              tuple(self.extra_index_urls), self.pre, tuple(self.sources))

    # -- files ----------------------------------------------------------------------------------------
    def read_file(self, path: Path, display: str) -> None:
        """Read the top file and its includes."""
        self._run(self._open(path, display, constraint=False, chain=(), at=None))

    def parse(self, text: str, here: _File) -> None:
        """Read ``text`` as the file ``here`` and its includes."""
        self._run((_logical_lines(text, here.display), here))

    def _run(self, top: _Open) -> None:
        """Read lines depth-first, each include in place, with a stack instead of recursion.

        An include chain of any depth (bounded only by the cycle check) reads without RecursionError.
        """
        stack = [top]
        while stack:
            lines, here = stack[-1]
            line = next(lines, None)
            if line is None:
                stack.pop()
                if here.chain:
                    self._active.discard(here.chain[-1][0])
                continue
            included = self._line(line, here)
            if included is not None:
                stack.append(included)

    def _open(self, path: Path, display: str, *, constraint: bool, chain: tuple[tuple[Path, str], ...],
              at: _Line | None, spelt: str = "") -> _Open:
        resolved = _resolve(path, display, at)
        if resolved in self._active:
            assert at is not None
            cycle = " -> ".join([shown for _, shown in chain] + [display])
            raise _error(f"include cycle: {cycle}", at, hint="remove one of the -r/-c lines that form the cycle")
        text = _read_text(path, display, at, spelt)
        if display not in self._seen_sources:
            self._seen_sources.add(display)
            self.sources.append(display)
        here = _File(display, path.parent, os.path.dirname(display), constraint, (*chain, (resolved, display)))
        self._active.add(resolved)
        return _logical_lines(text, display), here

    # -- lines ----------------------------------------------------------------------------------------
    def _line(self, line: _Line, here: _File) -> _Open | None:
        """Take one logical line; an include line gives the included file to read next."""
        spec, option_text = _split_requirement(line.text)
        try:
            words = shlex.split(option_text)
        except ValueError as err:
            raise _error(f"cannot split the options ({err})", line,
                         hint="check the quotes on this line") from None
        given, stray = _parse_options(words, line)
        if not spec and len(given) == 1 and given[0].option is _EDITABLE and not stray and given[0].value \
                and _vcs_named(given[0].value) is not None:
            named = _vcs_named(given[0].value)
            assert named is not None
            sys.stderr.write(f"nixgen: note: {line.origin}: -e {named.split(' @ ')[0]} (a git source) is built "
                             "from its commit into the Nix store, not installed editable\n")
            self._requirement(named, (), line, constraint=here.constraint)
            return None
        if spec:
            hashes = self._requirement_options(given, stray, line)
            self._requirement(spec, hashes, line, constraint=here.constraint)
            return None
        return self._option_line(given, stray, line, here)

    def _requirement_options(self, given: list[_Given], stray: list[str], line: _Line) -> tuple[str, ...]:
        hashes: list[str] = []
        for item in given:
            if item.option is _HASH:
                assert item.value is not None
                hashes.append(_hash(item.value, line))
            elif item.option.hint is not None:
                raise _error(f"the option {item} is not supported", line, hint=item.option.hint)
            else:
                raise _error(f"the option {item} cannot follow a requirement", line,
                             hint=f"only --hash may follow a requirement (pip ignores {item.option.long} there); "
                                  "put it on a line of its own")
        if stray:
            raise _error(f"unexpected {stray[0]!r} after the options of a requirement", line,
                         hint="pip ignores it; delete it, or put each requirement on its own line")
        return tuple(dict.fromkeys(hashes))

    def _option_line(self, given: list[_Given], stray: list[str], line: _Line, here: _File) -> _Open | None:
        for item in given:
            if item.option.hint is not None:
                raise _error(f"the option {item} is not supported", line, hint=item.option.hint)
            if item.option is _HASH:
                raise _error("--hash without a requirement", line,
                             hint="pip ignores it there; put --hash after the requirement it pins "
                                  "(continue the line with \\ if it gets long)")
        if stray:
            raise _error(f"unexpected {stray[0]!r} after the options", line,
                         hint="pip ignores it; a line that starts with an option holds options only")
        includes = [item for item in given if item.option in (_REQUIREMENT, _CONSTRAINT)]
        if includes:
            if len(given) > 1:
                raise _error(f"{includes[0]} shares its line with other options", line,
                             hint="pip reads only the first -r/-c of a line and ignores the rest; "
                                  "put each on a line of its own")
            return self._include(includes[0], line, here)
        extras_before = bool(self.extra_index_urls)
        for item in given:
            assert item.value is not None or item.option is _PRE
            if item.option is _INDEX_URL:
                if extras_before:
                    raise _error(f"{item} after --extra-index-url", line,
                                 hint="pip drops the extra index URLs given before an --index-url line; "
                                      "put --index-url before every --extra-index-url")
                self.index_url = item.value
            elif item.option is _EXTRA_INDEX_URL and item.value not in self.extra_index_urls:
                assert item.value is not None
                self.extra_index_urls.append(item.value)
            elif item.option is _PRE:
                self.pre = True
        return None

    def _include(self, item: _Given, line: _Line, here: _File) -> _Open:
        value = item.value
        assert value is not None
        scheme = urlsplit(value).scheme.lower()
        if scheme in ("http", "https"):
            raise _error(f"{item} {value}: including a file by URL is not supported", line,
                         hint="download the file and include it by its path")
        if scheme == "file":
            from urllib.request import url2pathname  # only for file: includes (urllib.request is slow to import)

            target = Path(url2pathname(urlsplit(value).path))
            shown = str(target)
        else:  # joined and normalized as text, as pip does (so `missing/../x.txt` finds x.txt)
            target = Path(os.path.normpath(here.directory / value))
            shown = os.path.normpath(os.path.join(here.display_dir, value))
        constraint = item.option is _CONSTRAINT  # as in pip: -r inside a constraints file reads requirements
        return self._open(target, shown, constraint=constraint, chain=here.chain, at=line, spelt=value)

    # -- requirements ---------------------------------------------------------------------------------
    def _requirement(self, spec: str, hashes: tuple[str, ...], line: _Line, *, constraint: bool) -> None:
        req = self._parsed.get(spec)
        if req is None:
            req = self._parsed[spec] = _parse_requirement(spec, line)
        if constraint and req.extras:
            raise _error("Constraints cannot have extras (pip refuses them too)", line,
                         hint=f"write the constraint without [{','.join(sorted(req.extras))}]")
        entry = UserRequirement(req, line.origin, hashes)
        (self.constraints if constraint else self.requirements).append(entry)


def _parse_requirement(spec: str, line: _Line) -> Requirement:
    """A requirement line's PEP 508 part, checked for what pip would read differently (errors at ``line``)."""
    spec = _vcs_named(spec) or spec
    _refuse_unnamed(spec, line)
    url_word = re.match(r"[^@;]*@\s*(\S+)", spec)
    if url_word and ";" in url_word.group(1):
        raise _error(f"no space between the URL {url_word.group(1).split(';')[0]} and the ';' of its marker",
                     line, hint="PEP 508 needs a space between a URL and the ';' of its marker: "
                                "`name @ URL ; marker`")
    head, semicolon, marker = spec.partition(";")
    text = head if semicolon and not marker.strip() else spec  # pip reads `name ;` as no marker
    try:
        req = Requirement(text)
    except InvalidRequirement as err:
        reason = str(err).splitlines()[0]  # packaging's reason; the line itself is shown below it
        raise _error(f"not a valid PEP 508 requirement: {reason}", line,
                     hint=_malformed_hint(spec, line)) from None
    if req.url is not None and not _URL_SCHEME.match(req.url):
        raise _error(f"{req.url!r} is not a URL", line,
                     hint="write `name @ https://…/file` or `name @ file:///absolute/path/file` "
                          "(local projects are not supported yet)")
    return req


# -- text ---------------------------------------------------------------------------------------------
def _resolve(path: Path, display: str, at: _Line | None) -> Path:
    """The file's real path (for the cycle check); a symlink loop or an unusable path is an error."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError) as err:
        raise _at(at, display, f"cannot be resolved to a file: {err}") from None


def _read_text(path: Path, display: str, at: _Line | None, spelt: str) -> str:
    """The file's bytes, decoded as pip decodes a requirements file (but without the locale fallback)."""
    try:
        data = read_limited(path)
    except FileTooLarge:
        raise _at(at, display, f"is larger than {MAX_INPUT_BYTES >> 20} MiB; it is not a requirements file",
                  hint="name the requirements file itself (not a device or a stream that does not end)") from None
    except FileNotFoundError:
        if at is None:
            raise InputError("no such file", path=display, hint="check the path") from None
        hints = ["-r and -c paths are relative to the directory of the file that names them"]
        if spelt.startswith("="):
            hints.append(f"pip reads `-r={spelt[1:]}` as the file {spelt!r}; write `-r {spelt[1:]}`")
        hints.extend(_unset_hints(at))
        raise _error(f"no such file: {display}", at, hint="; ".join(hints)) from None
    except IsADirectoryError:
        raise _at(at, display, "is a directory, not a requirements file",
                  hint="name the requirements file inside it") from None
    except OSError as err:
        raise _at(at, display, f"cannot read it: {err.strerror}") from None
    encoding, body = _encoding(data)
    try:
        return body.decode(encoding)
    except LookupError:
        raise _at(at, display, f"declares an unknown encoding {encoding!r}",
                  hint="fix the `coding:` comment, or remove it and save the file as UTF-8") from None
    except UnicodeDecodeError as err:
        what = "UTF-8" if encoding == "utf-8" else encoding
        raise _at(at, display, f"is not {what} text ({err.reason} at byte {err.start})",
                  hint="save the file as UTF-8, or declare its encoding with a "
                       "`# -*- coding: NAME -*-` first line (as pip allows)") from None


def _encoding(data: bytes) -> tuple[str, bytes]:
    """pip's rule: a byte-order mark, else a PEP 263 coding comment in the first two lines, else UTF-8."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding, data[len(bom):]
    for first in data.split(b"\n")[:2]:
        if first.startswith(b"#") and (match := _CODING.search(first)):
            return match.group(1).decode("ascii"), data
    return "utf-8", data


def _logical_lines(text: str, display: str) -> Iterator[_Line]:
    """pip's preprocessing: join ``\\`` continuations, drop comments and blank lines, expand ``${VAR}``."""
    for number, joined in _joined_lines(text):
        stripped = _COMMENT.sub("", joined).strip()
        if not stripped:
            continue
        expanded, unset = _expand(stripped)
        yield _Line(Origin(display, number, joined.strip()), expanded, unset)


def _joined_lines(text: str) -> Iterator[tuple[int, str]]:
    """Physical lines to logical ones, each numbered by its first physical line.

    A line ending in ``\\`` continues on the next unless it is a comment line (``#`` first, blanks before
    it allowed); the continued line loses its ``\\`` and the physical line break. Blanks after the ``\\``
    end the continuation, as in pip.
    """
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        is_comment = _COMMENT_LINE.match(raw) is not None
        if raw.endswith("\\") and not is_comment:
            if not pending:
                start = number
            pending.append(raw.strip("\\"))
            continue
        if is_comment:
            raw = " " + raw  # so that a comment joined onto a continued line is still a comment
        if pending:
            yield start, "".join([*pending, raw])
            pending = []
        else:
            yield number, raw
    if pending:
        yield start, "".join(pending)


def _expand(line: str) -> tuple[str, tuple[str, ...]]:
    """pip's ``${NAME}`` expansion: each variable that is set and non-empty; the rest stay as written."""
    unset: list[str] = []
    for name in dict.fromkeys(_ENV_VAR.findall(line)):
        value = os.environ.get(name)
        if value:
            line = line.replace(f"${{{name}}}", value)
        else:
            unset.append(name)
    return line, tuple(unset)


# -- options ------------------------------------------------------------------------------------------
def _split_requirement(line: str) -> tuple[str, str]:
    """pip's split of a line at the first space-separated word that starts with ``-``: (requirement, options).

    Markers stay with the requirement, so shell quoting never touches them.
    """
    words = line.split(" ")
    for i, word in enumerate(words):
        if word.startswith("-"):
            return " ".join(words[:i]).strip(), " ".join(words[i:])
    return line.strip(), ""


def _parse_options(words: list[str], line: _Line) -> tuple[list[_Given], list[str]]:
    """optparse's reading of the option words, with pip's options: (the options in order, stray words)."""
    given: list[_Given] = []
    stray: list[str] = []
    rest = list(words)
    while rest:
        word = rest.pop(0)
        if word.startswith("--") and word != "--":
            spelt, eq, attached = word.partition("=")
            option = _long_option(spelt, line)
            if not option.takes_value:
                if eq:
                    raise _error(f"the option {spelt} takes no value", line)
                given.append(_Given(option, spelt, None))
                continue
            value = attached if eq else _next_value(rest, spelt, line)
        elif word.startswith("-") and len(word) > 1 and word != "--":
            spelt, attached = word[:2], word[2:]
            short = _BY_SPELLING.get(spelt)
            if short is None:
                if spelt in _RETIRED:
                    raise _error(f"the option {spelt} is not supported", line, hint=_RETIRED[spelt])
                raise _error(f"unknown option {spelt}", line,
                             hint="pip does not accept it in a requirements file either")
            option = short
            value = attached if attached else _next_value(rest, spelt, line)
        else:
            stray.append(word)
            continue
        if option.takes_value and not value:
            raise _error(f"the option {spelt} needs a value", line)
        given.append(_Given(option, spelt, value))
    return given, stray


def _long_option(spelt: str, line: _Line) -> _PipOption:
    """A long option by its full name or an unambiguous abbreviation (optparse's rule)."""
    if spelt in _BY_SPELLING:
        return _BY_SPELLING[spelt]
    if spelt in _RETIRED:
        raise _error(f"the option {spelt} is not supported", line, hint=_RETIRED[spelt])
    matches = [s for s in _LONG_SPELLINGS if s.startswith(spelt)]
    if len({id(_BY_SPELLING[s]) for s in matches}) == 1:
        return _BY_SPELLING[matches[0]]
    if matches:
        raise _error(f"ambiguous option {spelt} ({', '.join(matches)})", line, hint="write the option in full")
    raise _error(f"unknown option {spelt}", line,
                 hint="pip does not accept it in a requirements file either; nixgen reads -r, -c, "
                      "--index-url, --extra-index-url, --pre and --hash")


def _next_value(rest: list[str], spelt: str, line: _Line) -> str:
    if not rest:
        raise _error(f"the option {spelt} needs a value", line)
    return rest.pop(0)


def _hash(value: str, line: _Line) -> str:
    """A ``--hash`` value as pip accepts it (``algo:hexdigest``, algo one of pip's strong hashes), normalized."""
    algo, colon, digest = value.partition(":")
    if not colon:
        raise _error(f"--hash {value!r} is not algorithm:hex", line, hint="write e.g. --hash=sha256:<64 hex digits>")
    if algo not in _HEX_LENGTH:
        hint = "write the algorithm in lower case" if algo.lower() in _HEX_LENGTH else "use a sha256 digest"
        raise _error(f"--hash {value!r}: pip allows only {', '.join(_HEX_LENGTH)}", line, hint=hint)
    if len(digest) != _HEX_LENGTH[algo] or re.fullmatch(r"[0-9a-fA-F]+", digest) is None:
        raise _error(f"--hash {value!r}: a {algo} digest is {_HEX_LENGTH[algo]} hex digits", line,
                     hint="copy the digest again; no file can match this one")
    return f"{algo}:{digest.lower()}"


# -- requirement lines --------------------------------------------------------------------------------
_EGG = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?(?:\[[A-Za-z0-9._,\s-]*\])?$")


def _vcs_named(spec: str) -> str | None:
    """pip's ``git+URL#egg=NAME`` (a VCS URL naming its project in the fragment) as the PEP 508 direct reference
    ``NAME @ git+URL`` (other fragment parts, ``subdirectory=``, kept; a marker after ``;`` kept); None for
    anything else."""
    head, semicolon, marker = spec.partition(";")
    head = head.strip()
    if not head.lower().startswith("git+"):
        return None
    base, _, fragment = head.partition("#")
    parts = [p for p in fragment.split("&") if p]
    eggs = [p[4:] for p in parts if p.startswith("egg=")]
    if len(eggs) != 1 or not _EGG.match(eggs[0]):
        return None
    rest = "&".join(p for p in parts if not p.startswith("egg="))
    text = f"{eggs[0]} @ {base}" + (f"#{rest}" if rest else "")
    return text + (f" ; {marker.strip()}" if semicolon and marker.strip() else "")


def _refuse_unnamed(spec: str, line: _Line) -> None:
    """A URL, path or archive file name where pip would install without a project name: not supported."""
    head = spec.partition(";")[0].strip()
    if ":" in head and head.split(":", 1)[0].lower() in _URL_SCHEMES:
        egg = re.search(r"#egg=([A-Za-z0-9][A-Za-z0-9._-]*)", head)
        name = egg.group(1) if egg else "name"
        raise _error("a URL without a project name is not a requirement nixgen reads", line,
                     hint=f"write `{name} @ {head.split('#egg=')[0]}` (a PEP 508 direct reference); "
                          "local projects are not supported yet")
    before_at, at, _ = head.partition("@")
    named = bool(at) and not _looks_like_path(before_at)
    bare = _strip_extras(head).rstrip()
    if not named and (_looks_like_path(head) or bare.lower().endswith(_ARCHIVE_SUFFIXES)):
        raise _error("a local path is not a requirement nixgen reads", line,
                     hint="local projects are not supported yet; for a built wheel or sdist write "
                          "`name @ file:///absolute/path/to/file`")


def _strip_extras(text: str) -> str:
    """``name[extras]`` without its ``[extras]`` (what ``re.sub(r"\\[[^\\]]+\\]$", "", text)`` gives, in linear
    time: that pattern backtracks quadratically over a long run of ``[``)."""
    if not text.endswith("]"):
        return text
    start = text.find("[", text.rfind("]", 0, len(text) - 1) + 1)
    return text[:start] if 0 <= start < len(text) - 2 else text


def _looks_like_path(text: str) -> bool:
    """pip's test (on POSIX): a ``/`` anywhere, or a leading dot."""
    text = text.strip()
    return "/" in text or text.startswith(".")


def _malformed_hint(spec: str, line: _Line) -> str | None:
    hints: list[str] = []
    if "=" in spec and not any(op in spec for op in _VERSION_OPERATORS):
        hints.append("= is not a version operator; did you mean ==?")
    if spec.endswith("\\"):
        hints.append("blanks after a \\ stop it from continuing the line (as in pip); delete them")
    if "\t-" in spec:
        hints.append("pip separates a requirement from its options by a space, not a tab")
    hints.extend(_unset_hints(line))
    return "; ".join(hints) or None


def _unset_hints(line: _Line) -> list[str]:
    return [f"${{{name}}} is left as written because the environment variable {name} is unset or empty"
            for name in line.unset]


def _error(message: str, line: _Line, hint: str | None = None) -> InputError:
    return InputError(message, path=line.origin.path, line=line.origin.line, text=line.origin.text, hint=hint)


def _at(line: _Line | None, display: str, message: str, hint: str | None = None) -> InputError:
    """An error about a file: at the line that includes it, or about the file itself when it is the top one."""
    if line is None:
        return InputError(message, path=display, hint=hint)
    return _error(f"{display} {message}", line, hint=hint)


# -- public API ---------------------------------------------------------------------------------------
def read_requirements(path: Path | str) -> RequirementSet:
    """Read a requirements file in pip's format and every file it includes with ``-r``/``-c``."""
    path = Path(path)
    reader = _Reader()
    reader.read_file(path, str(path))
    return reader.result()


def parse_requirements(text: str, path: str = "<string>", base: Path | None = None) -> RequirementSet:
    """Parse requirements text in pip's format; ``path`` is the name errors and origins show.

    ``-r``/``-c`` includes are resolved against ``base`` when given, else against the directory part of
    ``path`` (the current directory for ``"<string>"``). ``sources`` lists only the included files.
    """
    reader = _Reader()
    directory = base if base is not None else Path(os.path.dirname(path) or ".")
    display_dir = str(base) if base is not None else os.path.dirname(path)
    reader.parse(text, _File(path, directory, display_dir, False, ()))
    return reader.result()
