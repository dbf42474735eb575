"""Running the `nixgen` command as a user does, against the recorded index."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
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


@pytest.fixture()
def binary_cache(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A Nix binary cache over HTTP: the URL, and the directory whose ``<hash>.narinfo`` files it serves."""
    root = tmp_path / "binary-cache"
    root.mkdir()
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(root), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.RequestHandlerClass.log_message = lambda *a: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
