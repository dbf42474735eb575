"""Against the real index (opt-in: NIXGEN_LIVE_TESTS=1): the README's main command works as it says."""

from __future__ import annotations

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
