"""The `nixgen` command against a private index (basic auth, credentials in --index-url) and a stalled one:
no password in the flake, the lock or on stderr; Ctrl-C during a stalled download exits at once (issue 11)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import nixgen
from tests.indexserver import FixtureIndex, IndexServer

Make = Callable[[Path], IndexServer]
SECRET = "hunter2-s3cret"


def private_index(tmp_path: Path, make_index_server: Make) -> IndexServer:
    fixture = FixtureIndex(tmp_path / "index")
    fixture.add_wheel("nixgen-alpha", "1.0", requires=["nixgen-beta"])
    fixture.add_wheel("nixgen-beta", "2.0")
    fixture.add_wheel("nixgen-beta", "3.0")["hashes"] = {"sha256": "abcd"}  # dropped, with a note
    server = make_index_server(fixture.write())
    server.auth = ("user", SECRET)
    return server


def test_credentials_in_the_index_url_reach_neither_flake_nor_lock_nor_stderr(tmp_path: Path,
                                                                               make_index_server: Make) -> None:
    server = private_index(tmp_path, make_index_server)
    url = server.url.replace("http://", f"http://user:{SECRET}@")
    req = tmp_path / "requirements.txt"
    req.write_text("nixgen-alpha\n")
    common = ("--index-url", url, "--cache-dir", tmp_path / "cache", "--system", "x86_64-linux")
    flake = nixgen(req, *common)
    assert flake.returncode == 0, flake.stderr
    assert f"{server.base}/files/nixgen_alpha-1.0-py3-none-any.whl" in flake.stdout  # fetched by URL, no userinfo
    assert "nixgen_beta-2.0" in flake.stdout and "nixgen_beta-3.0" not in flake.stdout
    assert "note:" in flake.stderr and "nixgen_beta-3.0-py3-none-any.whl" in flake.stderr
    lock = nixgen("lock", req, *common)
    assert lock.returncode == 0, lock.stderr
    assert f"{server.base}/files/nixgen_beta-2.0-py3-none-any.whl" in lock.stdout
    failed = nixgen(tmp_path / "missing.txt", *common)  # an error run, for its message
    wrong = nixgen(req, "--index-url", url.replace("/simple/", "/nothing/"), "--cache-dir", tmp_path / "c2")
    assert wrong.returncode != 0 and "Traceback" not in wrong.stderr
    for proc in (flake, lock, failed, wrong):
        assert SECRET not in proc.stdout and SECRET not in proc.stderr
        assert "Traceback" not in proc.stderr
    assert all(r.status != 401 for r in server.requests)


@pytest.mark.parametrize("stalled", ["/simple/", "/files/"])
def test_ctrl_c_during_a_stalled_download_exits_at_once(tmp_path: Path, make_index_server: Make,
                                                        stalled: str) -> None:
    fixture = FixtureIndex(tmp_path / "index")
    names = [f"stall-{i}" for i in range(6)]
    for name in names:
        fixture.add_wheel(name, "1.0")
    server = make_index_server(fixture.write())
    server.hang(100, 60.0, path=stalled)  # every page (or file) request stalls for a minute
    req = tmp_path / "requirements.txt"
    req.write_text("\n".join(names) + "\n")
    proc = subprocess.Popen([sys.executable, "-m", "nixgen", str(req), "--index-url", server.url, "--cache-dir",
                             str(tmp_path / "cache"), "--system", "x86_64-linux"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        until = time.monotonic() + 30
        def waiting() -> int:
            return sum(1 for p in list(server.arrived) if stalled in p)

        while waiting() < 2 and time.monotonic() < until:
            time.sleep(0.05)
        assert waiting() >= 2, "nixgen never reached the stalled requests"
        time.sleep(0.3)  # well inside the stalled requests (main thread and workers)
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
        took = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert took < 1.5, took
    assert "interrupted" in err or "aborted" in err
    assert "Traceback" not in err and out == ""


def test_help_states_the_first_index_rule() -> None:
    proc = nixgen("generate", "--help")
    assert proc.returncode == 0
    assert "first index" in " ".join(proc.stdout.split())
