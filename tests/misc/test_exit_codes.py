"""The exit-code table (nixgen/errors.py): distinct codes, every error class on a row, the README and
``nixgen --help`` saying the same as the code."""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
import sys
from pathlib import Path

from nixgen import errors
from nixgen.errors import EXIT_CODES, ExitCode, NixgenError

ROOT = Path(__file__).resolve().parents[2]


def _readme_table() -> dict[int, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Exit codes\n", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (.+?) \|$", section, re.M)
    return {int(code): meaning for code, meaning in rows}


def test_codes_are_distinct_and_every_code_has_a_meaning() -> None:
    values = [int(code) for code in ExitCode]
    assert len(values) == len(set(values))
    assert set(EXIT_CODES) == set(ExitCode)
    assert (ExitCode.SUCCESS, ExitCode.INTERNAL, ExitCode.USAGE, ExitCode.INTERRUPTED) == (0, 1, 2, 130)


def test_every_error_class_has_its_own_row_and_none_claims_the_bug_code() -> None:
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, NixgenError) and c is not NixgenError]
    assert len(classes) >= 14
    for cls in classes:
        assert cls.exit_code in EXIT_CODES, cls
        assert cls.exit_code not in (ExitCode.SUCCESS, ExitCode.INTERNAL), cls
    by_name = {c.__name__: c.exit_code for c in classes}
    assert by_name["CheckWouldChange"] == 8
    assert by_name["PredictionWrong"] == 9
    assert by_name["NixEvalError"] == 10
    assert by_name["InfeasibleBuild"] == 11


def test_no_code_raises_the_bare_base_class() -> None:
    # A bare NixgenError would exit 1, the code that means "a bug in nixgen".
    for path in (ROOT / "nixgen").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                func = node.exc.func
                assert not (isinstance(func, ast.Name) and func.id == "NixgenError"), f"{path}:{node.lineno}"


def test_the_readme_table_is_the_code_table() -> None:
    assert _readme_table() == {int(code): meaning for code, meaning in EXIT_CODES.items()}


def test_top_level_help_lists_every_code() -> None:
    proc = subprocess.run([sys.executable, "-m", "nixgen", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    listed = dict(re.findall(r"^\s+(\d+)  (.+)$", proc.stdout.split("Exit codes:", 1)[1], re.M))
    assert {int(k): v for k, v in listed.items()} == {int(c): m for c, m in EXIT_CODES.items()}
