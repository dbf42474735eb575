"""The editable dev shell: the project's dependencies in the shell's environment, its working tree on
PYTHONPATH and its console scripts on PATH from a hook that finds the tree when the shell starts; the
project's filtered ``src`` keeps its derivation when the flake is regenerated."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import nixgen
from tests.indexserver import FixtureIndex
from tests.projecteval import eval_project_flake

PYPROJECT = """\
[project]
name = "proj"
version = "1.0"
dependencies = ["nixgen-alpha"]

[project.scripts]
proj-hello = "proj.cli:main"
"""


@pytest.fixture()
def project(tmp_path: Path, make_index_server: Any) -> tuple[Path, Path]:
    fixture = FixtureIndex(tmp_path / "index")
    fixture.add_wheel("nixgen-alpha", "1.0")
    server = make_index_server(fixture.write())
    root = tmp_path / "work" / "proj"
    (root / "src" / "proj").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "src" / "proj" / "__init__.py").write_text("X = 1\n")
    (root / "src" / "proj" / "cli.py").write_text('def main() -> int:\n    print("hello from", __file__)\n'
                                                  "    return 0\n")
    proc = nixgen(root / "pyproject.toml", "--index-url", server.url, "--cache-dir", tmp_path / "cache",
                  "-o", root / "flake.nix", "-q")
    assert proc.returncode == 0, proc.stderr
    return root, tmp_path


def test_the_dev_shell_holds_the_dependencies_and_the_hook(project: tuple[Path, Path]) -> None:
    root, tmp = project
    (summary,) = eval_project_flake(root, "devShells.x86_64-linux.default.packages", tmp,
                                    apply="map (env: env.summary)")
    assert sorted(p["pname"] for p in summary) == ["nixgen-alpha"]  # not the built project
    hook = eval_project_flake(root, "devShells.x86_64-linux.default.shellHook", tmp, raw=True)
    assert str(root) not in hook and str(tmp) not in hook  # found when the shell starts, never baked in
    assert "PYTHONPATH" in hook
    built = eval_project_flake(root, "packages.x86_64-linux.default.summary", tmp)
    assert {p["pname"]: p["origin"] for p in built}["proj"] == "nixgen"  # packages.default: the built project


def test_the_hook_makes_the_working_tree_importable(project: tuple[Path, Path]) -> None:
    root, tmp = project
    hook = eval_project_flake(root, "devShells.x86_64-linux.default.shellHook", tmp, raw=True)
    python_bin = str(Path(sys.executable).parent)
    env = {"PATH": f"{python_bin}:/usr/bin:/bin", "HOME": str(tmp), "TMPDIR": str(tmp)}
    script = hook + '\npython3 -c "import proj; print(proj.__file__)"\nproj-hello\n'
    subdir = root / "src" / "proj"  # started below the project: the hook walks up to the flake
    proc = subprocess.run(["bash", "-e", "-c", script], cwd=subdir, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    imported, hello = proc.stdout.splitlines()
    assert imported == str(root / "src" / "proj" / "__init__.py")
    assert hello == f"hello from {root / 'src' / 'proj' / 'cli.py'}"
    # An edit is seen at once, without a rebuild. (Of another size: the first import's bytecode records the
    # source's mtime in whole seconds and its size, and an edit within the same second must not look alike.)
    (root / "src" / "proj" / "__init__.py").write_text("X = 2  # edited\n")
    again = subprocess.run(["bash", "-e", "-c", hook + '\npython3 -c "import proj; print(proj.X)"\n'], cwd=root,
                           env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and again.stdout.strip() == "2", again.stderr


def _drv_paths(root: Path, tmp: Path) -> tuple[str, str]:
    project = eval_project_flake(root, "legacyPackages.x86_64-linux.python313.pkgs.proj.outPath", tmp, raw=True)
    env = eval_project_flake(root, "packages.x86_64-linux.default.outPath", tmp, raw=True)
    return project, env


def test_editing_the_flake_does_not_change_the_project_derivation(project: tuple[Path, Path]) -> None:
    root, tmp = project
    before = _drv_paths(root, tmp)
    flake = root / "flake.nix"
    flake.write_text(flake.read_text() + "# a comment, as a regenerated flake may differ\n")
    (root / "result").symlink_to("/nonexistent")
    (root / "build").mkdir()
    (root / "build" / "junk").write_text("x")
    (root / "src" / "proj" / "__pycache__").mkdir()
    (root / "src" / "proj" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert _drv_paths(root, tmp) == before
    # … while a change to the project's source does change it (the comparison can fail).
    (root / "src" / "proj" / "cli.py").write_text(os.linesep.join(["def main() -> int:", "    return 1", ""]))
    after = _drv_paths(root, tmp)
    assert after[0] != before[0] and after[1] != before[1]
