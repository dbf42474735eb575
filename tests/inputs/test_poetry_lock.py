"""poetry.lock with its [tool.poetry] project as `poetry install` takes them: the project built from its
tree, optional packages only through an extra that asks for them, dependency extras kept, and groups chosen
with --with / --without / --only (nixgen's --group being --with)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import nixgen
from tests.indexserver import FixtureIndex

PYPROJECT = """\
[build-system]
requires = ["poetry-core>=1.0"]
build-backend = "poetry.core.masonry.api"

[tool.poetry]
name = "tui"
version = "0.5.0"
description = ""
authors = []

[tool.poetry.dependencies]
python = "^3.11"
nixgen-markdown = { version = "^1.0", extras = ["linkify"] }
nixgen-sitter = { version = "*", optional = true }

[tool.poetry.extras]
syntax = ["nixgen-sitter"]

[tool.poetry.group.dev.dependencies]
nixgen-pytest = "^2.0"

[tool.poetry.group.docs]
optional = true

[tool.poetry.group.docs.dependencies]
nixgen-docs = "~1.1"
"""


def _entry(name: str, version: str, optional: bool = False) -> str:
    return (f'[[package]]\nname = "{name}"\nversion = "{version}"\ndescription = ""\n'
            f'optional = {"true" if optional else "false"}\npython-versions = "*"\nfiles = []\n\n')


LOCK = (_entry("nixgen-markdown", "1.2") + _entry("nixgen-linkify", "1.0") + _entry("nixgen-sitter", "0.9", True)
        + _entry("nixgen-pytest", "2.0") + _entry("nixgen-docs", "1.1.0")
        + '[metadata]\nlock-version = "2.1"\npython-versions = "^3.11"\ncontent-hash = "0"\n')


@pytest.fixture()
def project(tmp_path: Path, make_index_server: Any) -> tuple[Path, Any]:
    fixture = FixtureIndex(tmp_path / "index")
    for version in ("1.2", "1.3"):
        fixture.add_wheel("nixgen-markdown", version, requires=["nixgen-linkify ; extra == 'linkify'"],
                          provides_extra=["linkify"])
    fixture.add_wheel("nixgen-linkify", "1.0")
    fixture.add_wheel("nixgen-sitter", "0.9")
    fixture.add_wheel("nixgen-pytest", "2.0")
    fixture.add_wheel("nixgen-docs", "1.1.0")
    fixture.add_wheel("nixgen-docs", "1.2.0")
    server = make_index_server(fixture.write())
    root = tmp_path / "tui"
    (root / "tui").mkdir(parents=True)
    (root / "tui" / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "poetry.lock").write_text(LOCK)
    return root, server


def installed(root: Path, server: Any, tmp_path: Path, *args: str) -> dict[str, str]:
    proc = nixgen("lock", root / "poetry.lock", "--index-url", server.url, "--cache-dir", tmp_path / "cache",
                  "-q", "--system", "x86_64-linux", *args)
    assert proc.returncode == 0, proc.stderr
    return {p["name"]: p["version"] for p in tomllib.loads(proc.stdout)["packages"]
            if p["name"].startswith(("nixgen-", "tui"))}


def test_optional_packages_only_through_their_extra(project: tuple[Path, Any], tmp_path: Path) -> None:
    root, server = project
    # The project itself, the dependency's extra (linkify), the non-optional dev group; locked versions.
    assert installed(root, server, tmp_path) == {"tui": "0.5.0", "nixgen-markdown": "1.2", "nixgen-linkify": "1.0",
                                                 "nixgen-pytest": "2.0"}
    assert installed(root, server, tmp_path, "--extra", "syntax")["nixgen-sitter"] == "0.9"


def test_groups_with_poetry_spellings(project: tuple[Path, Any], tmp_path: Path) -> None:
    root, server = project
    assert installed(root, server, tmp_path, "--with", "docs")["nixgen-docs"] == "1.1.0"
    assert installed(root, server, tmp_path, "--group", "docs")["nixgen-docs"] == "1.1.0"
    assert "nixgen-pytest" not in installed(root, server, tmp_path, "--without", "dev")
    assert installed(root, server, tmp_path, "--only", "docs") == {"nixgen-docs": "1.1.0"}
    assert set(installed(root, server, tmp_path, "--only", "main")) == {"tui", "nixgen-markdown", "nixgen-linkify"}
    bad = nixgen("lock", root / "poetry.lock", "--with", "nope", "--index-url", server.url, "-q")
    assert bad.returncode == 3 and "no Poetry dependency group 'nope'" in bad.stderr


def test_the_poetry_selection_round_trips(project: tuple[Path, Any], tmp_path: Path) -> None:
    from nixgen.lock.pylock import read_pylock

    root, server = project
    out = root / "pylock.toml"
    proc = nixgen("lock", root / "poetry.lock", "--with", "docs", "--without", "dev", "--index-url", server.url,
                  "--cache-dir", tmp_path / "cache", "-q", "--system", "x86_64-linux", "-o", out)
    assert proc.returncode == 0, proc.stderr
    options = read_pylock(out).options
    assert (options.with_groups, options.without_groups, options.only_groups) == (("docs",), ("dev",), ())
    assert "--with docs --without dev" in out.read_text()
