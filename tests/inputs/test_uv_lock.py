"""uv.lock as `uv sync` reads it, with uv itself as the oracle (`uv export` lists what uv would install): the
root project and workspace members built from their trees, --extra / --group / --all-extras / --all-groups /
--no-dev with uv's defaults, a virtual workspace root, and a forked lock resolved per system."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import nixgen
from tests.indexserver import FixtureIndex

APP = """\
[project]
name = "app"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["nixgen-alpha"]

[project.optional-dependencies]
fast = ["nixgen-beta"]

[dependency-groups]
dev = ["nixgen-gamma"]
docs = ["nixgen-delta"]
lint = ["nixgen-epsilon"]

[tool.uv]
default-groups = ["dev", "lint"]

[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"
"""


def _uv() -> str:
    uv = shutil.which("uv")
    assert uv, "uv is required (pip install uv)"
    return uv


def write_project(root: Path, pyproject: str, package: str | None) -> None:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(pyproject)
    if package:
        (root / package).mkdir()
        (root / package / "__init__.py").write_text("")


@pytest.fixture()
def server(tmp_path: Path, make_index_server: Any) -> Any:
    fixture = FixtureIndex(tmp_path / "index")
    for name in ("nixgen-alpha", "nixgen-beta", "nixgen-gamma", "nixgen-delta", "nixgen-epsilon"):
        fixture.add_wheel(name, "1.0")
    fixture.add_wheel("nixgen-alpha", "2.0")
    return make_index_server(fixture.write())


def uv_lock(root: Path, server: Any, tmp_path: Path) -> None:
    proc = subprocess.run([_uv(), "lock", "--default-index", server.url, "--cache-dir", str(tmp_path / "uvcache"),
                           "--directory", str(root), "--python", "3.13", "--python-preference", "only-system"],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:  # no Python 3.13 on the host: let uv take what there is
        proc = subprocess.run([_uv(), "lock", "--default-index", server.url, "--cache-dir",
                               str(tmp_path / "uvcache"), "--directory", str(root)],
                              capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def uv_would_install(root: Path, tmp_path: Path, *args: str) -> tuple[set[str], dict[str, str]]:
    """(local projects, name -> version) from `uv export`."""
    proc = subprocess.run([_uv(), "export", "--frozen", "--no-hashes", "--no-header", "--no-annotate",
                           "--cache-dir", str(tmp_path / "uvcache"), "--directory", str(root), *args],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    local, pinned = set(), {}
    for line in proc.stdout.splitlines():
        line = line.split(";")[0].strip()
        if line.startswith("-e ") or line.startswith("."):
            local.add(Path(root, line.removeprefix("-e ").strip()).resolve().name)
        elif "==" in line:
            name, version = line.split("==")
            pinned[name.strip()] = version.strip()
    return local, pinned


def nixgen_would_install(lock: Path, server: Any, tmp_path: Path, *args: str) -> tuple[set[str], dict[str, str]]:
    proc = nixgen("lock", lock, "--index-url", server.url, "--cache-dir", tmp_path / "cache", "-q",
                  "--system", "x86_64-linux", *args)
    assert proc.returncode == 0, proc.stderr
    packages = tomllib.loads(proc.stdout)["packages"]
    local = {Path(p["directory"]["path"]).name for p in packages if "directory" in p}
    runtime = {p["name"]: p["version"] for p in packages
               if "directory" not in p and p["tool"]["nixgen"]["pin"].get("runtime", True)
               and p["name"].startswith("nixgen-")}
    return local, runtime


@pytest.mark.parametrize("args", [(), ("--extra", "fast"), ("--group", "docs"), ("--all-groups",), ("--no-dev",),
                                  ("--all-extras", "--no-dev")])
def test_uv_lock_selects_what_uv_installs(tmp_path: Path, server: Any, args: tuple[str, ...]) -> None:
    root = tmp_path / "app"
    write_project(root, APP, "app")
    uv_lock(root, server, tmp_path)
    expected = uv_would_install(root, tmp_path, *args)
    assert expected[0] == {"app"}
    assert nixgen_would_install(root / "uv.lock", server, tmp_path, *args) == expected


def test_unknown_extra_or_group_in_a_uv_lock(tmp_path: Path, server: Any) -> None:
    root = tmp_path / "app"
    write_project(root, APP, "app")
    uv_lock(root, server, tmp_path)
    for flag, name in (("--extra", "nope"), ("--group", "nope")):
        proc = nixgen("lock", root / "uv.lock", flag, name, "--index-url", server.url, "-q")
        assert proc.returncode == 3 and f"'{name}'" in proc.stderr and "Traceback" not in proc.stderr


def test_a_virtual_workspace_builds_both_members_from_their_paths(tmp_path: Path, server: Any) -> None:
    root = tmp_path / "ws"
    write_project(root, '[tool.uv.workspace]\nmembers = ["packages/*"]\n\n[dependency-groups]\n'
                        'dev = ["nixgen-gamma"]\n', None)
    write_project(root / "packages" / "a", '[project]\nname = "a"\nversion = "1.0"\nrequires-python = ">=3.11"\n'
                  'dependencies = ["b", "nixgen-alpha<2"]\n[tool.uv.sources]\nb = { workspace = true }\n'
                  '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n', "a")
    write_project(root / "packages" / "b", '[project]\nname = "b"\nversion = "2.0"\nrequires-python = ">=3.11"\n'
                  'dependencies = ["nixgen-beta"]\n'
                  '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n', "b")
    uv_lock(root, server, tmp_path)
    expected = uv_would_install(root, tmp_path)
    assert expected[0] == {"a", "b"} and expected[1]["nixgen-alpha"] == "1.0"
    assert nixgen_would_install(root / "uv.lock", server, tmp_path) == expected
    out = root / "flake.nix"
    proc = nixgen(root / "uv.lock", "--index-url", server.url, "--cache-dir", tmp_path / "cache", "-q", "-o", out)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "path = ./packages/a;" in text and "path = ./packages/b;" in text


def test_a_forked_uv_lock_resolves_per_system(tmp_path: Path, server: Any) -> None:
    root = tmp_path / "app"
    write_project(root, APP.replace('dependencies = ["nixgen-alpha"]',
                                    'dependencies = ["nixgen-alpha==1.0 ; sys_platform == \'darwin\'", '
                                    '"nixgen-alpha==2.0 ; sys_platform == \'linux\'"]'), "app")
    uv_lock(root, server, tmp_path)
    lock = tomllib.loads((root / "uv.lock").read_text())
    assert [p["version"] for p in lock["package"] if p["name"] == "nixgen-alpha"] == ["1.0", "2.0"]
    proc = nixgen("lock", root / "uv.lock", "--index-url", server.url, "--cache-dir", tmp_path / "cache", "-q",
                  "--system", "x86_64-linux", "--system", "aarch64-darwin")
    assert proc.returncode == 0, proc.stderr
    alpha = {p["version"]: p.get("marker", "") for p in tomllib.loads(proc.stdout)["packages"]
             if p["name"] == "nixgen-alpha"}
    assert set(alpha) == {"1.0", "2.0"}
    assert "linux" in alpha["2.0"] and "darwin" in alpha["1.0"]


def test_the_uv_selection_round_trips_through_the_lock(tmp_path: Path, server: Any) -> None:
    from nixgen.lock.pylock import read_pylock, write_pylock

    root = tmp_path / "app"
    write_project(root, APP, "app")
    uv_lock(root, server, tmp_path)
    out = root / "pylock.toml"
    proc = nixgen("lock", root / "uv.lock", "--all-extras", "--all-groups", "--no-dev", "--index-url", server.url,
                  "--cache-dir", tmp_path / "cache", "-q", "--system", "x86_64-linux", "-o", out)
    assert proc.returncode == 0, proc.stderr
    back = read_pylock(out)
    assert (back.options.all_extras, back.options.all_groups, back.options.no_dev) == (True, True, True)
    assert tomllib.loads(write_pylock(back, root))["packages"] == tomllib.loads(out.read_text())["packages"]
    assert "--all-extras --all-groups --no-dev" in out.read_text()  # the canonical command says so
