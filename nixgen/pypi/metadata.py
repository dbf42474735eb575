"""Core metadata of distributions: wheels' METADATA (PEP 566/658) and what an sdist says without a build.

An sdist's dependencies are taken, in this order, from PKG-INFO of Metadata-Version >= 2.2 without
``Requires-Dist`` in ``Dynamic`` (PEP 643: trusted), from a static ``[project]`` table in pyproject.toml
(PEP 621: trusted), and as a best guess from ``*.egg-info/requires.txt`` or an old PKG-INFO's
``Requires-Dist`` (not trusted). Anything else needs a build, which nixgen does not run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from nixgen.errors import MetadataError
from nixgen.pypi.model import CoreMetadata

BuildSystem = tuple[tuple[str, ...], "str | None"]
MAX_MEMBER = 16 * 1024 * 1024  # larger PKG-INFO/pyproject/requires.txt members are not read
_EGG_REQUIRES = re.compile(r"^(?:[^/]+/)?[^/]+\.egg-info/requires\.txt$")
_EGG_INFO = re.compile(r"^(?:[^/]+/)?[^/]+\.egg-info/PKG-INFO$")


def _requirements(lines: Iterable[str], where: str) -> tuple[Requirement, ...]:
    out = []
    for line in lines:
        try:
            out.append(Requirement(line))
        except InvalidRequirement as err:
            raise MetadataError(f"{where}: invalid requirement {line!r}: {err}") from err
    return tuple(out)


def parse_metadata(raw: bytes | str, *, source: str, trusted: bool, where: str) -> CoreMetadata:
    """A ``CoreMetadata`` from the text of METADATA or PKG-INFO (RFC 822 headers, PEP 566)."""
    from packaging.metadata import parse_email

    fields, _ = parse_email(raw)
    name, version = fields.get("name"), fields.get("version")
    if not name or not version:
        raise MetadataError(f"{where}: the metadata has no Name or Version")
    return CoreMetadata(
        name=name, version=version,
        parsed=_requirements(fields.get("requires_dist", []), where),
        requires_python=fields.get("requires_python") or None,
        provides_extra=tuple(canonicalize_name(e) for e in fields.get("provides_extra", [])),
        source=source, trusted=trusted)


def _metadata_version(fields: dict[str, Any]) -> Version:
    try:
        return Version(str(fields.get("metadata_version") or "1.0"))
    except InvalidVersion:
        return Version("1.0")


def wheel_metadata_member(names: Iterable[str], project: str) -> str | None:
    """The ``<name>-<version>.dist-info/METADATA`` member of a wheel (PEP 427)."""
    found = [n for n in names if n.endswith(".dist-info/METADATA") and n.count("/") == 1]
    for name in found:
        if canonicalize_name(name.split("-", 1)[0]) == project:
            return name
    return found[0] if found else None


def wheel_metadata_from_file(path: Path, project: str, where: str) -> bytes:
    """METADATA of a wheel on disk."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as wheel:
            member = wheel_metadata_member(wheel.namelist(), project)
            if member is None:
                raise MetadataError(f"{where} has no *.dist-info/METADATA", hint="is it really a wheel?")
            return wheel.read(member)
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise MetadataError(f"{where} is not a readable wheel: {err}") from err


@dataclass(frozen=True)
class SdistInfo:
    """What an sdist tells without a build: its metadata (or why not) and its PEP 518 build system."""

    metadata: CoreMetadata | None
    error: str | None
    build_system: BuildSystem | None


@contextmanager
def _members(path: Path) -> Iterator[tuple[list[str], Callable[[str], bytes | None]]]:
    """Member paths below the sdist's top directory, and a reader of one of them."""
    import tarfile
    import zipfile

    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            infos = {i.filename.split("/", 1)[1]: i for i in archive.infolist()
                     if "/" in i.filename and not i.is_dir()}

            def read_zip(rel: str) -> bytes | None:
                info = infos.get(rel)
                return archive.read(info) if info is not None and info.file_size <= MAX_MEMBER else None

            yield list(infos), read_zip
        return
    with tarfile.open(path, "r:*") as tar:
        members = {m.name.split("/", 1)[1]: m for m in tar.getmembers() if "/" in m.name and m.isfile()}

        def read_tar(rel: str) -> bytes | None:
            member = members.get(rel)
            if member is None or member.size > MAX_MEMBER:
                return None
            handle = tar.extractfile(member)
            return handle.read() if handle is not None else None

        yield list(members), read_tar


def _with_extra(req: Requirement, extra: str) -> Requirement:
    from packaging.markers import Marker

    clause = f'extra == "{extra}"'
    req.marker = Marker(f"({req.marker}) and {clause}" if req.marker else clause)
    return req


def _from_pyproject(project: dict[str, Any], version: str, where: str) -> CoreMetadata | None:
    dynamic = {str(d).lower() for d in project.get("dynamic", [])}
    if "dependencies" in dynamic or "name" not in project:
        return None
    deps = list(_requirements(project.get("dependencies", []), where))
    extras = []
    for extra, lines in sorted((project.get("optional-dependencies") or {}).items()):
        name = canonicalize_name(extra)
        extras.append(name)
        deps += [_with_extra(r, name) for r in _requirements(lines, where)]
    requires_python = None if "requires-python" in dynamic else project.get("requires-python")
    return CoreMetadata(name=str(project["name"]), version=str(project.get("version") or version),
                        parsed=tuple(deps), requires_python=requires_python,
                        provides_extra=tuple(extras), source="pyproject",
                        trusted="optional-dependencies" not in dynamic)


def _from_requires_txt(text: str, name: str, version: str, requires_python: str | None,
                       where: str) -> CoreMetadata:
    """setuptools' ``requires.txt``: requirements under ``[extra]``, ``[:marker]``, ``[extra:marker]``."""
    from packaging.markers import InvalidMarker, Marker

    deps: list[Requirement] = []
    extras: list[str] = []
    extra, marker = "", ""
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            extra, _, marker = line[1:-1].partition(":")
            extra = canonicalize_name(extra) if extra.strip() else ""
            if extra and extra not in extras:
                extras.append(extra)
            continue
        req = _requirements([line], where)[0]
        clauses = [f"({c})" for c in (str(req.marker) if req.marker else "", marker.strip()) if c]
        if extra:
            clauses.append(f'extra == "{extra}"')
        try:
            req.marker = Marker(" and ".join(clauses)) if clauses else None
        except InvalidMarker as err:
            raise MetadataError(f"{where}: invalid marker in requires.txt: {err}") from err
        deps.append(req)
    return CoreMetadata(name=name, version=version, parsed=tuple(deps),
                        requires_python=requires_python, provides_extra=tuple(extras), source="egg-info",
                        trusted=False)


def read_sdist(path: Path, filename: str, version: str) -> SdistInfo:
    """Metadata and build system of the sdist at ``path`` (``version`` is the one its file name gives)."""
    import tarfile
    import tomllib
    import zipfile

    from packaging.metadata import parse_email

    where = filename
    try:
        with _members(path) as (names, read):
            pkg_info = read("PKG-INFO")
            pyproject_raw = read("pyproject.toml")
            egg_requires = next((n for n in sorted(names) if _EGG_REQUIRES.match(n)), None)
            requires_txt = read(egg_requires) if egg_requires else None
            has_egg_info = any(_EGG_INFO.match(n) for n in names)
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as err:
        raise MetadataError(f"{where} is not a readable sdist: {err}") from err

    pyproject: dict[str, Any] = {}
    if pyproject_raw is not None:
        try:
            pyproject = tomllib.loads(pyproject_raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            pyproject = {}
    build_system: BuildSystem | None = None
    table = pyproject.get("build-system")
    if isinstance(table, dict):
        requires = table.get("requires") or []
        backend = table.get("build-backend")
        build_system = (tuple(str(r) for r in requires), str(backend) if backend else None)

    def done(metadata: CoreMetadata | None, error: str | None = None) -> SdistInfo:
        return SdistInfo(metadata, error, build_system)

    fields: dict[str, Any] = {}
    if pkg_info is not None:
        fields = dict(parse_email(pkg_info)[0])
        dynamic = {d.lower() for d in fields.get("dynamic", [])}
        if _metadata_version(fields) >= Version("2.2") and "requires-dist" not in dynamic:
            return done(parse_metadata(pkg_info, source="pkg-info", trusted=True, where=f"{where}: PKG-INFO"))
    project = pyproject.get("project")
    if isinstance(project, dict):
        found = _from_pyproject(project, version, f"{where}: pyproject.toml")
        if found is not None:
            return done(found)
    name = str(fields.get("name") or (project or {}).get("name") or filename.rsplit("-", 1)[0])
    requires_python = fields.get("requires_python") or None
    if requires_txt is not None:
        text = requires_txt.decode("utf-8", "replace")
        return done(_from_requires_txt(text, name, str(fields.get("version") or version), requires_python,
                                       f"{where}: {egg_requires}"))
    if fields.get("requires_dist"):
        return done(parse_metadata(pkg_info or b"", source="pkg-info", trusted=False,
                                   where=f"{where}: PKG-INFO"))
    if has_egg_info:  # setuptools writes requires.txt only when there are requirements
        return done(CoreMetadata(name=name, version=str(fields.get("version") or version), parsed=(),
                                 requires_python=requires_python, provides_extra=(), source="egg-info",
                                 trusted=False))
    return done(None, f"{filename} declares its dependencies only through its build (setup.py or dynamic "
                      "metadata), and nixgen does not run builds")


def read_sdist_member(path: Path, rel: str) -> bytes | None:
    """One file of the sdist at ``path`` by its path below the top directory (None when absent or huge)."""
    import tarfile
    import zipfile

    try:
        with _members(path) as (_names, read):
            return read(rel)
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as err:
        raise MetadataError(f"{path.name} is not a readable sdist: {err}") from err
