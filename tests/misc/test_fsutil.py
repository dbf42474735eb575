"""Atomic writes: whole files or nothing, and devices stay devices."""

import os
import stat
from pathlib import Path

import pytest

from nixgen.fsutil import write_atomic


def test_replaces_the_file_whole_with_ordinary_permissions(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "flake.nix"
    write_atomic(target, "one")
    write_atomic(target, "two")
    assert target.read_text() == "two"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert sorted(p.name for p in target.parent.iterdir()) == ["flake.nix"]


def test_a_device_is_written_to_not_replaced() -> None:
    null = Path(os.devnull)
    write_atomic(null, "discarded")
    assert stat.S_ISCHR(null.stat().st_mode)


def test_failure_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "flake.nix"
    target.write_text("old")

    with pytest.raises(TypeError):
        write_atomic(target, 42)  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["flake.nix"]
