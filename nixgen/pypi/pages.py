"""Project pages of the simple repository API: PEP 691 JSON (parsed here), PEP 503 HTML (via pypi-simple).

The JSON is parsed by hand: pypi-simple's pydantic models take ~70 ms for numpy's page and ~0.2 s to import,
against ~10 ms for ``json.loads`` plus this loop. A parsed page is reduced to :data:`Row` tuples — what the
cache stores (with :mod:`marshal`), so a warm run never sees the JSON again — and rows become ``DistFile``
objects in :func:`rows_to_files`.

Files nixgen can never install are dropped when the page is parsed: eggs, installers, and wheels built only
for platforms or interpreters no nixgen target has (see :func:`tags_fit_nix`). That keeps a quarter of the
files of big projects (52k → 14k for the tensorflow/cartopy closure) and the warm path that much shorter.
A release with no wheel a target installs keeps one of its other wheels (:func:`metadata_wheels`): its
metadata is the release's, and its tags are evidence of which interpreters the release was built for.
"""

from __future__ import annotations

import gc
import json
import marshal
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin

from packaging.tags import Tag, parse_tag
from packaging.utils import canonicalize_name

from nixgen.pypi.model import DistFile, make_distfile, parse_version, release_key
from nixgen.pypi.urls import redact_url, strip_userinfo

# (filename, url, version, is_wheel, tag string, sha256, requires-python, yanked, upload time (POSIX seconds),
#  size, has .metadata, .metadata sha256)
Row = tuple[str, str, str, bool, str, "str | None", "str | None", bool, "float | None", "int | None", bool,
            "str | None"]

SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz")
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
ACCEPT = f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"

# Platforms of the Nix systems nixgen targets (x86_64/aarch64 Linux with manylinux, x86_64/arm64 macOS).
_PLATFORM_RE = re.compile(
    r"^(?:any|manylinux(?:1|2010|2014|_\d+_\d+)_(?:x86_64|aarch64)|macosx_\d+_\d+_(?:x86_64|arm64|universal2|intel))$")
_CPYTHON_RE = re.compile(r"^cp3(\d+)$")
MIN_CPYTHON_MINOR = 11  # the oldest interpreter of any nixpkgs snapshot nixgen targets is python311


def _tag_fits(tag: Tag) -> bool:
    if not _PLATFORM_RE.match(tag.platform):
        return False
    interpreter = tag.interpreter
    if interpreter.startswith("py"):
        return interpreter == "py3" or interpreter.startswith("py3")
    match = _CPYTHON_RE.match(interpreter)
    if match is None:
        return False  # PyPy, GraalPy, Python 2, ...
    return int(match.group(1)) >= MIN_CPYTHON_MINOR or tag.abi == "abi3"


@lru_cache(maxsize=4096)
def tags_fit_nix(tag_string: str) -> bool:
    """Whether a wheel with these PEP 425 tags (``cp311-cp311-manylinux_2_17_x86_64``) could install on a
    nixgen target: CPython >= 3.11 (or abi3 / pure Python 3) on manylinux or macOS, x86_64 or aarch64."""
    try:
        return any(_tag_fits(t) for t in parse_tag(tag_string))
    except ValueError:
        return False




@lru_cache(maxsize=4096)
def _tags(tag_string: str) -> frozenset[Tag]:
    return frozenset(parse_tag(tag_string))


_PLAIN_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+!-]*$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def plain_filename(filename: str) -> bool:
    """Whether ``filename`` is a plain file name nixgen may use: letters, digits and ``._+!-`` only (no path
    separator, no ``..``, no NUL or control character, no leading dot) — the characters of PEP 427 wheel
    names and PEP 625 sdist names, all inside Nix's store-path name alphabet except ``!`` (epochs)."""
    return _PLAIN_NAME_RE.fullmatch(filename) is not None and ".." not in filename


def valid_sha256(value: object) -> bool:
    """Whether ``value`` is a sha256 digest as hex (64 characters of ``0-9a-f``, lower-case)."""
    return isinstance(value, str) and SHA256_RE.fullmatch(value) is not None


def split_filename(filename: str, project: str) -> tuple[bool, str, str] | None:
    """``(is_wheel, version, tag string)`` of a wheel (PEP 427, parsed by packaging) or sdist file name, or
    None when it is neither, is not a plain file name (:func:`plain_filename`), names another project, or
    has no PEP 440 version."""
    if not plain_filename(filename):
        return None
    if filename.endswith(".whl"):
        return _split_wheel(filename, project)
    for suffix in SDIST_SUFFIXES:
        if filename.endswith(suffix):
            stem = filename[: -len(suffix)]
            break
    else:
        return None
    # The name part may itself contain dashes ("python-dateutil-2.9.0"): find where the project's name ends.
    # (packaging's parse_sdist_filename splits at the last dash and knows only .tar.gz and .zip.)
    start = 0
    while (cut := stem.find("-", start)) != -1:
        if canonicalize_name(stem[:cut]) == project and parse_version(stem[cut + 1:]) is not None:
            return (False, stem[cut + 1:], "")
        start = cut + 1
    return None


_WHEEL_NAME_RE = re.compile(r"^[\w\d._]*$", re.UNICODE)
_BUILD_TAG_RE = re.compile(r"^\d+")


@lru_cache(maxsize=1024)
def _wheel_name(part: str) -> str | None:
    """A wheel file name's name part, PEP 503-normalized; None when PEP 427 does not allow it."""
    if "__" in part or _WHEEL_NAME_RE.match(part) is None:
        return None
    return canonicalize_name(part)


def _split_wheel(filename: str, project: str) -> tuple[bool, str, str] | None:
    """PEP 427's wheel file name rules, as packaging's ``parse_wheel_filename`` checks them (name, PEP 440
    version, build tag), without building its tag objects for the tens of thousands of files of a page."""
    stem = filename[:-4]
    dashes = stem.count("-")
    if dashes not in (4, 5):
        return None
    parts = stem.split("-", dashes - 2)
    if _wheel_name(parts[0]) != project or parse_version(parts[1]) is None:
        return None
    if dashes == 5 and _BUILD_TAG_RE.match(parts[2]) is None:
        return None
    return True, parts[1], parts[-1]


def _metadata_rank(tag_string: str, filename: str) -> tuple[int, bool, str]:
    """How good a wheel no target installs is as its release's metadata file and feasibility evidence: the
    newest CPython it is for, then a Linux x86_64 one, then by name (so the choice is stable)."""
    minors = [int(m.group(1)) for t in _tags(tag_string) if (m := _CPYTHON_RE.match(t.interpreter))]
    return (max(minors, default=-1), "linux" in tag_string and "x86_64" in tag_string, filename)


def metadata_wheels(filenames: Iterable[str], project: str) -> set[str]:
    """Of the wheels no nixgen target can install, one per release that has no wheel a target can: its
    Requires-Dist is the release's (so an sdist's metadata need not be built) and its tags say which
    interpreters the release was last built for (fiona 1.8.18: cp39). The newest CPython's, Linux x86_64
    first (:func:`_metadata_rank`)."""
    fitting: set[str] = set()
    foreign: list[tuple[str, tuple[bool, str, str]]] = []
    for filename in filenames:
        split = split_filename(filename, project)
        if split is None or not split[0]:
            continue
        if tags_fit_nix(split[2]):
            fitting.add(split[1])
        else:
            foreign.append((filename, split))
    return {filename for filename, _ in _choose_metadata_wheels(foreign, fitting)}


def _choose_metadata_wheels(foreign: Iterable[tuple[str, tuple[bool, str, str]]],
                            fitting: AbstractSet[str]) -> list[tuple[str, tuple[bool, str, str]]]:
    """The best of the ``foreign`` wheels (filename, split) of each version not in ``fitting``."""
    best: dict[str, tuple[tuple[int, bool, str], str, tuple[bool, str, str]]] = {}
    for filename, split in foreign:
        if split[1] in fitting:
            continue
        try:
            rank = _metadata_rank(split[2], filename)
        except ValueError:
            continue
        if split[1] not in best or rank > best[split[1]][0]:
            best[split[1]] = (rank, filename, split)
    return [(filename, split) for _rank, filename, split in best.values()]


def keep_file(filename: str, project: str) -> tuple[bool, str, str] | None:
    """``split_filename`` for the files nixgen keeps: None also for wheels no nixgen target can install."""
    split = split_filename(filename, project)
    if split is None or (split[0] and not tags_fit_nix(split[2])):
        return None
    return split


def _timestamp(text: object) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _split_fragment(url: str) -> tuple[str, str | None]:
    """The URL without its fragment, and the sha256 a ``#sha256=...`` fragment names (PEP 503)."""
    base, _, fragment = url.partition("#")
    if fragment.startswith("sha256="):
        return base, fragment[7:].lower()
    return base, None


class BadEntry(ValueError):
    """A file entry of a project page that breaks the simple API's rules (why, for the note)."""


def _file_url(raw_url: str, page_url: str) -> tuple[str, str | None]:
    """The absolute URL of a file (without fragment and userinfo) and its fragment's sha256; only http(s)
    URLs are accepted (the page itself is always http(s): nixgen reads no other index)."""
    absolute = raw_url.startswith(("https://", "http://"))
    url, fragment_sha = _split_fragment(raw_url if absolute else urljoin(page_url, raw_url))
    if not url.startswith(("https://", "http://")):
        raise BadEntry(f"its URL is not http(s): {redact_url(url)!r}")
    if "@" in url.partition("://")[2].partition("/")[0]:
        url = strip_userinfo(url)  # credentials never travel with a file's URL (they live in the Http layer)
    return url, fragment_sha


def _checked_sha256(value: object, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadEntry(f"its {what} is not a string")
    value = value.lower()
    if not valid_sha256(value):
        raise BadEntry(f"its {what} {value[:80]!r} is not 64 hex digits")
    return value


def _json_row(entry: object, page_url: str, project: str,
              foreign: list[tuple[dict[str, Any], tuple[bool, str, str]]] | None = None,
              fitting: set[str] | None = None, split: tuple[bool, str, str] | None = None) -> Row | None:
    """The row of one PEP 691 file entry; None for a file nixgen never uses; BadEntry for a broken one.

    A wheel no target installs is put aside in ``foreign`` (with its split name) when that is given, and
    the versions of the wheels kept are added to ``fitting``; ``split`` skips the name check (done)."""
    if not isinstance(entry, dict):
        raise BadEntry("it is not a JSON object")
    filename, raw_url = entry.get("filename"), entry.get("url")
    if not isinstance(filename, str) or not isinstance(raw_url, str):
        raise BadEntry("its filename or url is not a string")
    if split is None:
        if not plain_filename(filename):
            raise BadEntry("its filename is not a plain file name")
        split = split_filename(filename, project)
        if split is None:
            return None
        if split[0]:
            if not tags_fit_nix(split[2]):
                if foreign is not None:
                    foreign.append((entry, split))
                return None
            if fitting is not None:
                fitting.add(split[1])
    url, fragment_sha = _file_url(raw_url, page_url)
    hashes = entry.get("hashes", {})
    if not isinstance(hashes, dict) or not all(isinstance(v, str) for v in hashes.values()):
        raise BadEntry("its hashes are not a table of strings")
    sha256 = _checked_sha256(hashes.get("sha256"), "sha256") or _checked_sha256(fragment_sha, "URL's sha256")
    requires_python = entry.get("requires-python")
    if requires_python is not None and not isinstance(requires_python, str):
        raise BadEntry("its requires-python is not a string")
    yanked = entry.get("yanked", False)
    if not isinstance(yanked, bool | str):
        raise BadEntry("its yanked is neither true/false nor a reason")
    size = entry.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise BadEntry("its size is not a whole number")
    core = entry.get("core-metadata", entry.get("dist-info-metadata", False))
    if isinstance(core, dict):
        if not all(isinstance(v, str) for v in core.values()):
            raise BadEntry("its core-metadata hashes are not strings")
        md_sha = _checked_sha256(core.get("sha256"), "core-metadata sha256")
    elif isinstance(core, bool):
        md_sha = None
    else:
        raise BadEntry("its core-metadata is neither true/false nor a table of hashes")
    upload = entry.get("upload-time")
    return (filename, url, split[1], split[0], split[2], sha256, requires_python or None, bool(yanked),
            _timestamp(upload), size, bool(core), md_sha)


def parse_json_page(body: bytes, page_url: str, project: str, notes: list[str] | None = None) -> list[Row]:
    """Rows of a PEP 691 JSON project page (file URLs resolved against ``page_url``).

    Every entry is checked before use: a plain file name of this project (parsed by packaging), http(s)
    URLs, sha256 digests of 64 hex digits, and the field types PEP 691/700 give (requires-python a string,
    hashes a table of strings, size an integer, yanked true/false or a reason, core-metadata true/false or a
    table of hashes). An entry that breaks a rule is dropped, with a note in ``notes`` — never guessed at: a
    file whose listed hash is malformed cannot be verified, so it is not offered at all.
    """
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("the page is not a JSON object")
    files = data.get("files", [])
    if not isinstance(files, list):
        raise ValueError("its files are not a list")
    rows: list[Row] = []
    foreign: list[tuple[dict[str, Any], tuple[bool, str, str]]] = []
    fitting: set[str] = set()
    for entry in files:
        _add_json_row(rows, entry, page_url, project, notes, foreign, fitting)
    # One wheel of each release that has none a target installs (metadata_wheels), checked as any other.
    by_name = {e["filename"]: e for e, _ in foreign}
    for filename, split in _choose_metadata_wheels(((e["filename"], sp) for e, sp in foreign), fitting):
        _add_json_row(rows, by_name[filename], page_url, project, notes, split=split)
    return rows


def _add_json_row(rows: list[Row], entry: object, page_url: str, project: str, notes: list[str] | None,
                  foreign: list[tuple[dict[str, Any], tuple[bool, str, str]]] | None = None,
                  fitting: set[str] | None = None, split: tuple[bool, str, str] | None = None) -> None:
    try:
        row = _json_row(entry, page_url, project, foreign, fitting, split)
    except BadEntry as err:
        if notes is not None:
            name = entry.get("filename") if isinstance(entry, dict) else None
            shown = repr(name[:120]) if isinstance(name, str) else "an entry"
            notes.append(f"{redact_url(page_url)}: dropped {shown}: {err}")
        return
    if row is not None:
        rows.append(row)


def parse_html_page(body: bytes, page_url: str, project: str, charset: str | None,
                    notes: list[str] | None = None) -> list[Row]:
    """Rows of a PEP 503 HTML project page (for indexes without PEP 691), parsed by pypi-simple, checked as
    in :func:`parse_json_page`."""
    from pypi_simple import ProjectPage

    page = ProjectPage.from_html(project, body.decode(charset or "utf-8", "replace"), page_url)
    rows: list[Row] = []
    extra = metadata_wheels((pkg.filename for pkg in page.packages), project)
    for pkg in page.packages:
        try:
            if not plain_filename(pkg.filename):
                raise BadEntry("its filename is not a plain file name")
            split = (split_filename(pkg.filename, project) if pkg.filename in extra
                     else keep_file(pkg.filename, project))
            if split is None:
                continue
            url, fragment_sha = _file_url(pkg.url, page_url)
            sha256 = (_checked_sha256(pkg.digests.get("sha256"), "sha256")
                      or _checked_sha256(fragment_sha, "URL's sha256"))
            md_sha = _checked_sha256((pkg.metadata_digests or {}).get("sha256"), "core-metadata sha256")
        except BadEntry as err:
            if notes is not None:
                notes.append(f"{redact_url(page_url)}: dropped {pkg.filename[:120]!r}: {err}")
            continue
        rows.append((pkg.filename, url, split[1], split[0], split[2], sha256, pkg.requires_python or None,
                     bool(pkg.is_yanked), pkg.upload_time.timestamp() if pkg.upload_time else None, pkg.size,
                     bool(pkg.has_metadata), md_sha))
    return rows


# One spelling of a release as the cache keeps it: the version as written in file names, its files'
# earliest upload time (None if no file is dated), whether any of them is undated, and their rows
# (marshalled). A page keeps its releases by release_key, so a warm run decodes only the releases it looks
# at and parses no version it need not.
Release = tuple[str, "float | None", bool, bytes]


@dataclass(frozen=True)
class Page:
    """A parsed project page as the cache keeps it: release key → the release's spellings, in page order;
    ``releases`` is None for a project the index lacks. ``dated``: the index gives upload times (PEP 700)."""

    releases: dict[str, list[Release]] | None
    dated: bool = False

    @classmethod
    def of_rows(cls, rows: Iterable[Row]) -> Page:
        """The page of freshly parsed rows."""
        by_text: dict[str, list[Row]] = {}
        for row in rows:
            by_text.setdefault(row[2], []).append(row)
        releases: dict[str, list[Release]] = {}
        dated = False
        for text, group in by_text.items():
            times = [r[8] for r in group if r[8] is not None]
            dated = dated or bool(times)
            releases.setdefault(release_key(text), []).append(
                (text, min(times) if times else None, len(times) < len(group), marshal.dumps(tuple(group), 4)))
        return cls(releases, dated)

    def body(self) -> bytes:
        """What the cache stores (:func:`page_of_body` reads it back)."""
        return marshal.dumps((self.dated, self.releases or {}), 4)


def page_of_body(body: bytes | None) -> Page:
    """The page a cache body holds; ValueError, EOFError or TypeError when it is not one (a release of the
    wrong shape is found when it is used: :func:`release_rows`)."""
    if body is None:
        return Page({})
    with gc_paused():
        data = marshal.loads(body)
    if not (isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], bool) and isinstance(data[1], dict)):
        raise ValueError("not a cached page")
    return Page(data[1], data[0])


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building thousands of acyclic objects: its passes, set off
    by the allocations alone, would otherwise take two thirds of the time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def group_releases(page: Page, not_after: float | None) -> Mapping[str, Sequence[Release]]:
    """A page's releases by :func:`release_key` (``1.0`` and ``1.0.0`` are one), without the spellings none
    of whose files is old enough for ``not_after`` (see :func:`rows_to_files`)."""
    releases = page.releases or {}
    if not_after is None:
        return releases
    dated = page.dated
    kept: dict[str, list[Release]] = {}
    for key, spellings in releases.items():
        old = [r for r in spellings if (r[1] is not None and r[1] <= not_after) or (r[2] and not dated)]
        if old:
            kept[key] = old
    return kept


def release_rows(spellings: Iterable[Release]) -> list[Row]:
    """The rows of a release's spellings (:func:`group_releases`); ValueError if one is not of that shape."""
    rows: list[Row] = []
    for spelling in spellings:
        if not isinstance(spelling, (tuple, list)) or len(spelling) != 4 or not isinstance(spelling[3], bytes):
            raise ValueError("a cached release of the wrong shape")
        for row in marshal.loads(spelling[3]):
            if not isinstance(row, tuple) or len(row) != 12:
                raise ValueError("a page row of the wrong shape")
            rows.append(row)
    return rows


def rows_to_files(project: str, rows: Iterable[Row], not_after: float | None, dated: bool) -> list[DistFile]:
    """``DistFile`` objects for ``rows``, without files uploaded after ``not_after`` (POSIX seconds).

    With a cut-off, a file without an upload time is dropped too when the page dates its other files (it
    cannot be shown to be old enough); when the index dates none (no PEP 700), every file is kept.
    """
    with gc_paused():
        return _rows_to_files(project, rows, not_after, dated)


def _rows_to_files(project: str, rows: Iterable[Row], not_after: float | None, dated: bool) -> list[DistFile]:
    out: list[DistFile] = []
    append = out.append
    version_of, tags_of, fromtimestamp = parse_version, _tags, datetime.fromtimestamp
    empty: frozenset[Tag] = frozenset()
    for filename, url, version, is_wheel, tag_string, sha, rp, yanked, upload, size, has_md, md_sha in rows:
        if not_after is not None and (upload > not_after if upload is not None else dated):
            continue
        append(make_distfile(
            project, filename, url, version_of(version), "wheel" if is_wheel else "sdist",  # type: ignore[arg-type]
            sha, rp, yanked, fromtimestamp(upload, UTC) if upload is not None else None, size, has_md,
            tags_of(tag_string) if is_wheel else empty, md_sha))
    return out
