"""Rodeo results as Markdown, as one self-contained HTML page, and the matrix as a GitHub Actions workflow."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from nixgen import __version__
from nixgen.emit.flake import _environment
from nixgen.rodeo import Cell, Matrix

# GitHub-hosted runners per Nix system (x86_64-darwin: the last Intel macOS image).
RUNNERS = {"x86_64-linux": "ubuntu-latest", "aarch64-linux": "ubuntu-24.04-arm",
           "aarch64-darwin": "macos-latest", "x86_64-darwin": "macos-13"}


BandName = Literal["none", "short", "long", "very-long"]


@dataclass(frozen=True)
class Band:
    """A colour band of predicted build minutes: up to ``upto`` minutes (None: no upper bound)."""

    name: BandName
    upto: float | None
    label: str
    mark: str  # for Markdown, where there are no colours


# The seed's point: a 0-minute cell (all from the binary cache) and a 40-minute GDAL compile must not look alike.
BANDS: tuple[Band, ...] = (
    Band("none", 0, "0 min (nothing to build)", "🟩"),
    Band("short", 10, "≤ 10 min", "🟨"),
    Band("long", 40, "≤ 40 min", "🟧"),
    Band("very-long", None, "> 40 min", "🟥"),
)


def minutes_band(minutes: float | None) -> Band | None:
    """The band of a cell's predicted build minutes; None when the cell has no prediction."""
    if minutes is None:
        return None
    return next(b for b in BANDS if b.upto is None or minutes <= b.upto)


def _per_system(cells: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per Nix system: how many cells fall in each band, and the largest prediction."""
    rows = []
    for system in sorted({c["system"] for c in cells}):
        mine = [c for c in cells if c["system"] == system]
        predicted = [c["predicted_minutes"] for c in mine if c["predicted_minutes"] is not None]
        counts = Counter(b.name for b in (minutes_band(c["predicted_minutes"]) for c in mine) if b is not None)
        most = max(predicted) if predicted else None
        rows.append({"system": system, "cells": len(mine), "counts": [counts.get(b.name, 0) for b in BANDS],
                     "most": most, "band": minutes_band(most)})
    return rows


def _columns(cells: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted({(c["python"], c["system"]) for c in cells})


def render_markdown(data: dict[str, Any]) -> str:
    """A table for a README or a PR comment: one row per set, one column per Python x system, each cell with
    its band of predicted build minutes; then a legend and the bands per system."""
    cells = data["cells"]
    columns = _columns(cells)
    by_key = {(c["set"], c["python"], c["system"]): c for c in cells}
    sets = list(dict.fromkeys(c["set"] for c in cells))
    lines = [f"### Rodeo: {data['matrix']}", "",
             "| set | " + " | ".join(f"py{p} {s}" for p, s in columns) + " |",
             "|---|" + "---|" * len(columns)]
    for name in sets:
        row = []
        for python, system in columns:
            c = by_key.get((name, python, system))
            if c is None:
                row.append("—")  # not in the matrix
                continue
            mark = "✅" if c["status"] in ("generated", "smoke", "built", "imports ok") else (
                "🟡" if c["status"] == "resolved" else "❌")
            text = f"{mark} {c['status']}"
            if c["failed_stage"]:
                text = f"{mark} failed at {c['failed_stage']}"
            band = minutes_band(c["predicted_minutes"])
            if band is not None:
                text += f" ({band.mark} {c['predicted_minutes']:g} min)"
            smoke = c.get("smoke")
            if smoke is not None and c["failed_stage"] != "smoke" and c["status"] != "smoke":
                text += f" · smoke {smoke['outcome']}"
            row.append(text)
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    lines += ["", "Predicted build minutes: " + " · ".join(f"{b.mark} {b.label}" for b in BANDS), "",
              "| system | cells | " + " | ".join(b.mark for b in BANDS) + " | most |",
              "|---|---|" + "---|" * len(BANDS) + "---|"]
    for r in _per_system(cells):
        most = "—" if r["band"] is None else f"{r['band'].mark} {r['most']:g} min"
        lines.append(f"| {r['system']} | {r['cells']} | " + " | ".join(map(str, r["counts"])) + f" | {most} |")
    failures = [c for c in cells if c["status"] == "failed"]
    if failures:
        lines += ["", "Failures:", ""]
        for c in failures:
            error = " ".join(c["error"].split())[:300]
            lines.append(f"- {c['set']} py{c['python']} {c['system']}: {error}")
    smoked = [c for c in cells if c.get("smoke") is not None]
    if smoked:
        lines += ["", f"Smoke ({smoked[0]['smoke']['scope']}):", ""]
        for c in smoked:
            sm = c["smoke"]
            steps = ", ".join(f"{s['step']} {s['verdict']}" for s in sm["steps"])
            lines.append(f"- {c['set']} py{c['python']} {c['system']}: {sm['outcome']} ({steps})")
            lines += [f"  - not tried: {' '.join(w.removeprefix('not tried: ').split())[:300]}"
                      for w in sm["not-tried"]]
    if not data.get("complete", True):
        lines += ["", "_Interrupted: only the cells that finished are shown._"]
    return "\n".join(lines) + "\n"


def render_html(data: dict[str, Any]) -> str:
    """One page, no network needed: the matrix as a grid coloured by outcome — a cell that generated is coloured
    by its band of predicted build minutes — each cell opening to details, then the bands per system."""
    cells = data["cells"]
    columns = _columns(cells)
    by_key = {(c["set"], c["python"], c["system"]): c for c in cells}
    sets = list(dict.fromkeys(c["set"] for c in cells))
    rows = [{"name": s, "cells": [by_key.get((s, p, sy)) for p, sy in columns]} for s in sets]
    bands = {id(c): minutes_band(c["predicted_minutes"]) for c in cells}
    counts = sorted(Counter(c["status"] for c in cells).items())
    return _environment(html=True).get_template("rodeo.html.j2").render(
        name=data["matrix"], results=cells, columns=[f"py{p} {s}" for p, s in columns], rows=rows,
        counts=counts, complete=data.get("complete", True), bands=BANDS, band_of=lambda c: bands.get(id(c)),
        per_system=_per_system(cells))


def render_workflow(matrix: Matrix, matrix_file: str, install: str = "nixgen", timeout_minutes: int = 120) -> str:
    """A GitHub Actions workflow whose ``strategy.matrix`` has exactly the matrix's cells."""
    cells: Sequence[Cell] = matrix.cells
    return _environment().get_template("rodeo-workflow.yml.j2").render(
        version=__version__, name=matrix.name, matrix_file=matrix_file, cells=cells, runners=RUNNERS,
        install=install, timeout_minutes=timeout_minutes)
