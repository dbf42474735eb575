"""One project as requirements.txt, pyproject.toml, uv.lock and poetry.lock: the same pins."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import nixgen
from tests.indexserver import FixtureIndex

PYPROJECT = """\
[project]
name = "demo"
version = "0.1"
requires-python = ">=3.11"
dependencies = ["nixgen-alpha", "nixgen-beta>=2"]

[project.optional-dependencies]
extra = ["nixgen-gamma"]

[dependency-groups]
test = ["nixgen-gamma"]
dev = [{include-group = "test"}]
"""

POETRY_LOCK = """\
[[package]]
name = "nixgen-alpha"
version = "1.0"
description = ""
optional = false
python-versions = "*"
files = []

[[package]]
name = "nixgen-beta"
version = "2.0"
description = ""
optional = false
python-versions = "*"
files = []

[metadata]
lock-version = "2.1"
python-versions = ">=3.11"
content-hash = "0"
"""


@pytest.fixture()
def project(tmp_path: Path, make_index_server: Any) -> tuple[Path, Any]:
    fixture = FixtureIndex(tmp_path / "index")
    fixture.add_wheel("nixgen-alpha", "1.0", upload_time="2024-01-01T00:00:00Z")
    fixture.add_wheel("nixgen-alpha", "1.1", upload_time="2025-06-01T00:00:00Z")
    fixture.add_wheel("nixgen-beta", "2.0", upload_time="2024-01-01T00:00:00Z")
    fixture.add_wheel("nixgen-beta", "2.1", upload_time="2025-06-01T00:00:00Z")
    fixture.add_wheel("nixgen-gamma", "3.0", upload_time="2024-01-01T00:00:00Z")
    server = make_index_server(fixture.write())
    root = tmp_path / "demo"
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "demo").mkdir()
    (root / "demo" / "__init__.py").write_text("")
    (root / "requirements.txt").write_text("nixgen-alpha\nnixgen-beta>=2\n")
    return root, server


def pins(lock_text: str) -> dict[str, str]:
    """Pinned versions from the index (the local project itself, a directory entry, left out)."""
    return {p["name"]: p["version"] for p in tomllib.loads(lock_text)["packages"] if "directory" not in p}


def lock(path: Path, server: Any, tmp_path: Path, *args: str) -> dict[str, str]:
    proc = nixgen("lock", path, "--index-url", server.url, "--cache-dir", tmp_path / "cache", "-q", *args)
    assert proc.returncode == 0, proc.stderr
    return pins(proc.stdout)


def test_four_formats_one_set_of_pins(project: tuple[Path, Any], tmp_path: Path) -> None:
    root, server = project
    then = ("--exclude-newer", "2025-01-01")
    expected = {"nixgen-alpha": "1.0", "nixgen-beta": "2.0"}
    assert lock(root / "requirements.txt", server, tmp_path, *then) == expected
    assert lock(root / "pyproject.toml", server, tmp_path, *then) == expected
    # uv's own lock, made when 1.0 and 2.0 were the newest: nixgen keeps its versions without --exclude-newer.
    uv = shutil.which("uv")
    assert uv, "uv is required (pip install uv)"
    made = subprocess.run([uv, "lock", "--default-index", server.url, "--exclude-newer", "2025-01-01",
                           "--cache-dir", str(tmp_path / "uvcache"), "--directory", str(root)],
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    assert lock(root / "uv.lock", server, tmp_path, "--no-dev") == expected  # uv installs `dev` by default
    assert lock(root / "uv.lock", server, tmp_path) == {**expected, "nixgen-gamma": "3.0"}
    (root / "poetry.lock").write_text(POETRY_LOCK)
    assert lock(root / "poetry.lock", server, tmp_path) == expected
    # Without a lock or a date, the newest releases win: the locks really did hold the versions.
    assert lock(root / "pyproject.toml", server, tmp_path) == {"nixgen-alpha": "1.1", "nixgen-beta": "2.1"}


def test_extras_and_groups(project: tuple[Path, Any], tmp_path: Path) -> None:
    root, server = project
    assert "nixgen-gamma" in lock(root / "pyproject.toml", server, tmp_path, "--extra", "extra")
    assert "nixgen-gamma" in lock(root / "pyproject.toml", server, tmp_path, "--group", "dev")
    bad = nixgen("lock", root / "pyproject.toml", "--group", "nope", "--index-url", server.url, "-q")
    assert bad.returncode == 3 and "no dependency group 'nope'" in bad.stderr


def test_unknown_formats_say_what_was_expected(tmp_path: Path) -> None:
    odd = tmp_path / "Pipfile.lock"
    odd.write_text("{}")
    proc = nixgen(odd)
    assert proc.returncode == 3
    assert "pyproject.toml, pylock.toml, uv.lock or poetry.lock" in proc.stderr


def test_the_project_itself_is_built_from_its_source_tree(project: tuple[Path, Any], tmp_path: Path) -> None:
    from tests.nixcheck import assert_nix_parses
    from tests.nixeval import eval_flake

    root, server = project
    flake = root / "flake.nix"
    proc = nixgen(root / "pyproject.toml", "--index-url", server.url, "--cache-dir", tmp_path / "cache", "-q",
                  "-o", flake, "--extra", "extra")
    assert proc.returncode == 0, proc.stderr
    text = flake.read_text()
    assert_nix_parses(text)
    assert "demo = pyFinal.buildPythonPackage {" in text and "path = ./.;" in text
    summary = {p["pname"]: p for p in eval_flake(text, "packages.x86_64-linux.default.summary", tmp_path)}
    demo = summary["demo"]
    assert demo["origin"] == "nixgen" and demo["version"] == "0.1"
    assert sorted(demo["dependencies"]) == ["nixgen-alpha", "nixgen-beta", "nixgen-gamma"]
    assert demo["build-system"] == ["setuptools"]  # no [build-system]: PEP 517's setuptools default
    lock = nixgen("lock", root / "pyproject.toml", "--index-url", server.url, "--cache-dir", tmp_path / "cache",
                  "-q")
    entry = next(p for p in tomllib.loads(lock.stdout)["packages"] if p["name"] == "demo")
    assert entry["directory"] == {"path": str(root)}


def test_a_flake_written_below_the_project_points_back_at_it(project: tuple[Path, Any], tmp_path: Path) -> None:
    from tests.nixcheck import assert_nix_parses

    root, server = project
    (root / "sub").mkdir()
    proc = nixgen(root / "pyproject.toml", "--index-url", server.url, "--cache-dir", tmp_path / "cache", "-q",
                  "-o", "sub/flake.nix", cwd=root)
    assert proc.returncode == 0, proc.stderr
    text = (root / "sub" / "flake.nix").read_text()
    assert_nix_parses(text)  # `src = ..;` does not
    # The project's directory, seen from sub/ (inside a repository the flake's source tree reaches it).
    assert "path = ../.;" in text  # the filtered source of the project (builtins.path)
