"""`nixgen verify` against a local binary cache that serves narinfo files."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nixgen.nixpkgs.snapshot import Snapshot

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def cache_dir_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "binary-cache"
    root.mkdir()
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(root), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.RequestHandlerClass.log_message = lambda *a: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()


def _narinfo(root: Path, out_hash: str, name: str) -> None:
    (root / f"{out_hash}.narinfo").write_text(f"StorePath: /nix/store/{out_hash}-{name}\nURL: nar/x.nar.xz\n")


def test_verify_agrees_then_reports_a_missing_path(run: Any, cache_dir_server: tuple[str, Path]) -> None:
    url, root = cache_dir_server
    pyset = Snapshot.load().python_set()
    lock = run("lock", ROOT / "examples/rodeo/requirements.txt", "-q")
    import tomllib

    data = tomllib.loads(lock.stdout)
    # One entry per variant: with several systems a nixpkgs package may be listed once per system's wheel.
    cached = sorted({p["tool"]["nixgen"]["attr"] for p in data["packages"]
                     if p["tool"]["nixgen"]["provider"] == "nixpkgs"})
    for attr in cached:
        pkg = pyset.packages[attr]
        _narinfo(root, pkg.out_hash, pkg.store_name)
    good = run("verify", ROOT / "examples/rodeo/requirements.txt", "--substituter", url)
    assert good.returncode == 0, good.stdout + good.stderr
    assert f"{len(cached)} checked, 0 differ" in good.stdout
    cartopy = pyset.by_pypi_name("cartopy")
    assert cartopy is not None
    (root / f"{cartopy.out_hash}.narinfo").unlink()
    bad = run("verify", ROOT / "examples/rodeo/requirements.txt", "--substituter", url)
    assert bad.returncode == 1
    assert "DIFF cartopy: predicted cached, binary cache: missing" in bad.stdout
    assert cartopy.out_hash in bad.stdout
    assert f"{len(cached)} checked, 1 differ" in bad.stdout
