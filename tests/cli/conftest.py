"""Running the `nixgen` command as a user does, against the recorded index."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

EXCLUDE_NEWER = "2026-11-01"


def nixgen(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nixgen", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


@pytest.fixture()
def run(index_server: Any, tmp_path: Path) -> Any:
    cache = tmp_path / "cache"

    def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return nixgen(*args, "--index-url", index_server.url, "--cache-dir", cache,
                      "--exclude-newer", EXCLUDE_NEWER)

    return _run


