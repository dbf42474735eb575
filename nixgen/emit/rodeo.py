"""Rodeo results as Markdown, as one self-contained HTML page, and the matrix as a GitHub Actions workflow."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from nixgen import __version__
from nixgen.emit.flake import _environment
from nixgen.rodeo import Cell, Matrix

# GitHub-hosted runners per Nix system (x86_64-darwin: the last Intel macOS image).
RUNNERS = {"x86_64-linux": "ubuntu-latest", "aarch64-linux": "ubuntu-24.04-arm",
           "aarch64-darwin": "macos-latest", "x86_64-darwin": "macos-13"}


def _columns(cells: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted({(c["python"], c["system"]) for c in cells})


def render_markdown(data: dict[str, Any]) -> str:
    """A table for a README or a PR comment: one row per set, one column per Python x system."""
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
            mark = "✅" if c["status"] in ("generated", "built", "imports ok") else (
                "🟡" if c["status"] == "resolved" else "❌")
            text = f"{mark} {c['status']}"
            if c["failed_stage"]:
                text = f"{mark} failed at {c['failed_stage']}"
            if c["predicted_minutes"] is not None:
                text += f" ({c['predicted_minutes']:g} min)"
            row.append(text)
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    failures = [c for c in cells if c["status"] == "failed"]
    if failures:
        lines += ["", "Failures:", ""]
        for c in failures:
            error = " ".join(c["error"].split())[:300]
            lines.append(f"- {c['set']} py{c['python']} {c['system']}: {error}")
    if not data.get("complete", True):
        lines += ["", "_Interrupted: only the cells that finished are shown._"]
    return "\n".join(lines) + "\n"


def render_html(data: dict[str, Any]) -> str:
    """One page, no network needed: the matrix as a grid coloured by outcome, each cell opening to details."""
    cells = data["cells"]
    columns = _columns(cells)
    by_key = {(c["set"], c["python"], c["system"]): c for c in cells}
    sets = list(dict.fromkeys(c["set"] for c in cells))
    rows = [{"name": s, "cells": [by_key.get((s, p, sy)) for p, sy in columns]} for s in sets]
    counts = sorted(Counter(c["status"] for c in cells).items())
    return _environment(html=True).get_template("rodeo.html.j2").render(
        name=data["matrix"], results=cells, columns=[f"py{p} {s}" for p, s in columns], rows=rows,
        counts=counts, complete=data.get("complete", True))


def render_workflow(matrix: Matrix, matrix_file: str, install: str = "nixgen", timeout_minutes: int = 120) -> str:
    """A GitHub Actions workflow whose ``strategy.matrix`` has exactly the matrix's cells."""
    cells: Sequence[Cell] = matrix.cells
    return _environment().get_template("rodeo-workflow.yml.j2").render(
        version=__version__, name=matrix.name, matrix_file=matrix_file, cells=cells, runners=RUNNERS,
        install=install, timeout_minutes=timeout_minutes)
