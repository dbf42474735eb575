"""Project defaults: NIXGEN_* environment variables and [tool.nixgen] in pyproject.toml, below the command
line; the values used are recorded in the lock, and rendering a lock ignores the ambient ones."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from tests.indexserver import FixtureIndex


def _nixgen(*args: Any, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NIXGEN_")}
    return subprocess.run([sys.executable, "-m", "nixgen", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env={**clean, **env}, timeout=300)


def _systems(lock: Path) -> list[str]:
    return [t["system"] for t in tomllib.loads(lock.read_text())["tool"]["nixgen"]["targets"]]


def test_command_line_beats_environment_beats_pyproject(tmp_path: Path, make_index_server: Any) -> None:
    fixture = FixtureIndex(tmp_path / "index")
    fixture.add_wheel("nixgen-alpha", "1.0")
    server = make_index_server(fixture.write())
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").write_text("nixgen-alpha\n")
    (project / "pyproject.toml").write_text('[tool.nixgen]\nsystems = ["x86_64-linux"]\npython = "3.13"\n')
    common = ("--index-url", server.url, "--cache-dir", tmp_path / "cache", "-q", "-o", "pylock.toml")
    assert _nixgen("lock", "requirements.txt", *common, cwd=project).returncode == 0
    assert _systems(project / "pylock.toml") == ["x86_64-linux"]
    lock = tomllib.loads((project / "pylock.toml").read_text())["tool"]["nixgen"]
    assert lock["options"]["python"] == "3.13" and lock["options"]["systems"] == ["x86_64-linux"]
    assert "--python 3.13 --system x86_64-linux" in lock["command"]  # the values used, not where they came from
    env = _nixgen("lock", "requirements.txt", *common, cwd=project, NIXGEN_SYSTEM="aarch64-linux aarch64-darwin")
    assert env.returncode == 0, env.stderr
    assert _systems(project / "pylock.toml") == ["aarch64-linux", "aarch64-darwin"]
    cli = _nixgen("lock", "requirements.txt", *common, "--system", "x86_64-darwin", cwd=project,
                  NIXGEN_SYSTEM="aarch64-linux")
    assert cli.returncode == 0, cli.stderr
    assert _systems(project / "pylock.toml") == ["x86_64-darwin"]
    # Rendering the lock ignores what the environment says now.
    plain = _nixgen("pylock.toml", cwd=project)
    ambient = _nixgen("pylock.toml", cwd=project, NIXGEN_SYSTEM="aarch64-linux", NIXGEN_PYTHON="3.14")
    assert plain.returncode == ambient.returncode == 0 and plain.stdout == ambient.stdout
    (project / "pyproject.toml").write_text('[tool.nixgen]\nsystems = "x86_64-linux"\n')
    bad = _nixgen("lock", "requirements.txt", *common, cwd=project)
    assert bad.returncode == 3 and "[tool.nixgen].systems must be a list of strings" in bad.stderr


def test_pips_extra_index_url_is_honoured(tmp_path: Path, make_index_server: Any) -> None:
    first, second = FixtureIndex(tmp_path / "one"), FixtureIndex(tmp_path / "two")
    first.add_wheel("nixgen-alpha", "1.0", requires=["nixgen-beta"])
    second.add_wheel("nixgen-beta", "2.0")
    one, two = make_index_server(first.write()), make_index_server(second.write())
    (tmp_path / "requirements.txt").write_text("nixgen-alpha\n")
    proc = _nixgen("lock", "requirements.txt", "--cache-dir", tmp_path / "cache", "--system", "x86_64-linux", "-q",
                   cwd=tmp_path, PIP_INDEX_URL=one.url, PIP_EXTRA_INDEX_URL=f"{two.url} file:///nowhere/simple")
    assert proc.returncode == 0, proc.stderr
    assert {p["name"]: p["version"] for p in tomllib.loads(proc.stdout)["packages"]} == {
        "nixgen-alpha": "1.0", "nixgen-beta": "2.0"}
    assert "pip's extra-index-url file:///nowhere/simple is not an HTTP(S) index" in proc.stderr
