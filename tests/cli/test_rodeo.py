"""The rodeo: a matrix of package sets run in parallel, reported as JSON, Markdown, HTML and a CI workflow."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from nixgen.rodeo import read_matrix
from tests.cli.conftest import nixgen
from tests.indexserver import FixtureIndex

MATRIX = """
[rodeo]
name = "fixture rodeo"
pythons = ["3.13"]
systems = ["x86_64-linux"]

[sets.good]
requirements = ["alpha"]
imports = ["alpha"]

[sets.bad]
requirements = ["no-such-project-nixgen"]

[sets.also-good]
requirements = ["beta"]
systems = ["x86_64-linux", "aarch64-darwin"]
"""


@pytest.fixture()
def index(tmp_path: Path, make_index_server: Any) -> Any:
    fixture = FixtureIndex(tmp_path / "index")
    fixture.add_wheel("alpha", "1.0")
    fixture.add_wheel("beta", "2.0")
    fixture.add_wheel("slow", "1.0")
    return make_index_server(fixture.write())


def rodeo(tmp_path: Path, index: Any, matrix: str,
          *args: Any) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    path = tmp_path / "matrix.toml"
    path.write_text(matrix)
    out = tmp_path / "results.json"
    proc = nixgen("rodeo", path, "--index-url", index.url, "--cache-dir", tmp_path / "cache", "--json", out,
                  "--markdown", tmp_path / "results.md", "--html", tmp_path / "results.html", *args)
    data = json.loads(out.read_text()) if out.exists() else {}
    return proc, data


def test_passing_and_failing_cells_in_json_markdown_and_html(tmp_path: Path, index: Any) -> None:
    proc, data = rodeo(tmp_path, index, MATRIX, "-j", "2")
    assert proc.returncode == 0, proc.stderr
    cells = {(c["set"], c["system"]): c for c in data["cells"]}
    assert set(cells) == {("good", "x86_64-linux"), ("bad", "x86_64-linux"), ("also-good", "x86_64-linux"),
                          ("also-good", "aarch64-darwin")}
    good, bad = cells[("good", "x86_64-linux")], cells[("bad", "x86_64-linux")]
    assert good["status"] == "generated" and good["failed_stage"] is None
    assert good["providers"] == {"wheel": 1} and good["predicted_minutes"] == 0
    assert bad["status"] == "failed" and bad["failed_stage"] == "resolved"
    assert "no project named no-such-project-nixgen on the index" in bad["error"]
    assert cells[("also-good", "aarch64-darwin")]["status"] == "generated"
    md = (tmp_path / "results.md").read_text()
    assert "| good | — | ✅ generated (🟩 0 min) |" in md
    assert "❌ failed at resolved" in md and "no-such-project-nixgen" in md
    # The HTML page, rendered by a real browser: every cell shows its state.
    dom = _browser_dom(tmp_path / "results.html", tmp_path)
    states = dict(re.findall(r'data-cell="([^"]+)" data-state="([^"]+)"', dom))
    assert states == {"good/3.13/x86_64-linux": "generated", "bad/3.13/x86_64-linux": "failed",
                      "also-good/3.13/x86_64-linux": "generated", "also-good/3.13/aarch64-darwin": "generated"}
    assert "<script" not in (tmp_path / "results.html").read_text()  # self-contained, nothing to fetch
    assert "http" not in re.sub(r"<pre>.*?</pre>", "", (tmp_path / "results.html").read_text(), flags=re.S)


def _browser_dom(page: Path, tmp_path: Path) -> str:
    """The page's DOM as headless Chromium builds it."""
    chromium = shutil.which("chromium")
    assert chromium, "chromium is required (Debian package chromium)"
    return subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'chrome'}",
                           "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout


def test_build_minutes_are_coloured_by_band_and_summed_up_per_system(tmp_path: Path, index: Any) -> None:
    # A real cell (every package a wheel: 0 minutes), and the same cell as a CI job would report it for a set
    # whose plan compiles for 40 and for 55 minutes (rodeo-merge reads such per-job results).
    proc, data = rodeo(tmp_path, index, MATRIX, "--only", "good/3.13/x86_64-linux")
    assert proc.returncode == 0, proc.stderr
    [cell] = data["cells"]
    assert cell["predicted_minutes"] == 0
    files = [tmp_path / "cell-0.json"]
    files[0].write_text(json.dumps(data))
    for name, minutes, system in (("gdal-40", 40, "x86_64-linux"), ("gdal-55", 55, "aarch64-linux")):
        other = {**cell, "set": name, "system": system, "predicted_minutes": minutes}
        files.append(tmp_path / f"{name}.json")
        files[-1].write_text(json.dumps({**data, "cells": [other]}))
    html, md = tmp_path / "merged.html", tmp_path / "merged.md"
    merged = nixgen("rodeo-merge", *files, "--html", html, "--markdown", md)
    assert merged.returncode == 0, merged.stderr
    dom = _browser_dom(html, tmp_path)
    classes = dict(re.findall(r'<td class="cell ([^"]+)" data-cell="([^"]+)"', dom)[i][::-1] for i in range(3))
    zero, forty = classes["good/3.13/x86_64-linux"], classes["gdal-40/3.13/x86_64-linux"]
    assert zero != forty
    assert "band-none" in zero.split() and "band-long" in forty.split()
    assert "band-very-long" in classes["gdal-55/3.13/aarch64-linux"].split()
    # Each band has its own colour in the page's style sheet.
    colours = dict(re.findall(r"\.band-([a-z-]+) \{ background: (#[0-9a-f]{6}); \}", html.read_text()))
    assert len(colours) == 4 and len(set(colours.values())) == 4
    # Per system: x86_64-linux has one 0-minute and one 40-minute cell, aarch64-linux one over 40.
    rows = dict(re.findall(r'<tr data-system="([^"]+)">(.*?)</tr>', dom, re.S))
    cells_of = {k: re.findall(r"<td[^>]*>([^<]*)</td>", v) for k, v in rows.items()}
    assert cells_of["x86_64-linux"] == ["2", "1", "0", "1", "0", "40 min"]
    assert cells_of["aarch64-linux"] == ["1", "0", "0", "0", "1", "55 min"]
    text = md.read_text()
    assert "✅ generated (🟩 0 min)" in text and "✅ generated (🟧 40 min)" in text and "(🟥 55 min)" in text
    assert "Predicted build minutes: 🟩 0 min (nothing to build) · 🟨 ≤ 10 min · 🟧 ≤ 40 min · 🟥 > 40 min" in text
    assert "| x86_64-linux | 2 | 1 | 0 | 1 | 0 | 🟧 40 min |" in text


def test_cells_run_in_parallel_and_a_timeout_fails_one_cell(tmp_path: Path, index: Any) -> None:
    # The bound leaves the other cells room on a loaded two-core machine; the slow one hangs well past it.
    index.hang(1, 40, path="/simple/slow/")
    matrix = MATRIX + '\n[sets.slow]\nrequirements = ["slow"]\n'
    start = time.monotonic()
    proc, data = rodeo(tmp_path, index, matrix, "-j", "4", "--timeout", "15")
    wall = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    by_set = {(c["set"], c["system"]): c for c in data["cells"]}
    slow = by_set[("slow", "x86_64-linux")]
    assert slow["status"] == "failed" and slow["error"] == "timed out after 15 s"
    assert by_set[("good", "x86_64-linux")]["status"] == "generated"
    assert sum(c["seconds"] for c in data["cells"]) > wall


def test_github_actions_workflow_has_exactly_the_matrix_cells(tmp_path: Path) -> None:
    path = tmp_path / "matrix.toml"
    path.write_text(MATRIX)
    out = tmp_path / "rodeo.yml"
    proc = nixgen("rodeo", path, "--github-actions", out)
    assert proc.returncode == 0, proc.stderr
    workflow = yaml.safe_load(out.read_text())
    include = workflow["jobs"]["cell"]["strategy"]["matrix"]["include"]
    expected = {(c.set, c.python, c.system) for c in read_matrix(path).cells}
    assert {(i["set"], i["python"], i["system"]) for i in include} == expected
    assert len(include) == len(expected) == 4
    assert {i["runner"] for i in include} == {"ubuntu-latest", "macos-latest"}
    assert workflow["jobs"]["report"]["needs"] == "cell"


def test_bad_matrix_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "matrix.toml"
    path.write_text('[sets.x]\nrequirements = ["a"]\nsystems = ["riscv64-linux"]\n')
    proc = nixgen("rodeo", path)
    assert proc.returncode == 3
    assert "unknown system 'riscv64-linux'" in proc.stderr and "Traceback" not in proc.stderr
