"""The README's quick start, run verbatim in a fresh clone: it installs nixgen, writes the rodeo flake, and
leaves every tracked file as it was (issue 16)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from nixgen.nixpkgs.snapshot import Snapshot
from tests.nixcheck import assert_nix_parses

ROOT = Path(__file__).resolve().parents[2]


def quick_start() -> list[str]:
    """The commands of README.md's first code block (indented by four spaces), in order."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("    "))
    block: list[str] = []
    for line in lines[start:]:
        if not line.startswith("    "):
            break
        block.append(line.strip())
    return block


def _clone(tmp_path: Path) -> Path:
    """A fresh clone of this checkout's HEAD (uncommitted changes are not in it)."""
    clone = tmp_path / "nixgen"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True,
                   capture_output=True, timeout=120)
    return clone


def _output_path(command: str, clone: Path) -> Path:
    words = shlex.split(command.split("&&")[-1])
    return (clone / words[words.index("-o") + 1]).resolve()


def _run_and_check(command: str, clone: Path, env: dict[str, str], timeout: float) -> Path:
    proc = subprocess.run(["bash", "-c", command], cwd=clone, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    flake = _output_path(command, clone)
    assert flake.is_file(), f"{command!r} did not write {flake}"
    assert not flake.is_relative_to(clone), "the flake must not land inside the checkout"
    text = flake.read_text()
    assert_nix_parses(text)
    assert "ps.cartopy" in text and "ps.tensorflow" in text and "ps.docrep" in text
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=clone,
                            capture_output=True, text=True, check=True)
    assert status.stdout == "", f"the quick start changed the checkout:\n{status.stdout}"
    return flake


def test_the_readme_starts_with_two_commands() -> None:
    first, second = quick_start()
    assert first.startswith("python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/nixgen ")
    assert second == "bash .ci/run"
    gitignore = (ROOT / ".gitignore").read_text().splitlines()
    assert ".venv/" in gitignore and ".ci-venv/" in gitignore


def _offline_python3(bin_dir: Path) -> None:
    """A ``python3`` first on PATH that is the test's interpreter; after ``python3 -m venv DIR`` it adds a .pth
    file to DIR's site-packages naming this test environment's site-packages, where nixgen's dependencies
    (and setuptools, for the build) are already installed, and removes the old setuptools that Python < 3.12
    bundles into a new venv (3.12+ bundles none)."""
    paths = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    script = f"""#!{sys.executable}
import shutil, subprocess, sys
from pathlib import Path
args = sys.argv[1:]
code = subprocess.call([{sys.executable!r}, *args])
if code == 0 and args[:2] == ["-m", "venv"]:
    site = next(Path(args[-1]).glob("lib/python*/site-packages"))
    for bundled in [*site.glob("setuptools"), *site.glob("setuptools-*.dist-info"), *site.glob("_distutils_hack")]:
        shutil.rmtree(bundled)  # Python < 3.12's venv bundles an old setuptools; 3.12+ bundles none
    (site / "_nixgen_quickstart_test.pth").write_text({chr(10).join(paths)!r} + "\\n")
sys.exit(code)
"""
    bin_dir.mkdir()
    shim = bin_dir / "python3"
    shim.write_text(script)
    shim.chmod(0o755)


def test_the_first_command_offline_against_the_recorded_index(index_server: Any, tmp_path: Path) -> None:
    """The README's first command, verbatim, in a fresh clone. Substituted, so that it runs offline and fast:

    - the index: ``PIP_INDEX_URL`` names the recorded index (tests/indexserver.py), which nixgen reads from
      pip's configuration as a user's pip.conf would set it; ``PIP_CONFIG_FILE=/dev/null`` hides this
      machine's pip files, ``NIXGEN_CACHE_DIR`` is a fresh cache;
    - pip installs no dependencies from any index (``PIP_NO_INDEX``, ``PIP_NO_DEPS``) and builds nixgen
      without build isolation (``PIP_NO_BUILD_ISOLATION=0``, pip's spelling for off): a ``python3`` shim
      first on PATH makes ``python3 -m venv .venv`` with this interpreter and lets the new environment see
      this test environment's site-packages (a .pth file), where nixgen's dependencies and setuptools are
      (the old setuptools Python < 3.12 bundles into a venv is removed, as 3.12+ bundles none).

    nixgen itself is installed from the clone by ``.venv/bin/pip install .`` and runs as ``.venv/bin/nixgen``.
    """
    first, _ = quick_start()
    clone = _clone(tmp_path)
    bin_dir = tmp_path / "bin"
    _offline_python3(bin_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "NIXGEN_", "VIRTUAL_ENV"))}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", PIP_CONFIG_FILE=os.devnull,
               PIP_INDEX_URL=index_server.url, PIP_NO_INDEX="1", PIP_NO_DEPS="1", PIP_NO_BUILD_ISOLATION="0",
               PIP_DISABLE_PIP_VERSION_CHECK="1", NIXGEN_CACHE_DIR=str(tmp_path / "nixgen-cache"),
               XDG_CACHE_HOME=str(tmp_path / "xdg-cache"))
    before = index_server.count()
    flake = _run_and_check(first, clone, env, timeout=300)
    assert index_server.count() > before, "nixgen did not ask the recorded index"
    assert flake == (tmp_path / "rodeo" / "flake.nix").resolve()
    installed = list((clone / ".venv").glob("lib/python*/site-packages/nixgen/cli.py"))
    assert installed, "pip did not install nixgen into the clone's .venv"


@pytest.mark.live
def test_the_first_command_verbatim_against_the_real_index(tmp_path: Path) -> None:
    """The README's first command exactly as a user runs it: the real index, pip's own configuration."""
    first, _ = quick_start()
    clone = _clone(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NIXGEN_", "VIRTUAL_ENV"))}
    env["NIXGEN_CACHE_DIR"] = str(tmp_path / "nixgen-cache")
    flake = _run_and_check(first, clone, env, timeout=900)
    assert Snapshot.load().meta.nixpkgs_rev in flake.read_text()  # pinned to the embedded snapshot
