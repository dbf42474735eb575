"""The CLI's conventions: mistyped commands, -v, --color, JSON for explain and verify, help everywhere."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from nixgen.cli import cli
from tests.cli.conftest import nixgen

ROOT = Path(__file__).resolve().parents[2]


def test_a_mistyped_command_says_did_you_mean_and_exits_2() -> None:
    proc = nixgen("reprot", "requirements.txt-that-does-not-exist")
    assert proc.returncode == 2
    assert "No such command 'reprot'" in proc.stderr and "Did you mean 'report'" in proc.stderr
    # A path goes to generate, as before (here: a clear error for the missing file).
    missing = nixgen("no/such/requirements.txt")
    assert missing.returncode != 0 and "no such file" in missing.stderr


def test_verbose_shows_index_requests_with_credentials_masked(index_server: Any, tmp_path: Path) -> None:
    url = index_server.url.replace("http://", "http://someone:hunter2@")
    proc = nixgen("lock", ROOT / "examples/rodeo/requirements.txt", "--index-url", url, "--cache-dir",
                  tmp_path / "cache", "--exclude-newer", "2026-11-01", "--system", "x86_64-linux", "-v", "-q")
    assert proc.returncode == 0, proc.stderr
    # Credentials stay in the HTTP layer: requests are logged by URL alone.
    assert "nixgen: GET http://127.0.0.1:" in proc.stderr and "/simple/cartopy/" in proc.stderr
    assert "hunter2" not in proc.stderr and "hunter2" not in proc.stdout
    decided = nixgen("lock", ROOT / "examples/rodeo/requirements.txt", "--index-url", index_server.url,
                     "--cache-dir", tmp_path / "cache", "--exclude-newer", "2026-11-01", "--system", "x86_64-linux",
                     "-vv", "-q")
    assert "nixgen: x86_64-linux: cartopy 0.25.0 from nixpkgs: in nixpkgs at a fitting version" in decided.stderr


def test_color_always_and_never(run: Any) -> None:
    req = ROOT / "examples/rodeo/requirements.txt"
    always = run("report", req, "--system", "x86_64-linux", "--color", "always")
    never = run("report", req, "--system", "x86_64-linux", "--color", "never")
    assert always.returncode == 0 and never.returncode == 0
    assert "\x1b[" in always.stdout and "\x1b[" not in never.stdout


def test_explain_json_lists_each_system(run: Any) -> None:
    proc = run("explain", "numpy", ROOT / "examples/rodeo/requirements.txt", "--json", "--system", "x86_64-linux",
               "--system", "aarch64-linux")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [s["system"] for s in data["systems"]] == ["x86_64-linux", "aarch64-linux"]
    assert data["systems"][0]["status"] == "cached" and data["systems"][0]["path"][-1] == "numpy"


def test_every_option_has_help_text() -> None:
    missing = []

    def walk(command: click.Command, path: str) -> None:
        for param in command.params:
            if isinstance(param, click.Option) and not param.help and not param.hidden:
                missing.append(f"{path} {param.opts[0]}")
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}")

    walk(cli, "nixgen")
    assert [m for m in missing if not m.endswith(("--version", "--help"))] == []


def test_an_unwritable_output_is_refused_before_resolving(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("nixgen-never-resolved\n")  # no index is given: resolving would fail differently
    (tmp_path / "afile").write_text("x")
    readonly = tmp_path / "ro"
    readonly.mkdir()
    readonly.chmod(0o555)
    cases = {tmp_path / "afile" / "flake.nix": "is not a directory", tmp_path: "is a directory",
             Path("/proc/nixgen-test/flake.nix"): "cannot write in /proc"}
    if os.geteuid() != 0:  # root writes anywhere but /proc
        cases[readonly / "flake.nix"] = "cannot write in"
    for out, message in cases.items():
        for command in (("generate",), ("lock",)):
            proc = nixgen(*command, req, "-o", out, "--index-url", "http://127.0.0.1:9/simple/", "--offline")
            assert proc.returncode == 2, (out, proc.stderr)
            assert message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
