"""Against the real index (opt-in: NIXGEN_LIVE_TESTS=1): the README's main command works as it says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nixgen.nixpkgs.snapshot import Snapshot
from tests.cli.conftest import nixgen
from tests.nixcheck import assert_nix_parses

pytestmark = pytest.mark.live
RODEO = Path(__file__).resolve().parents[2] / "examples" / "rodeo" / "requirements.txt"


def test_rodeo_against_the_default_index(tmp_path: Path) -> None:
    proc = nixgen(RODEO, "--cache-dir", tmp_path / "cache", "-q")
    assert proc.returncode == 0, proc.stderr
    assert_nix_parses(proc.stdout)
    pyset = Snapshot.load().python_set()
    for name in ("cartopy", "tensorflow", "docrep"):
        assert f"ps.{name}" in proc.stdout
        assert f"{name} = pyFinal.buildPythonPackage" not in proc.stdout, f"{name} should come from nixpkgs"
        assert pyset.by_pypi_name(name) is not None


def test_the_rodeo_sets_pins_pass_the_smoke_on_cpython_313(tmp_path: Path) -> None:
    """The rodeo set's plan (cartopy, tensorflow, docrep: large wheels from the live index) installs, passes
    `pip check` and imports on a host CPython 3.13."""
    import json

    from nixgen.pypi.buildmeta import find_interpreter

    if find_interpreter("3.13") is None:
        pytest.skip("no CPython 3.13 on this host ($HOME/.pyenv/versions/3.13.* or python3.13 on PATH)")
    proc = subprocess.run([sys.executable, "-m", "nixgen", "smoke", str(RODEO), "--python", "3.13", "--system",
                           "x86_64-linux", "--json", "--cache-dir", str(tmp_path / "cache"), "-q"],
                          capture_output=True, text=True, timeout=1800)  # tensorflow's wheel is large
    assert proc.returncode == 0, proc.stderr
    (system,) = json.loads(proc.stdout)["systems"]
    assert system["outcome"] == "passed", proc.stderr
    imported = next(s for s in system["steps"] if s["step"] == "import")["items"]
    assert {"cartopy", "tensorflow", "docrep"} <= set(imported)
