"""nixgen's pylock.toml is a PEP 751 lock another installer accepts: uv installs from it, hashes checked."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.cli.conftest import nixgen
from tests.indexserver import FixtureIndex


def test_uv_installs_from_nixgens_lock_and_nixgen_reads_it_back(tmp_path: Path, make_index_server: Any) -> None:
    fixture = FixtureIndex(tmp_path / "index")
    fixture.add_wheel("nixgen-alpha", "1.0", requires=["nixgen-beta"])
    fixture.add_wheel("nixgen-beta", "2.0")
    server = make_index_server(fixture.write())
    req = tmp_path / "requirements.txt"
    req.write_text("nixgen-alpha\n")
    lock = tmp_path / "pylock.toml"
    # The host's interpreter as the target, so that uv can install into it here.
    host = f"{sys.version_info.major}.{sys.version_info.minor}"
    made = nixgen("lock", req, "--python", host, "--index-url", server.url, "--cache-dir", tmp_path / "c", "-q",
                  "-o", lock)
    assert made.returncode == 0, made.stderr
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    uv = shutil.which("uv")
    assert uv, "uv is required (pip install uv)"
    installed = subprocess.run([uv, "pip", "install", "-r", str(lock), "--python", str(venv / "bin" / "python"),
                                "--cache-dir", str(tmp_path / "uvc")], capture_output=True, text=True, timeout=120)
    assert installed.returncode == 0, installed.stderr
    assert "+ nixgen-alpha==1.0" in installed.stderr and "+ nixgen-beta==2.0" in installed.stderr
    assert nixgen("lock", lock, "-q").stdout == lock.read_text()
