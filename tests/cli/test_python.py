"""Old pins and the nixpkgs interpreters: say which Python a pin needs; choose one only with --python auto."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import nixgen
from tests.indexserver import FixtureIndex


@pytest.fixture()
def index(tmp_path: Path, make_index_server: Any) -> Any:
    fixture = FixtureIndex(tmp_path / "index")
    fixture.add_wheel("oldpin-nixgen", "1.0", tag="cp312-cp312-manylinux_2_17_x86_64")
    fixture.add_wheel("ancient-nixgen", "1.0", requires_python="<3.8")
    return make_index_server(fixture.write())


def run(tmp_path: Path, index: Any, text: str, *args: str) -> Any:
    req = tmp_path / "requirements.txt"
    req.write_text(text)
    return nixgen(req, "--index-url", index.url, "--cache-dir", tmp_path / "cache", *args)


def test_a_pin_for_an_older_python_names_the_python_that_works(tmp_path: Path, index: Any) -> None:
    proc = run(tmp_path, index, "oldpin-nixgen==1.0\n")
    assert proc.returncode == 7
    assert "these requirements do resolve for Python 3.12 (nixpkgs python312" in proc.stderr
    assert "pass --python 3.12, or --python auto" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_python_auto_chooses_it(tmp_path: Path, index: Any) -> None:
    proc = run(tmp_path, index, "oldpin-nixgen==1.0\n", "--python", "auto", "-q")
    assert proc.returncode == 0, proc.stderr
    assert "--python auto chose 3.12" in proc.stdout
    assert "pkgs.python312.withPackages" in proc.stdout


def test_a_pin_no_nixpkgs_python_satisfies(tmp_path: Path, index: Any) -> None:
    proc = run(tmp_path, index, "ancient-nixgen==1.0\n")
    assert proc.returncode == 7
    assert "requires Python <3.8" in proc.stderr
    assert "no other nixpkgs interpreter resolves them either (python311 3.11.15" in proc.stderr
