"""The rodeo: named package sets x Python versions x Nix systems, each cell run through the pipeline.

Each cell runs as its own `nixgen` process (lock → generate → parse with Nix → report; with ``smoke`` also
``nixgen smoke`` of the cell's lock, the pre-flight on a host CPython of :mod:`nixgen.smoke`; with ``build``
also ``nix build`` and the cell's import checks), in a pool of workers with a per-cell timeout. A failing or
timed-out cell never stops the others, and Ctrl-C keeps the cells that finished. Results are JSON (the
contract); Markdown and HTML are rendered from them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nixgen.core.kinds import RODEO_STAGES, RodeoStage, RodeoStatus
from nixgen.errors import InputError
from nixgen.nixcmd import flake_command
from nixgen.resolve.target import SYSTEMS

STAGES: tuple[RodeoStage, ...] = RODEO_STAGES


@dataclass(frozen=True)
class Cell:
    """One package set for one Python on one system."""

    set: str
    python: str
    system: str
    requirements: tuple[str, ...]
    imports: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.set}-py{self.python}-{self.system}"


@dataclass
class CellResult:
    """What happened to a cell: the last stage reached, or where it failed and why."""

    set: str
    python: str
    system: str
    status: RodeoStatus  # the last stage reached, or "failed"
    failed_stage: RodeoStage | None = None
    error: str = ""
    seconds: float = 0.0
    providers: dict[str, int] = field(default_factory=dict)
    states: dict[str, int] = field(default_factory=dict)
    predicted_minutes: float | None = None
    packages: list[dict[str, Any]] = field(default_factory=list)
    smoke: dict[str, Any] | None = None  # ``nixgen smoke --json``'s result for the cell's system (--smoke)


@dataclass(frozen=True)
class Matrix:
    """A parsed matrix file."""

    name: str
    cells: tuple[Cell, ...]


def read_matrix(path: Path) -> Matrix:
    """Read ``[rodeo]`` (pythons, systems) and ``[sets.NAME]`` (requirements, imports; optional per-set
    pythons/systems) from a TOML matrix file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no such matrix file", path=str(path)) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise InputError(f"not a readable TOML matrix: {err}", path=str(path)) from None
    top = data.get("rodeo", {})
    sets = data.get("sets")
    if not isinstance(sets, dict) or not sets:
        raise InputError("the matrix has no [sets.NAME] tables", path=str(path),
                         hint='add e.g. [sets.classic] requirements = ["cartopy", "tensorflow>=2"]')
    cells: list[Cell] = []
    for name, spec in sets.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("requirements"), list):
            raise InputError(f"[sets.{name}] needs a `requirements` list", path=str(path))
        pythons = spec.get("pythons", top.get("pythons", ["3.13"]))
        systems = spec.get("systems", top.get("systems", ["x86_64-linux"]))
        for system in systems:
            if system not in SYSTEMS:
                raise InputError(f"[sets.{name}] names an unknown system {system!r}", path=str(path),
                                 hint=f"systems: {', '.join(sorted(SYSTEMS))}")
        for python in pythons:
            for system in systems:
                cells.append(Cell(name, str(python), system, tuple(map(str, spec["requirements"])),
                                  tuple(map(str, spec.get("imports", [])))))
    return Matrix(str(top.get("name", path.stem)), tuple(cells))


def _nixgen(args: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nixgen", *args], capture_output=True, text=True,
                          timeout=timeout)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    return "\n".join(lines[lines.index(errors[0]):]) if errors else (lines[-1] if lines else "")


def run_cell(cell: Cell, workdir: Path, common: Sequence[str], timeout: float, build: bool,
             smoke: bool = False) -> CellResult:
    """Run one cell through the stages; any failure is recorded, never raised."""
    start = time.monotonic()
    result = CellResult(cell.set, cell.python, cell.system, status="failed")
    cell_dir = workdir / cell.id
    cell_dir.mkdir(parents=True, exist_ok=True)
    req = cell_dir / "requirements.txt"
    req.write_text("".join(f"{r}\n" for r in cell.requirements))
    lock = cell_dir / "pylock.toml"
    deadline = start + timeout

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise subprocess.TimeoutExpired("nixgen", timeout)
        return remaining

    stage: RodeoStage = "resolved"
    try:
        target = ["--python", cell.python, "--system", cell.system]
        proc = _nixgen(["lock", str(req), "-o", str(lock), "-q", *target, *common], left())
        if proc.returncode != 0:
            raise _StageFailed(_last_line(proc.stderr))
        result.status = "resolved"
        stage = "generated"
        flake = cell_dir / "flake.nix"
        proc = _nixgen(["generate", str(lock), "-o", str(flake), "-q"], left())
        if proc.returncode != 0:
            raise _StageFailed(_last_line(proc.stderr))
        nix = shutil.which("nix-instantiate")
        if nix is not None:
            parsed = subprocess.run([nix, "--parse", str(flake)], capture_output=True, text=True, timeout=left())
            if parsed.returncode != 0:
                raise _StageFailed(_last_line(parsed.stderr))
        report = _nixgen(["report", str(lock), "--json", "-q"], left())
        if report.returncode == 0:
            data = json.loads(report.stdout)["systems"][0]
            result.states = {k: v for k, v in data["totals"].items() if k != "estimated-minutes"}
            result.predicted_minutes = data["totals"]["estimated-minutes"]
            result.packages = [{k: p[k] for k in ("name", "version", "provider", "status")}
                               for p in data["packages"]]
            for p in data["packages"]:
                result.providers[p["provider"]] = result.providers.get(p["provider"], 0) + 1
        result.status = "generated"
        if smoke:
            stage = "smoke"
            if _smoke(result, lock, common, left):
                result.status = "smoke"
        if build:
            stage = "built"
            _build(cell, cell_dir, left)
            result.status = "built"
            if cell.imports:
                stage = "imports ok"
                _imports(cell, cell_dir, left)
                result.status = "imports ok"
    except _StageFailed as err:
        result.status, result.failed_stage, result.error = "failed", stage, str(err)
    except subprocess.TimeoutExpired:
        result.status, result.failed_stage = "failed", stage
        result.error = f"timed out after {timeout:g} s"
    result.seconds = round(time.monotonic() - start, 2)
    return result


class _StageFailed(Exception):
    pass


def _smoke(result: CellResult, lock: Path, common: Sequence[str], left: Callable[[], float]) -> bool:
    """``nixgen smoke`` of the cell's lock: True when it passed; False when something could not be tried (the
    result keeps what and why); a failed smoke raises with the failed steps' reasons."""
    proc = _nixgen(["smoke", str(lock), "--json", "-q", "--system", result.system, *common], left())
    try:
        data = json.loads(proc.stdout)
        mine = data["systems"][0]
        result.smoke = {"scope": data["scope"], **mine}
    except (ValueError, KeyError, IndexError, TypeError):
        raise _StageFailed(_last_line(proc.stderr) or f"nixgen smoke: exit status {proc.returncode}") from None
    if mine["outcome"] == "failed":
        raise _StageFailed("\n".join(f"{s['step']}: {s['reason']}" for s in mine["steps"]
                                     if s["verdict"] == "failed"))
    return bool(mine["outcome"] == "passed")


def _nix_cmd() -> list[str]:
    nix = flake_command()
    if nix is None:
        raise _StageFailed("--build needs Nix (nix) on PATH")
    return nix


def _build(cell: Cell, cell_dir: Path, left: Callable[[], float]) -> None:
    proc = subprocess.run([*_nix_cmd(), "build", "--no-link", f"path:{cell_dir}#packages.{cell.system}.default"],
                          capture_output=True, text=True, timeout=left())
    if proc.returncode != 0:
        raise _StageFailed(_last_line(proc.stderr) or "nix build failed")


def _imports(cell: Cell, cell_dir: Path, left: Callable[[], float]) -> None:
    code = "; ".join(f"import {m}" for m in cell.imports)
    proc = subprocess.run([*_nix_cmd(), "shell", f"path:{cell_dir}#packages.{cell.system}.default", "-c",
                           "python", "-c", code], capture_output=True, text=True, timeout=left())
    if proc.returncode != 0:
        raise _StageFailed(_last_line(proc.stderr) or "an import failed")


def run_matrix(matrix: Matrix, workdir: Path, common: Sequence[str], *, jobs: int, timeout: float,
               build: bool, on_result: Callable[[CellResult], None] | None = None,
               smoke: bool = False) -> tuple[list[CellResult], bool]:
    """Run every cell, ``jobs`` at a time; returns the results in matrix order and whether all ran."""
    results: dict[str, CellResult] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    futures: dict[Future[CellResult], Cell] = {
        pool.submit(run_cell, c, workdir, common, timeout, build, smoke): c for c in matrix.cells}
    complete = True
    try:
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                res = fut.result()
                results[futures[fut].id] = res
                if on_result is not None:
                    on_result(res)
    except KeyboardInterrupt:
        complete = False
        for fut in futures:
            fut.cancel()
    finally:
        pool.shutdown(wait=complete, cancel_futures=not complete)
    ordered = [results[c.id] for c in matrix.cells if c.id in results]
    return ordered, complete


def results_json(matrix: Matrix, results: Sequence[CellResult], complete: bool) -> str:
    """The contract: every finished cell with its outcome, stable order and keys."""
    data = {"matrix": matrix.name, "complete": complete, "stages": list(STAGES),
            "cells": [asdict(r) for r in results]}
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
