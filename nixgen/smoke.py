"""The smoke pre-flight: a plan's version set installed, built, checked and imported on a host CPython, where
nothing from Nix is built.

For one plan (one Nix system) whose system is the host's, with a host CPython of the target's minor version
(``$PYENV_ROOT/versions``, then ``pythonX.Y`` on ``PATH``, as :func:`nixgen.pypi.buildmeta.find_interpreter`):

1. **build**: every sdist of the plan is built with exactly the plan's build pins: a build environment holding
   them (the build pins' closure, no dependency resolution), and the backend's PEP 517 ``build_wheel`` called
   without build isolation inside the box of :mod:`nixgen.pypi.box` (no network, no home);
2. **install**: a throwaway virtual environment (``uv venv``) gets the plan's runtime pins at exactly their
   versions from the same index (``uv pip install --no-deps --only-binary :all: name==version``) and the
   runtime sdists' wheels; a nixpkgs pin the index has no wheel of is built from its sdist of that version with
   the newest build requirements (nixpkgs' own are not in the plan), and a note says so;
3. **check**: ``uv pip check`` (PEP 508 requirements against what is installed), except the upstream pins
   that nixpkgs relaxes and the plan lists;
4. **import**: each root (a requested project) imported by its import names, read from its installed
   ``top_level.txt`` or else its ``RECORD`` (never guessed from the project name), in the box.

What it tests is the *version set*: that the pins go together (coherence), that the binaries are of the
interpreter's ABI era, that no dependency is missing, that nothing imports a module the interpreter dropped.
It does not test nixpkgs' builds (their patches, native inputs, or its interpreter's patch release). What it
cannot try is said, never skipped silently: other systems than the host's, an interpreter the host lacks,
wheels that need a newer glibc than the host's (manylinux tags, PEP 600), sdists whose build says a native
library or tool is missing (:func:`missing_native`).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import compatible_tags, cpython_tags
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from nixgen.core.kinds import SMOKE_STEPS, SmokeOutcome, SmokeStep, SmokeVerdict
from nixgen.pypi import box
from nixgen.pypi.buildmeta import (
    RUNNER,
    BackendFailed,
    BuildSystem,
    Interpreter,
    find_interpreter,
    read_build_system,
    unpack_sdist,
)

if TYPE_CHECKING:
    from nixgen.plan.model import Plan, PlannedPackage
    from nixgen.pypi.client import Index
    from nixgen.pypi.model import DistFile

SCOPE = ("tests the version set (coherence, ABI eras, missing dependencies, removed modules) on a host CPython, "
         "not nixpkgs' builds")
TAIL_LINES = 6  # lines of an error kept as a step's reason


@dataclass(frozen=True)
class StepResult:
    """One step's verdict, the reason (the last lines of the error, or why it was not tried) and what it
    covered (pins, sdists or modules)."""

    step: SmokeStep
    verdict: SmokeVerdict
    reason: str = ""
    items: tuple[str, ...] = ()


@dataclass(frozen=True)
class SmokeResult:
    """The smoke run of one plan: the host interpreter used, each step, and what could not be tried."""

    system: str
    python: str
    interpreter: str | None
    steps: tuple[StepResult, ...]
    not_tried: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def outcome(self) -> SmokeOutcome:
        verdicts = [s.verdict for s in self.steps]
        if "failed" in verdicts:
            return "failed"
        if all(v == "not tried" for v in verdicts):
            return "not tried"
        return "incomplete" if self.not_tried or "not tried" in verdicts else "passed"

    def to_json(self) -> dict[str, object]:
        return {"system": self.system, "python": self.python, "interpreter": self.interpreter,
                "outcome": self.outcome, "not-tried": list(self.not_tried), "notes": list(self.notes),
                "steps": [{"step": s.step, "verdict": s.verdict, "reason": s.reason, "items": list(s.items)}
                          for s in self.steps]}


def _not_tried(plan: Plan, why: str, interpreter: str | None = None) -> SmokeResult:
    return SmokeResult(plan.system, plan.python_version, interpreter,
                       tuple(StepResult(s, "not tried", why) for s in SMOKE_STEPS), (why,))


# -- the host ---------------------------------------------------------------------------------------------
def host_system() -> str:
    """The host as a Nix system name (``x86_64-linux``)."""
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine())
    return f"{machine}-{'darwin' if sys.platform == 'darwin' else 'linux'}"


def host_glibc() -> tuple[int, int] | None:
    """The host's glibc version (``os.confstr``, else ``platform.libc_ver``); None on another libc."""
    text = ""
    with contextlib.suppress(AttributeError, ValueError, OSError):
        text = os.confstr("CS_GNU_LIBC_VERSION") or ""
    match = re.fullmatch(r"glibc (\d+)\.(\d+).*", text)
    if match is None:
        lib, version = platform.libc_ver()
        match = re.fullmatch(r"(\d+)\.(\d+).*", version) if lib == "glibc" else None
        if match is None:
            return None
        return int(match.group(1)), int(match.group(2))
    return int(match.group(1)), int(match.group(2))


_LEGACY = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def glibc_needed(platform_tag: str, arch: str) -> tuple[int, int] | bool | None:
    """The glibc a wheel's platform tag needs on ``arch`` (PEP 600 ``manylinux_X_Y_arch`` and the legacy
    aliases of PEPs 513/571/599); True for ``any``; None when the tag is not for a glibc Linux of ``arch``."""
    if platform_tag == "any":
        return True
    match = re.fullmatch(r"manylinux_(\d+)_(\d+)_(.+)", platform_tag)
    if match is not None:
        return (int(match.group(1)), int(match.group(2))) if match.group(3) == arch else None
    legacy, _, tail = platform_tag.partition("_")
    if legacy in _LEGACY and tail == arch:
        return _LEGACY[legacy]
    return None


@dataclass(frozen=True)
class WheelChoice:
    """Whether the index has a wheel of a pin the host interpreter can install: the glibc the least demanding
    one needs (``(0, 0)``: a pure wheel), or, when none fits the host's glibc, the least the others need."""

    fits: bool
    needs: tuple[int, int] | None = None


def host_wheel(filenames: Iterable[str], version: str, python: str, arch: str,
               glibc: tuple[int, int] | None) -> WheelChoice:
    """Do the index's wheels of ``version`` (PEP 427 names) include one for CPython ``python`` (X.Y) on this
    host (PEP 425 tags; glibc from the manylinux tag)?"""
    major, minor = (int(x) for x in python.split(".")[:2])
    pairs = {(t.interpreter, t.abi) for t in cpython_tags((major, minor), platforms=["any"])}
    pairs |= {(t.interpreter, t.abi) for t in compatible_tags((major, minor), f"cp{major}{minor}", ["any"])}
    least_fit: tuple[int, int] | None = None
    least_other: tuple[int, int] | None = None
    for filename in filenames:
        try:
            _name, wheel_version, _build, tags = parse_wheel_filename(filename)
            if wheel_version != Version(version):
                continue
        except (InvalidWheelFilename, InvalidVersion):
            continue
        for tag in tags:
            if (tag.interpreter, tag.abi) not in pairs:
                continue
            needed = glibc_needed(tag.platform, arch)
            if needed is None:
                continue
            need = (0, 0) if needed is True else needed
            assert isinstance(need, tuple)
            if need == (0, 0) or (glibc is not None and need <= glibc):
                least_fit = need if least_fit is None else min(least_fit, need)
            else:
                least_other = need if least_other is None else min(least_other, need)
    if least_fit is not None:
        return WheelChoice(True, least_fit)
    return WheelChoice(False, least_other)


# -- running uv and the box -------------------------------------------------------------------------------
def tail(text: str, lines: int = TAIL_LINES) -> str:
    """The last non-empty lines of a tool's output: the reason a step gives."""
    kept = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


@dataclass
class _Uv:
    """uv with nixgen's choices: no uv configuration files, the plan's index, a cache directory, offline."""

    uv: str
    index_urls: Sequence[str]
    cache_dir: Path
    offline: bool
    timeout: float

    def run(self, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_", "VIRTUAL_ENV"))}
        env["UV_CACHE_DIR"] = str(self.cache_dir)
        env["NO_COLOR"] = "1"
        try:
            return subprocess.run([self.uv, *args], capture_output=True, text=True, timeout=self.timeout,
                                  env=env, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess([self.uv, *args], 124, "", f"uv timed out after {self.timeout:g} s")

    def venv(self, path: Path, python: Interpreter) -> subprocess.CompletedProcess[str]:
        return self.run(["venv", "--no-config", "--quiet", "--python", python.path, str(path)])

    def install(self, venv: Path, specs: Sequence[str]) -> subprocess.CompletedProcess[str]:
        index = ["--index-url", self.index_urls[0], *[a for u in self.index_urls[1:]
                                                       for a in ("--extra-index-url", u)]]
        return self.run(["pip", "install", "--no-config", "--python", str(venv / "bin" / "python"), "--no-deps",
                         "--only-binary", ":all:", *index, *(["--offline"] if self.offline else []), *specs])

    def check(self, venv: Path) -> subprocess.CompletedProcess[str]:
        return self.run(["pip", "check", "--no-config", "--python", str(venv / "bin" / "python")])


@dataclass
class _Box:
    """Where and how package code runs: the box's isolation (None: not possible, with why) and limits."""

    isolation: box.Isolation | None
    why: str
    limits: box.Limits


IMPORTER = r'''
import importlib, json, sys, traceback

failed = {}
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except BaseException:
        failed[name] = traceback.format_exc()
print(json.dumps(failed))
'''


# -- the steps --------------------------------------------------------------------------------------------
@dataclass
class _Run:
    plan: Plan
    index: Index
    uv: _Uv
    python: Interpreter
    work: Path
    boxing: _Box
    not_tried: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    wheels: dict[str, Path] = field(default_factory=dict)  # sdist pin name -> its built wheel
    building: set[str] = field(default_factory=set)

    def pins(self, names: Iterable[str]) -> list[PlannedPackage]:
        return [p for n in names if (p := self.plan.package(n)) is not None]

    def closure(self, names: Iterable[str]) -> list[PlannedPackage]:
        """The pins ``names`` and their runtime dependencies, in plan order."""
        seen: set[str] = set()
        todo = list(names)
        while todo:
            name = todo.pop()
            pkg = self.plan.package(name)
            if pkg is None or name in seen:
                continue
            seen.add(name)
            todo += pkg.pin.dependencies
        return [p for p in self.plan.packages if p.name in seen]

    def specs(self, packages: Sequence[PlannedPackage],
              build: Callable[[PlannedPackage], Path | str]) -> tuple[list[str], list[str]]:
        """What uv installs for these pins (``name==version``, a built wheel's path, a direct reference), and
        the sentences for those the host cannot install."""
        arch = self.plan.system.split("-", 1)[0]
        glibc = host_glibc()
        specs: list[str] = []
        problems: list[str] = []
        for pkg in packages:
            where = f"{pkg.name} {pkg.version}"
            if pkg.provider == "local":
                problems.append(f"{where} is the local project: the smoke installs index pins only")
                continue
            if pkg.pin.metadata_source == "direct" and pkg.artifact is not None:
                specs.append(f"{pkg.name} @ {pkg.artifact.url}")
                continue
            if pkg.provider == "sdist":
                built = build(pkg)
                if isinstance(built, str):
                    problems.append(built)
                else:
                    specs.append(str(built))
                continue
            files = [f.filename for f in self.index.project(pkg.name, undated=True).files]
            choice = host_wheel(files, pkg.version, self.python.minor, arch, glibc)
            if choice.fits:
                specs.append(f"{pkg.name}=={pkg.version}")
            elif choice.needs is not None:
                host = "?" if glibc is None else f"{glibc[0]}.{glibc[1]}"
                problems.append(f"{where}: its wheels need glibc {choice.needs[0]}.{choice.needs[1]} or newer, "
                                f"the host has {host}")
            elif pkg.provider == "nixpkgs":
                built = self.build_nixpkgs(pkg)
                if isinstance(built, str):
                    problems.append(built)
                else:
                    specs.append(str(built))
            else:
                specs.append(f"{pkg.name}=={pkg.version}")  # uv says why not
        return specs, problems

    # -- build ----------------------------------------------------------------------------------------
    def build(self, pkg: PlannedPackage) -> Path | str:
        """The wheel of an sdist pin built with the plan's build pins in the box, or why it failed (raised as
        _Failed) or could not be tried (returned)."""
        if pkg.name in self.wheels:
            return self.wheels[pkg.name]
        if pkg.name in self.building:
            raise _Failed("build", f"{pkg.name} {pkg.version}: its build pins need itself (a build cycle)")
        where = f"{pkg.name} {pkg.version}"
        if pkg.artifact is None:
            raise _Failed("build", f"{where}: the lock names no sdist file")
        file = next((f for f in self.index.project(pkg.name, undated=True).files
                     if f.filename == pkg.artifact.filename), None)
        if file is None:
            raise _Failed("build", f"{where}: the index no longer lists {pkg.artifact.filename}")
        build_pins = self.closure(pkg.pin.build_requires)

        def plan_pins(_system: BuildSystem) -> tuple[list[str], str]:
            specs, problems = self.specs(build_pins, self.build)
            if problems:
                raise _NotTried(f"{where}: not built: " + "; ".join(problems))
            return specs, ", ".join(f"{p.name} {p.version}" for p in build_pins) or "no build pins"

        self.building.add(pkg.name)
        try:
            return self._build(pkg, file, plan_pins)
        finally:
            self.building.discard(pkg.name)

    def build_nixpkgs(self, pkg: PlannedPackage) -> Path | str:
        """A nixpkgs pin the index has no wheel of, built from its sdist of that version. nixpkgs' build pins
        are not in the plan: the sdist's ``[build-system]`` is resolved to the newest wheels for the host (as
        the metadata hook's are). Failing here is not the version set's fault: it is said as not tried."""
        where = f"{pkg.name} {pkg.version}"
        file = next((f for f in self.index.project(pkg.name, undated=True).files
                     if f.kind == "sdist" and str(f.version) == pkg.version), None)
        if file is None:
            return (f"{where}: nixpkgs builds it; the index has neither a wheel of it for CPython "
                    f"{self.python.minor} on this host nor an sdist")

        used: list[str] = []

        def newest(system: BuildSystem) -> tuple[list[str], str]:
            from nixgen.errors import NixgenError
            from nixgen.pypi.buildmeta import build_wheels

            try:
                wheels = build_wheels(self.index, file.filename, list(system.requires), self.python)
            except NixgenError as err:
                raise _NotTried(f"{where}: nixpkgs builds it; its build requirements did not resolve here: "
                                f"{err.message}") from None
            named = self.work / f"build-{pkg.name}" / "requirements"
            named.mkdir(parents=True, exist_ok=True)
            paths = []
            for filename, path in wheels:  # uv needs the wheel's own name; the cache names files by hash
                link = box.inside(named, filename)
                link.unlink(missing_ok=True)
                link.symlink_to(path)
                paths.append(str(link))
            used.append(", ".join(" ".join(f.split("-")[:2]) for f, _ in wheels) or "none")
            return paths, f"the newest build requirements, not nixpkgs' own: {used[-1]}"

        try:
            built = self._build(pkg, file, newest)
        except _Failed as err:
            return f"{where}: nixpkgs builds it; building its sdist here failed: {err.reason}"
        except _NotTried as err:
            return str(err)
        self.notes.append(f"{where}: nixpkgs builds it and the index has no wheel of it; built here from its sdist "
                          f"with the newest build requirements ({used[-1] if used else 'none'}), not nixpkgs' own")
        return built

    def _build(self, pkg: PlannedPackage, file: DistFile,
               requirements: Callable[[BuildSystem], tuple[list[str], str]]) -> Path | str:
        """Build ``file`` (an sdist) in the box with a build venv holding what ``requirements`` names for its
        ``[build-system]`` (uv specs or wheel paths, and their description)."""
        if pkg.name in self.wheels:
            return self.wheels[pkg.name]
        where = f"{pkg.name} {pkg.version}"
        if self.boxing.isolation is None:
            return (f"{where}: not built: this machine cannot box package code "
                    f"({self.boxing.why}); --allow-unboxed-builds builds it anyway")
        work = self.work / f"build-{pkg.name}"
        work.mkdir(parents=True, exist_ok=True)
        try:
            source = unpack_sdist(self.index.artifact(file), work / "src")
            system = read_build_system(source, file.filename)
        except BackendFailed as err:
            raise _Failed("build", err.message) from None
        specs, described = requirements(system)
        venv = work / "venv"
        made = self.uv.venv(venv, self.python)
        if made.returncode != 0:
            raise _Failed("build", f"{where}: uv venv failed:\n{tail(made.stderr)}")
        if specs:
            got = self.uv.install(venv, specs)
            if got.returncode != 0:
                raise _Failed("build", f"{where}: its build pins did not install:\n{tail(got.stderr)}")
        (work / "wheel").mkdir(exist_ok=True)
        spec = {"hook": "wheel", "source": str(source), "backend": system.backend,
                "backend_path": list(system.backend_path), "site": "", "metadata_dir": "",
                "wheel_dir": str(work / "wheel"), "answer": str(work / "answer.json")}
        (work / "runner.py").write_text(RUNNER)
        (work / "spec.json").write_text(json.dumps(spec))
        ran = self.boxed([str(venv / "bin" / "python"), "-I", str(work / "runner.py"), str(work / "spec.json")],
                         work, source)
        if ran.timed_out:
            raise _Failed("build", f"{where}: its build did not finish within {self.boxing.limits.timeout:g} s")
        if ran.returncode != 0:
            missing = missing_native(ran.stderr + "\n" + ran.stdout)
            if missing is not None:
                native = sorted({*pkg.recipe.native_build_inputs, *pkg.recipe.build_inputs,
                                 *pkg.recipe.nixpkgs_inputs})
                given = f"; the flake gives it {', '.join(native)}" if native else ""
                raise _NotTried(f"{where}: not built: it needs a native library the host lacks ({missing}){given}")
            raise _Failed("build", f"{where}: build_wheel failed (with {described}):\n"
                                   f"{tail(ran.stderr) or f'exit status {ran.returncode}'}")
        try:
            answer = json.loads(box.read_inside(work, "answer.json", 1 << 20))
            wheel = box.inside(work / "wheel", str(answer["wheel"]))
        except (ValueError, OSError, KeyError, TypeError) as err:
            raise _Failed("build", f"{where}: its backend named no wheel it built: {err}") from None
        self.wheels[pkg.name] = wheel
        return wheel

    def boxed(self, argv: Sequence[str], work: Path, cwd: Path) -> box.BoxRun:
        isolation = self.boxing.isolation or "unboxed"
        return box.run(argv, python=self.python.path, work=work, cwd=cwd, read_only=[Path(self.python.prefix)],
                       isolation=isolation, limits=self.boxing.limits)

    # -- import ---------------------------------------------------------------------------------------
    def import_names(self, venv: Path, name: str) -> list[str]:
        """The import names of the installed project ``name``: its ``top_level.txt``, else the top-level
        modules and packages its ``RECORD`` lists."""
        for site in sorted(venv.glob("lib/python*/site-packages")):
            for info in sorted(site.glob("*.dist-info")):
                project = info.name[: -len(".dist-info")].rsplit("-", 1)[0]
                if canonicalize_name(project) != name:
                    continue
                top = info / "top_level.txt"
                if top.is_file():
                    names = [n.strip().replace("/", ".") for n in top.read_text("utf-8", "replace").splitlines()]
                    return sorted({n for n in names if n and _module_name(n)})
                return record_modules(info / "RECORD")
        return []


# What a build says when the host lacks a native library or its tools (C headers, -l libraries, pkg-config
# packages, foo-config scripts): the host's gap, not the version set's.
_MISSING_NATIVE = (
    re.compile(r"fatal error: ([\w./+-]+\.h(?:pp)?): No such file or directory"),
    re.compile(r"cannot find -l([\w.+-]+)"),
    re.compile(r"Package '?([\w.+-]+)'?,? (?:was not found in the pkg-config search path|not found)"),
    re.compile(r"([\w.+-]+-config): (?:command )?not found"),
    re.compile(r"Could not find ([\w.+-]+-config)"),
)


def missing_native(output: str) -> str | None:
    """The native header, library or tool a failed build's output says is missing, or None."""
    for pattern in _MISSING_NATIVE:
        match = pattern.search(output)
        if match is not None:
            return match.group(0).strip()
    return None


class _Failed(Exception):
    def __init__(self, step: SmokeStep, reason: str) -> None:
        super().__init__(reason)
        self.step = step
        self.reason = reason


class _NotTried(Exception):
    pass


def _module_name(name: str) -> bool:
    return all(part.isidentifier() for part in name.split("."))


def record_modules(record: Path) -> list[str]:
    """Top-level import names from a wheel's RECORD (PEP 376/627): ``x.py`` and ``x.*.so`` files and
    directories holding Python files, not ``.dist-info``, ``.data`` or files outside the site directory."""
    found: set[str] = set()
    try:
        lines = record.read_text("utf-8", "replace").splitlines()
    except OSError:
        return []
    for line in lines:
        path = line.split(",", 1)[0]
        parts = Path(path).parts
        if not parts or parts[0] in ("..", "__pycache__") or parts[0].endswith((".dist-info", ".data")):
            continue
        if len(parts) == 1:
            stem = parts[0].split(".", 1)[0]
            if parts[0].endswith((".py", ".so", ".pyd")) and stem.isidentifier():
                found.add(stem)
        elif path.endswith((".py", ".so", ".pyd")) and parts[0].isidentifier():
            found.add(parts[0])
    return sorted(found)


def _import_reason(module: str, traceback: str) -> str:
    """``import x: Error: message``, then where it was raised (the traceback's last frame)."""
    lines = [line for line in traceback.strip().splitlines() if line.strip()]
    error = lines[-1] if lines else "failed"
    frames = [i for i, line in enumerate(lines) if line.lstrip().startswith("File ")]
    where = "\n".join("  " + line.strip() for line in lines[frames[-1]:frames[-1] + 2]) if frames else ""
    return f"import {module}: {error}" + (f"\n{where}" if where else "")


def nixpkgs_difference(line: str, plan: Plan) -> str | None:
    """Is a ``pip check`` line about a way nixpkgs builds a package differently from its upstream metadata?
    An upstream pin nixpkgs relaxes (listed in the plan), or a dependency nixpkgs' recipe of a nixpkgs pin
    does not have (the plan's edges are nixpkgs'): then the sentence to note, else None."""
    names = re.findall(r"`([^`]+)`", line)
    if len(names) < 2:
        return None
    parent = canonicalize_name(names[0])
    try:
        child = canonicalize_name(Requirement(names[1]).name)
    except InvalidRequirement:
        return None
    if any(canonicalize_name(r.parent) == parent and canonicalize_name(r.child) == child for r in plan.relaxations):
        return f"{line} (an upstream pin nixpkgs relaxes)"
    pkg = plan.package(parent)
    if pkg is not None and pkg.provider == "nixpkgs" and child not in pkg.pin.dependencies:
        return f"{line} (nixpkgs' {parent} does not depend on {child})"
    return None


def smoke(plan: Plan, *, index: Index, index_urls: Sequence[str], work: Path, cache_dir: Path,
          offline: bool = False, timeout: float = 600.0, allow_unboxed: bool = False,
          uv: str | None = None) -> SmokeResult:
    """The smoke pre-flight of one plan on this host (see the module docstring); never raises for what the
    packages do: each step's verdict carries the reason."""
    host = host_system()
    if plan.system != host:
        return _not_tried(plan, f"not tried: {plan.system} is not the host's system ({host})")
    minor = ".".join(plan.python_version.split(".")[:2])
    python = find_interpreter(minor)
    if python is None:
        return _not_tried(plan, f"not tried: no CPython {minor} on this host (looked in "
                                f"{os.environ.get('PYENV_ROOT') or '$HOME/.pyenv'}/versions and for python{minor} "
                                "on PATH)")
    beside = Path(sys.executable).parent / "uv"  # installed with nixgen (pip install uv)
    uv = uv or shutil.which("uv") or (str(beside) if beside.is_file() else None)
    if uv is None:
        return _not_tried(plan, "not tried: uv is not on PATH (pip install uv)", python.path)
    isolation, why = box.probe()
    if isolation is None and allow_unboxed:
        isolation = "unboxed"
    run = _Run(plan, index, _Uv(uv, index_urls, cache_dir, offline, timeout), python, work,
               _Box(isolation, why, box.Limits(timeout=timeout)))
    label = f"CPython {python.version} ({python.path})"
    notes = [f"host {label} for the target's Python {plan.python_version}"] if python.version != \
        plan.python_version else []
    steps: list[StepResult] = []

    def finish() -> SmokeResult:
        done = {s.step for s in steps}
        rest = [StepResult(s, "not tried", "an earlier step failed") for s in SMOKE_STEPS if s not in done]
        order = {s: i for i, s in enumerate(SMOKE_STEPS)}
        return SmokeResult(plan.system, plan.python_version, label,
                           tuple(sorted([*steps, *rest], key=lambda s: order[s.step])),
                           tuple(run.not_tried), tuple([*notes, *run.notes]))

    venv = work / "venv"
    made = run.uv.venv(venv, python)
    if made.returncode != 0:
        steps.append(StepResult("install", "failed", f"uv venv failed:\n{tail(made.stderr)}"))
        return finish()
    runtime = [p for p in plan.packages if p.runtime]
    sdists = [p for p in plan.packages if p.provider == "sdist"]
    # build: every sdist of the plan (runtime ones are installed below; build-only ones serve other builds)
    build_problems: list[str] = []
    for sdist in sdists:
        try:
            built = run.build(sdist)
        except _Failed as err:
            steps.append(StepResult("build", "failed", err.reason, tuple(f"{p.name} {p.version}" for p in sdists)))
            return finish()
        except _NotTried as err:
            built = str(err)
        if isinstance(built, str):
            build_problems.append(built)
    built_names = tuple(f"{p.name} {p.version}" for p in sdists if p.name in run.wheels)
    if not sdists:
        steps.append(StepResult("build", "passed", "the plan builds no sdist"))
    elif build_problems:
        run.not_tried += build_problems
        steps.append(StepResult("build", "not tried" if not built_names else "passed", "; ".join(build_problems),
                                built_names))
    else:
        steps.append(StepResult("build", "passed", "", built_names))
    # install: the runtime pins (built sdists as their wheels)
    def built_or_skip(pkg: PlannedPackage) -> Path | str:
        return run.wheels.get(pkg.name) or f"{pkg.name} {pkg.version}: its sdist was not built"
    specs, problems = run.specs(runtime, built_or_skip)  # an index that cannot list a pin's files: its error
    run.not_tried += [p for p in problems if p not in run.not_tried]
    not_installed = {p.split(" ", 1)[0] for p in problems}
    installed = tuple(f"{p.name} {p.version}" for p in runtime if p.name not in not_installed)
    if specs:
        got = run.uv.install(venv, specs)
        if got.returncode != 0:
            steps.append(StepResult("install", "failed", tail(got.stderr) or f"uv exit status {got.returncode}",
                                    installed))
            return finish()
    steps.append(StepResult("install", "passed" if specs or not problems else "not tried", "; ".join(problems),
                            installed))
    # check
    checked = run.uv.check(venv)
    if checked.returncode == 0:
        steps.append(StepResult("check", "passed", tail(checked.stdout + checked.stderr, 1)))
    else:
        lines = [ln.strip() for ln in (checked.stdout + "\n" + checked.stderr).splitlines()
                 if "`" in ln or "requires" in ln]
        skipped = {p.split(" ", 1)[0] for p in problems}
        real = []
        for ln in lines:
            difference = nixpkgs_difference(ln, plan)
            if difference is not None:
                run.notes.append(f"pip check: {difference}")
            elif any(f"`{s}`" in ln.lower() for s in skipped):
                run.notes.append(f"pip check: {ln} (not installed: see not tried)")
            else:
                real.append(ln)
        if real or not lines:
            steps.append(StepResult("check", "failed", "\n".join(real) or tail(checked.stderr)))
            return finish()
        steps.append(StepResult("check", "passed", "only where nixpkgs differs from upstream metadata (see notes)"))
    # import
    modules: list[str] = []
    missing: list[str] = []
    for root in plan.roots:
        pkg = plan.package(root)
        if pkg is None or any(pr.startswith(f"{root} ") for pr in problems):
            continue
        names = run.import_names(venv, root)
        if names:
            modules += names
        else:
            missing.append(root)
    if missing:
        run.not_tried.append(f"no import names found for {', '.join(missing)} (no top_level.txt, no modules in "
                             "RECORD)")
    if not modules:
        steps.append(StepResult("import", "not tried", "no root with import names"))
        return finish()
    if run.boxing.isolation is None:
        steps.append(StepResult("import", "not tried", f"this machine cannot box package code ({why}); "
                                "--allow-unboxed-builds imports anyway", tuple(modules)))
        return finish()
    (work / "importer.py").write_text(IMPORTER)
    ran = run.boxed([str(venv / "bin" / "python"), "-I", str(work / "importer.py"), json.dumps(modules)],
                    work, work)
    try:
        failed: dict[str, str] = json.loads(ran.stdout.strip().splitlines()[-1]) if ran.stdout.strip() else {}
    except ValueError:
        failed = {}
        ran = box.BoxRun(ran.returncode or 1, ran.stdout, ran.stderr, ran.timed_out)
    if ran.timed_out:
        steps.append(StepResult("import", "failed", f"importing did not finish within {timeout:g} s",
                                tuple(modules)))
    elif failed:
        reason = "\n".join(_import_reason(m, tb) for m, tb in sorted(failed.items()))
        steps.append(StepResult("import", "failed", reason, tuple(modules)))
    elif ran.returncode != 0:
        steps.append(StepResult("import", "failed", tail(ran.stderr) or f"exit status {ran.returncode}",
                                tuple(modules)))
    else:
        steps.append(StepResult("import", "passed", "", tuple(modules)))
    return finish()


def smoke_lock(plans: Sequence[Plan], *, index: Index, index_urls: Sequence[str], cache_dir: Path,
               offline: bool = False, timeout: float = 600.0, allow_unboxed: bool = False,
               keep: Path | None = None) -> list[SmokeResult]:
    """:func:`smoke` for each plan, each in its own throwaway directory (under ``keep`` when given)."""
    results = []
    for plan in plans:
        if keep is not None:
            work = keep / f"smoke-{plan.system}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            results.append(smoke(plan, index=index, index_urls=index_urls, work=work, cache_dir=cache_dir,
                                 offline=offline, timeout=timeout, allow_unboxed=allow_unboxed))
            continue
        with tempfile.TemporaryDirectory(prefix="nixgen-smoke-") as tmp:
            results.append(smoke(plan, index=index, index_urls=index_urls, work=Path(tmp), cache_dir=cache_dir,
                                 offline=offline, timeout=timeout, allow_unboxed=allow_unboxed))
    return results
