"""Metadata that only a build can tell: an sdist's PEP 517 ``prepare_metadata_for_build_wheel`` hook, run in
the box of :mod:`nixgen.pypi.box` (no network, no home, allow-listed environment, limits).

This is a small PEP 517 front end: nixgen reads ``[build-system]`` (PEP 518; setuptools when absent), resolves
and downloads the build requirements itself, outside the box and hash-checked (the caller's ``fetch``),
unpacks those wheels into the scratch directory, and then, inside the box, asks the backend for
``get_requires_for_build_wheel`` (a second fetch round when it lists more) and
``prepare_metadata_for_build_wheel`` (or ``build_wheel`` when the backend has no metadata hook, as PEP 517
allows). The hooks run with an interpreter of the target's minor version when the host has one.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from nixgen.errors import MetadataError
from nixgen.fsutil import sha256_file
from nixgen.pypi import box

if TYPE_CHECKING:
    from nixgen.pypi.client import Index as IndexClient
    from nixgen.pypi.model import DistFile
    from nixgen.resolve.target import Target

HookName = Literal["requires", "metadata", "wheel"]  # "wheel": build_wheel (the smoke pre-flight)
DEFAULT_REQUIRES = ("setuptools>=40.8.0",)  # PEP 517/518: no [build-system] table means setuptools
DEFAULT_BACKEND = "setuptools.build_meta:__legacy__"
_HINT = "pick a version with a wheel (--provider NAME=wheel) or add its dependencies with --overrides"


class BackendFailed(MetadataError):
    """The build backend ran and failed (a property of the sdist: worth remembering)."""


class BackendTimedOut(MetadataError):
    """The build backend did not finish in time (may be the machine: not remembered)."""


@dataclass(frozen=True)
class Interpreter:
    """A CPython on the host that can run hooks: its executable, version and prefix (bound into the box)."""

    path: str
    version: str
    prefix: str

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])


def _query(path: str) -> Interpreter | None:
    probe = "import sys; print(sys.version.split()[0]); print(sys.base_prefix); print(sys.executable)"
    try:
        proc = subprocess.run([path, "-S", "-I", "-c", probe], capture_output=True, text=True, timeout=20,
                              env=box.box_env(Path("/")))
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = proc.stdout.split("\n")
    if proc.returncode != 0 or len(lines) < 3:
        return None
    return Interpreter(os.path.realpath(lines[2] or path), lines[0], os.path.realpath(lines[1]))


@cache
def find_interpreter(minor: str) -> Interpreter | None:
    """A host CPython of this minor version: ``$HOME/.pyenv/versions/X.Y.*`` (newest first), then
    ``pythonX.Y`` on PATH."""
    found: list[str] = []
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"

    def patch(p: str) -> int:
        tail = Path(p).parents[1].name.split(".")[2:3]
        return int(tail[0]) if tail and tail[0].isdigit() else -1

    found += sorted(glob.glob(f"{glob.escape(str(pyenv))}/{minor}.*/bin/python3"), key=patch, reverse=True)
    on_path = shutil.which(f"python{minor}")
    if on_path:
        found.append(on_path)
    for path in found:
        interp = _query(path)
        if interp is not None and interp.minor == minor:
            return interp
    return None


@cache
def running_interpreter() -> Interpreter:
    """The interpreter nixgen runs on, outside any virtual environment."""
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    found = _query(str(base)) if base.is_file() else None
    return found or Interpreter(os.path.realpath(sys.executable), sys.version.split()[0],
                                os.path.realpath(sys.base_prefix))


# -- sdist and wheels into the scratch directory --------------------------------------------------------
def unpack_sdist(sdist: Path, dest: Path) -> Path:
    """Extract an sdist (tar or zip) safely (tarfile's ``data`` filter; no absolute or ``..`` zip names) and
    return its top directory."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if sdist.name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as archive:
                for name in archive.namelist():
                    if name.startswith("/") or ".." in Path(name).parts:
                        raise BackendFailed(f"{sdist.name} has an unsafe path {name!r}")
                archive.extractall(dest)
        else:
            with tarfile.open(sdist) as archive:
                archive.extractall(dest, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as err:
        raise BackendFailed(f"{sdist.name} is not a readable sdist: {err}") from err
    tops = [p for p in dest.iterdir() if p.is_dir()]
    return tops[0] if len(tops) == 1 else dest


def install_wheels(wheels: Sequence[Path], site: Path) -> set[str]:
    """Unpack wheels into one directory for ``site.addsitedir`` (their ``.data/purelib`` and ``platlib``
    merged in, as an installer would); returns the project names installed."""
    site.mkdir(parents=True, exist_ok=True)
    names: set[str] = set()
    for wheel in wheels:
        names.add(canonicalize_name(wheel.name.split("-", 1)[0]))
        with zipfile.ZipFile(wheel) as archive:
            for info in archive.infolist():
                parts = Path(info.filename).parts
                if info.filename.startswith("/") or ".." in parts or not parts:
                    raise MetadataError(f"{wheel.name} has an unsafe path {info.filename!r}")
                if len(parts) > 2 and parts[0].endswith(".data"):
                    if parts[1] not in ("purelib", "platlib"):
                        continue  # scripts, headers, data: not needed to import a backend
                    parts = parts[2:]
                if info.is_dir():
                    continue
                target = site.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, target.open("wb") as out:
                    shutil.copyfileobj(src, out)
    return names


@dataclass(frozen=True)
class BuildSystem:
    """PEP 517/518 ``[build-system]`` of an unpacked sdist."""

    requires: tuple[str, ...]
    backend: str
    backend_path: tuple[str, ...]


def read_build_system(source: Path, where: str) -> BuildSystem:
    """``[build-system]`` from the tree's pyproject.toml, with PEP 517's defaults; ``backend-path`` entries
    must stay inside the tree."""
    import tomllib

    table: Any = {}
    pyproject = source / "pyproject.toml"
    if pyproject.is_file():
        try:
            table = tomllib.loads(pyproject.read_text("utf-8")).get("build-system", {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise BackendFailed(f"{where}: pyproject.toml is not valid TOML: {err}", hint=_HINT) from err
    if not isinstance(table, dict):
        raise BackendFailed(f"{where}: [build-system] in pyproject.toml is not a table", hint=_HINT)
    requires = table.get("requires", list(DEFAULT_REQUIRES) if "build-backend" not in table else [])
    backend = table.get("build-backend", DEFAULT_BACKEND)
    paths = table.get("backend-path", [])
    if not (isinstance(requires, list) and all(isinstance(r, str) for r in requires)):
        raise BackendFailed(f"{where}: build-system.requires must be a list of strings", hint=_HINT)
    if not isinstance(backend, str) or not backend:
        raise BackendFailed(f"{where}: build-system.build-backend must be a string", hint=_HINT)
    if not (isinstance(paths, list) and all(isinstance(p, str) for p in paths)):
        raise BackendFailed(f"{where}: build-system.backend-path must be a list of strings", hint=_HINT)
    root = source.resolve()
    for p in paths:
        full = (source / p).resolve()
        if full != root and root not in full.parents:
            raise BackendFailed(f"{where}: backend-path {p!r} leaves the source tree (PEP 517 forbids it)",
                                hint=_HINT)
    return BuildSystem(tuple(requires), backend, tuple(paths))


# The PEP 517 side inside the box: import the backend, call one hook, write the answer to a JSON file.
RUNNER = r'''
import importlib, json, os, sys

spec = json.load(open(sys.argv[1]))
os.environ.update(spec.get("env", {}))
if spec["site"]:
    import site
    site.addsitedir(spec["site"])
for entry in reversed(spec["backend_path"]):
    sys.path.insert(0, os.path.join(spec["source"], entry))
module, _, attrs = spec["backend"].partition(":")
backend = importlib.import_module(module)
for attr in filter(None, attrs.split(".")):
    backend = getattr(backend, attr)
answer = {}
if spec["hook"] == "requires":
    hook = getattr(backend, "get_requires_for_build_wheel", None)
    answer["requires"] = [str(r) for r in (hook({}) if hook is not None else [])]
elif spec["hook"] == "wheel":
    answer["wheel"] = backend.build_wheel(spec["wheel_dir"], {})
else:
    hook = getattr(backend, "prepare_metadata_for_build_wheel", None)
    if hook is not None:
        answer["dist_info"] = hook(spec["metadata_dir"], {})
    else:
        answer["wheel"] = backend.build_wheel(spec["wheel_dir"], {})
with open(spec["answer"], "w") as handle:
    json.dump(answer, handle)
'''

Fetch = Callable[[Sequence[str], Interpreter], list[Path]]  # requirement texts -> hash-checked wheel files


def _call(hook: HookName, *, name: str, work: Path, source: Path, system: BuildSystem, python: Interpreter,
          isolation: box.Isolation, limits: box.Limits, env: Mapping[str, str]) -> dict[str, Any]:
    answer = work / "answer.json"
    answer.unlink(missing_ok=True)
    for d in ("metadata", "wheel"):
        (work / d).mkdir(exist_ok=True)
    spec = {"hook": hook, "source": str(source), "backend": system.backend,
            "backend_path": list(system.backend_path), "site": str(work / "site"),
            "metadata_dir": str(work / "metadata"), "wheel_dir": str(work / "wheel"), "answer": str(answer),
            "env": dict(env)}
    (work / "runner.py").write_text(RUNNER)
    (work / "spec.json").write_text(json.dumps(spec))
    ran = box.run([python.path, "-S", "-I", str(work / "runner.py"), str(work / "spec.json")],
                  python=python.path, work=work, cwd=source, read_only=[Path(python.prefix)],
                  isolation=isolation, limits=limits)
    what = "get_requires_for_build_wheel" if hook == "requires" else "prepare_metadata_for_build_wheel"
    if ran.timed_out:
        raise BackendTimedOut(f"{name}: its build backend did not answer {what} within {limits.timeout:g} s",
                              hint=_HINT)
    if ran.returncode != 0:
        tail = " ".join(ran.stderr.strip().splitlines()[-3:]) or f"exit status {ran.returncode}"
        raise BackendFailed(f"{name}: its build backend failed in {what}: {tail}", hint=_HINT)
    try:
        data = json.loads(box.read_inside(work, "answer.json", 1 << 20))
    except (ValueError, OSError) as err:
        raise BackendFailed(f"{name}: its build backend gave no readable answer to {what}: {err}",
                            hint=_HINT) from err
    if not isinstance(data, dict):
        raise BackendFailed(f"{name}: its build backend gave no readable answer to {what}", hint=_HINT)
    return data


def _requirements(texts: Sequence[str], where: str) -> list[Requirement]:
    out = []
    for text in texts:
        try:
            out.append(Requirement(text))
        except InvalidRequirement as err:
            raise BackendFailed(f"{where}: build requirement {text!r} is not PEP 508: {err}", hint=_HINT) from err
    return out


def metadata_from_build(sdist: Path, *, fetch: Fetch, python: Interpreter, isolation: box.Isolation,
                        limits: box.Limits | None = None, env: Mapping[str, str] | None = None) -> bytes:
    """The METADATA the sdist's backend prepares (PEP 517), computed in the box; see the module docstring.
    ``env`` is set for the hooks on top of the box's allow-list (a git source's SETUPTOOLS_SCM_PRETEND_VERSION)."""
    limits = limits or box.Limits()
    name = sdist.name
    sys.stderr.write(f"nixgen: running the build backend of {name} to learn its dependencies (PEP 517 "
                     f"metadata hook; Python {python.minor}; {box.describe(isolation, limits)})\n")
    sys.stderr.flush()
    work = Path(tempfile.mkdtemp(prefix="nixgen-build-"))
    try:
        source = unpack_sdist(sdist, work / "src")
        system = read_build_system(source, name)
        requires = [str(r) for r in _requirements(system.requires, name)]
        installed = install_wheels(fetch(requires, python), work / "site") if requires else set()
        common = {"name": name, "work": work, "source": source, "system": system, "python": python,
                  "isolation": isolation, "limits": limits, "env": env or {}}
        asked = _call("requires", **common).get("requires", [])  # type: ignore[arg-type]
        if not (isinstance(asked, list) and all(isinstance(r, str) for r in asked)):
            raise BackendFailed(f"{name}: get_requires_for_build_wheel did not return a list of strings",
                                hint=_HINT)
        more = [str(r) for r in _requirements(asked, name) if canonicalize_name(r.name) not in installed]
        if more:
            shutil.rmtree(work / "site")
            install_wheels(fetch([*requires, *more], python), work / "site")
        answer = _call("metadata", **common)  # type: ignore[arg-type]
        try:
            if isinstance(answer.get("dist_info"), str):
                return box.read_inside(work / "metadata", f"{answer['dist_info']}/METADATA")
            if isinstance(answer.get("wheel"), str):
                from nixgen.pypi.metadata import wheel_metadata_from_file

                wheel = box.inside(work / "wheel", answer["wheel"])
                return wheel_metadata_from_file(wheel, canonicalize_name(name.rsplit("-", 1)[0]), name)
        except (ValueError, OSError) as err:
            raise BackendFailed(f"{name}: its build backend's metadata cannot be read: {err}",
                                hint=_HINT) from err
        raise BackendFailed(f"{name}: its build backend returned neither a .dist-info name nor a wheel",
                            hint=_HINT)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- once per (sdist sha256, interpreter minor version), for every system and run ----------------------
def choose_interpreter(python: str | None) -> tuple[Interpreter, str | None]:
    """The interpreter for hooks of a target's Python ``X.Y`` (None: the running one), and a note when the
    host has no such interpreter and the running one stands in."""
    if python is not None:
        found = find_interpreter(python)
        if found is not None:
            return found, None
    running = running_interpreter()
    if python is None or running.minor == python:
        return running, None
    return running, f"the target's Python {python} is not on this machine"


def host_target(python: Interpreter) -> Target:
    """The host as a resolution target, for the wheels of build requirements the hook imports."""
    import platform

    from nixgen.resolve.target import Target

    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine())
    kind = "darwin" if sys.platform == "darwin" else "linux"
    major, minor = python.minor.split(".")
    libc = platform.libc_ver()[1] or None
    return Target(f"python{major}{minor}", python.version, f"{machine}-{kind}", glibc_version=libc)


def fetcher(index: IndexClient, where: str) -> Fetch:
    """Build requirements resolved by nixgen's resolver for the host (wheels only, no nixpkgs) and
    downloaded through the index (hash-checked)."""
    def fetch(texts: Sequence[str], python: Interpreter) -> list[Path]:
        return [path for _filename, path in build_wheels(index, where, texts, python)]

    return fetch


def build_wheels(index: IndexClient, where: str, texts: Sequence[str],
                 python: Interpreter) -> list[tuple[str, Path]]:
    """:func:`fetcher`'s wheels with their file names (the cache names files by hash)."""
    from nixgen.errors import ResolutionError
    from nixgen.inputs.model import Origin, RequirementSet, UserRequirement
    from nixgen.resolve.resolver import ResolveOptions, resolve

    origin = f"{where} [build-system]"
    reqset = RequirementSet(tuple(UserRequirement(Requirement(t), Origin(origin, 0, t)) for t in texts))
    try:
        res = resolve(reqset, index, None, host_target(python),
                      ResolveOptions(prefer="latest", build_metadata=False))
    except ResolutionError as err:
        raise MetadataError(f"{where}: its build requirements ({', '.join(texts)}) cannot be resolved "
                            f"for Python {python.minor}: {err.message}", hint=_HINT) from err
    found = []
    for pin in res.pins:
        if pin.provider != "wheel" or pin.artifact is None:
            raise MetadataError(f"{where}: build requirement {pin.name} {pin.version} has no wheel for "
                                f"Python {python.minor}; nixgen installs build requirements from wheels "
                                "only", hint=_HINT)
        filename = pin.artifact.filename
        found.append((filename, index.artifact(next(f for f in index.project(pin.name).files
                                                    if f.filename == filename))))
    return found


def build_key(index: IndexClient, file: DistFile, python: str | None) -> tuple[str, Interpreter, str | None]:
    """What a backend's answer is remembered under: the sdist's sha256 and the interpreter's minor version
    (with the interpreter and the note of :func:`choose_interpreter`)."""
    interp, note = choose_interpreter(python)
    sha256 = file.sha256 or sha256_file(index.artifact(file))
    return sha256, interp, note


def cached_metadata(index: IndexClient, file: DistFile, sha256: str, python: Interpreter, note: str | None,
                    allow_unboxed: bool, timeout: float) -> dict[str, Any]:
    """The backend's metadata (or its deterministic failure) as a cache record; the backend runs only when
    the cache has no answer for (sha256, Python minor). Timeouts and refusals are not remembered."""
    from nixgen.pypi.metadata import parse_metadata

    text = index.cache.built_metadata(sha256, python.minor)
    if text is not None:
        try:
            known = json.loads(text)
        except ValueError:
            known = None
        if isinstance(known, dict):
            return dict(known)
    isolation, why = box.probe()
    if isolation is None:
        if not allow_unboxed:
            raise MetadataError(
                f"{file.filename}: only its build backend knows its dependencies, and this machine cannot "
                f"box package code (no user, network and mount namespaces: {why})",
                hint="allow unprivileged user namespaces or install bubblewrap; or pass "
                     "--allow-unboxed-builds to run it with only an environment allow-list, or "
                     "--no-build-metadata to never run it (then give its dependencies with --overrides)")
        isolation = "unboxed"
    if note:
        sys.stderr.write(f"nixgen: {note}; the build backend of {file.filename} runs with Python "
                         f"{python.minor} instead\n")
    try:
        with tempfile.TemporaryDirectory(prefix="nixgen-sdist-") as tmp:
            # The cache names files by hash; the backend (and its messages) see the file's own name when it is a
            # plain one (the index's names are validated so; a direct reference's is checked here again).
            plain = file.filename if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+!-]*", file.filename) else (
                "sdist.zip" if file.filename.endswith(".zip") else "sdist.tar.gz")  # never a path from index data
            named = Path(tmp) / plain
            named.symlink_to(index.artifact(file))
            raw = metadata_from_build(named, fetch=fetcher(index, file.filename), python=python,
                                      isolation=isolation, limits=box.Limits(timeout=timeout))
        where = f"{file.filename} (its build backend)"
        try:
            md = parse_metadata(raw, source="build", trusted=True, where=where)
            same = canonicalize_name(md.name) == file.project and Version(md.version) == file.version
        except (MetadataError, InvalidVersion) as err:
            raise BackendFailed(f"{where}: unusable METADATA: {err}", hint=_HINT) from err
        if not same:
            raise BackendFailed(f"{where} describes {md.name} {md.version}, not {file.project} {file.version}",
                                hint=_HINT)
        record: dict[str, Any] = {"metadata": md.to_json()}
    except BackendFailed as err:  # the sdist's own doing: the same bytes fail the same way next time
        record = {"error": err.message}
    index.cache.put_built_metadata(sha256, python.minor, json.dumps(record))
    return record
