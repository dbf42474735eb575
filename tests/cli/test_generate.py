"""End to end: the `nixgen` command on recorded index responses served over HTTP, and the embedded snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nixgen.nixpkgs.snapshot import Snapshot
from tests.cli.conftest import nixgen
from tests.nixcheck import assert_nix_parses
from tests.nixeval import eval_flake

ROOT = Path(__file__).resolve().parents[2]
RODEO = ROOT / "examples" / "rodeo" / "requirements.txt"


def test_rodeo_takes_everything_nixpkgs_has_from_nixpkgs(run: Any, tmp_path: Path) -> None:
    proc = run("lock", RODEO)
    assert proc.returncode == 0, proc.stderr
    import tomllib

    lock = tomllib.loads(proc.stdout)
    pins = {p["name"]: p for p in lock["packages"]}
    pins.update({p["name"]: {"version": p["version"], "tool": {"nixgen": p}}
                 for p in lock["tool"]["nixgen"].get("nixpkgs-only", [])})
    assert {"cartopy", "tensorflow", "docrep"} <= set(pins)
    pyset = Snapshot.load().python_set()
    for name, pin in pins.items():
        nix = pyset.by_pypi_name(name)
        tool = pin["tool"]["nixgen"]
        if nix is not None and nix.version == pin["version"]:
            assert tool["pin"]["provider"] == "nixpkgs", f"{name} {pin['version']} is in nixpkgs but was {tool}"
    for name in ("cartopy", "tensorflow", "docrep"):
        assert pins[name]["tool"]["nixgen"]["pin"]["provider"] == "nixpkgs"
        assert pins[name]["version"] == pyset.by_pypi_name(name).version  # type: ignore[union-attr]


def test_rodeo_flake_parses_evaluates_and_is_deterministic(run: Any, tmp_path: Path) -> None:
    first = run(RODEO)
    assert first.returncode == 0, first.stderr
    assert_nix_parses(first.stdout)
    again = run(RODEO)
    assert again.stdout == first.stdout
    summary = eval_flake(first.stdout, "packages.x86_64-linux.default.summary", tmp_path)
    names = {p["pname"] for p in summary}
    assert {"cartopy", "tensorflow", "docrep"} <= names
    assert all(p["origin"] == "nixpkgs" for p in summary if p["pname"] in ("cartopy", "tensorflow", "docrep"))
    # The table on stderr names each package with its provider.
    assert "cartopy" in first.stderr and "nixpkgs" in first.stderr


def test_unsatisfiable_pins_are_explained_without_a_traceback(run: Any, tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("dask==2022.1.1\ndistributed==2022.05.1\n")
    proc = run(req)
    assert proc.returncode == 7
    assert "Traceback" not in proc.stderr
    assert (f"`dask==2022.1.1` requested ({req}:1), but `distributed 2022.5.1` requires `dask==2022.05.1`"
            in proc.stderr)
    assert proc.stdout == ""


def test_the_seed_pins_name_the_missing_version_and_the_conflict(run: Any, tmp_path: Path) -> None:
    # The seed document's pair: dask 2022.1.10 was never released, and distributed 2022.05.1 pins dask.
    req = tmp_path / "requirements.txt"
    req.write_text("dask==2022.1.10\ndistributed==2022.05.1\n")
    proc = run(req)
    assert proc.returncode == 7
    assert "Traceback" not in proc.stderr
    assert f"`dask==2022.1.10` requested ({req}:1), but dask 2022.1.10 is not on the index" in proc.stderr
    assert "`distributed 2022.5.1`, which requires `dask==2022.05.1`" in proc.stderr


def test_unknown_project_names_the_index(run: Any, index_server: Any, tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("no-such-project-nixgen\n")
    proc = run(req)
    assert proc.returncode == 6
    assert "no project named no-such-project-nixgen on the index" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_malformed_line_names_file_and_line(run: Any, tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("docrep\nnumpy >>= 1\n")
    proc = run(req)
    assert proc.returncode == 3
    assert f"{req}:2:" in proc.stderr
    assert "numpy >>= 1" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_lock_round_trips_to_the_same_flake(run: Any, tmp_path: Path) -> None:
    lock = tmp_path / "pylock.toml"
    assert run("lock", RODEO, "-o", lock).returncode == 0
    direct = run(RODEO)
    from_lock = nixgen(lock)
    assert from_lock.returncode == 0, from_lock.stderr
    assert from_lock.stdout == direct.stdout
    rewritten = nixgen("lock", lock, "-q")
    assert rewritten.stdout == lock.read_text()


def test_output_file_is_written_atomically_and_not_on_error(run: Any, tmp_path: Path) -> None:
    out = tmp_path / "flake.nix"
    assert run(RODEO, "-o", out, "-q").returncode == 0
    good = out.read_text()
    assert_nix_parses(good)
    bad = tmp_path / "bad.txt"
    bad.write_text("dask==2022.1.10\ndistributed==2022.05.1\n")
    assert run(bad, "-o", out, "-q").returncode == 7
    assert out.read_text() == good
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".flake.nix")] == []


def test_forcing_a_provider_builds_that_package_and_nix_accepts_it(run: Any, tmp_path: Path) -> None:
    proc = run(RODEO, "--provider", "docrep=sdist", "-q")
    assert proc.returncode == 0, proc.stderr
    assert_nix_parses(proc.stdout)
    summary = {p["pname"]: p for p in eval_flake(proc.stdout, "packages.x86_64-linux.default.summary", tmp_path)}
    docrep = summary["docrep"]
    assert docrep["origin"] == "nixgen"
    assert docrep["version"] == "0.3.2"
    assert docrep["build-system"] == ["setuptools"]  # no pyproject.toml in the sdist: PEP 517's default
    assert docrep["src"].endswith("docrep-0.3.2.tar.gz")
    assert summary["cartopy"]["origin"] == "nixpkgs"


def test_unreachable_index_says_which_url_and_what_to_do(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("docrep\n")
    proc = nixgen(req, "--index-url", "http://127.0.0.1:9/simple/", "--cache-dir", tmp_path / "c", "-q")
    assert proc.returncode == 4
    assert "http://127.0.0.1:9/simple/docrep/" in proc.stderr
    assert "hint:" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_offline_with_an_empty_cache_is_a_clear_error(index_server: Any, tmp_path: Path) -> None:
    proc = nixgen(RODEO, "--index-url", index_server.url, "--cache-dir", tmp_path / "empty", "--offline", "-q")
    assert proc.returncode == 5
    assert "offline" in proc.stderr.lower()
    assert "Traceback" not in proc.stderr


def test_offline_after_a_run_makes_no_requests(run: Any, index_server: Any, tmp_path: Path) -> None:
    first = run(RODEO, "-q")
    assert first.returncode == 0, first.stderr
    before = index_server.count()
    again = run(RODEO, "-q", "--offline")
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    assert index_server.count() == before


def test_unknown_option_and_bad_provider_are_usage_errors(run: Any, tmp_path: Path) -> None:
    proc = run(RODEO, "--provider", "docrep=conda")
    assert proc.returncode == 2
    assert "expected NAME=nixpkgs|wheel|sdist" in proc.stderr
    assert "Traceback" not in proc.stderr
    missing = run(tmp_path / "absent.txt")
    assert missing.returncode == 3
    assert "no such file" in missing.stderr
