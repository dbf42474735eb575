"""The seed's mach-nix fix list (cartopy, tensorflow>=2, xgcm, sphinx==3.1.1, fiona==1.8.18, scipy) on Python
3.13, against the recorded index: fiona 1.8.18's metadata comes from its cp39 wheel (its build backend needs
gdal-config and never runs), and the plan fails because fiona 1.8.18 cannot be built for 3.13 — with the
evidence and a pin that does work."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from nixgen.lock.pylock import read_pylock

DATA = Path(__file__).parent / "data"
WHEEL = "Fiona-1.8.18-cp39-cp39-manylinux1_x86_64.whl"


def _builds_run(cache: Path) -> list[str]:
    """The records of PEP 517 metadata hooks the run's index cache holds (one per sdist whose hook ran)."""
    with sqlite3.connect(cache / "pypi" / "index.sqlite3") as conn:
        return [k for (k,) in conn.execute("SELECT key FROM metadata WHERE key LIKE 'build:%'")]


def test_fiona_1_8_18_is_infeasible_on_3_13_from_its_wheels_metadata(run: Any, index_server: Any,
                                                                      tmp_path: Path) -> None:
    before = len(index_server.requests)
    proc = run(DATA / "machnix.txt", "--system", "x86_64-linux")
    asked = index_server.requests[before:]
    assert proc.returncode == 11, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert "fiona 1.8.18 cannot be built from source for python313 on x86_64-linux" in proc.stderr
    assert ("its wheels stop at cp39, none for Python 3.13; uploaded 2020-11-17, before Python 3.13's release "
            "(2024-10-07); the project's first release with wheels for Python 3.13 is 1.10.0") in proc.stderr
    # No nixpkgs interpreter helps (3.11 is two versions past cp39 too); the newer release does.
    assert "no other nixpkgs interpreter has a plan without such a build" in proc.stderr
    assert "hint: pin fiona>=1.10.0 (the first releases with wheels for this Python)" in proc.stderr
    # Its metadata was read, not built: no metadata hook ran for any sdist.
    assert _builds_run(tmp_path / "cache") == []
    # Finding out which other interpreter would do downloads no wheel (what wheels link decides no verdict):
    # wheels are read by range or PEP 658 metadata only; the one whole file is fiona's sdist (its setup.py).
    whole = sorted({r.path.rsplit("/", 1)[-1] for r in asked if r.path.startswith("/files/")
                    and not r.path.endswith(".metadata") and "range" not in {k.lower() for k in r.headers}})
    assert whole == ["Fiona-1.8.18.tar.gz"], whole


def test_fiona_1_8_18_metadata_is_its_cp39_wheels_and_the_verdict_is_locked(run: Any, tmp_path: Path) -> None:
    out = tmp_path / "pylock.toml"
    # --no-build-metadata: had fiona's metadata needed its backend, this would fail with a MetadataError.
    proc = run("lock", DATA / "machnix.txt", "--system", "x86_64-linux", "--allow-infeasible",
               "--no-build-metadata", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert "error: build of fiona 1.8.18 from source: infeasible: its wheels stop at cp39" in proc.stderr
    plan = read_pylock(out).plans[0]
    fiona = plan.package("fiona")
    assert fiona is not None and (fiona.version, fiona.provider) == ("1.8.18", "sdist")
    assert fiona.pin.metadata_file == WHEEL and fiona.pin.metadata_source in ("pep658", "range")
    assert fiona.recipe.verdict == "infeasible"
    # Its setup.py imports distutils too (gone from Python 3.12): risky on its own.
    assert [(e.kind, e.verdict, e.wheel_pythons) for e in fiona.recipe.evidence] == [
        ("no-target-wheels", "infeasible", ("cp39",)), ("distutils", "risky", ())]
    # Its dependencies are the wheel's Requires-Dist (fiona 1.8.18: attrs, certifi, click, cligj, ...).
    assert {"attrs", "certifi", "click", "cligj", "click-plugins", "munch", "six"} <= set(fiona.pin.dependencies)
    assert _builds_run(tmp_path / "cache") == []
    # The rest of the list is served as on main: cartopy, tensorflow and scipy from nixpkgs.
    assert {p.name: p.provider for p in plan.packages if p.name in ("cartopy", "tensorflow", "scipy")} == {
        "cartopy": "nixpkgs", "tensorflow": "nixpkgs", "scipy": "nixpkgs"}


def test_the_suggested_pin_gives_a_plan(run: Any, tmp_path: Path) -> None:
    out = tmp_path / "pylock.toml"
    proc = run("lock", DATA / "machnix-newer-fiona.txt", "--system", "x86_64-linux", "-o", out)
    assert proc.returncode == 0, proc.stderr
    plan = read_pylock(out).plans[0]
    fiona = plan.package("fiona")
    assert fiona is not None and fiona.provider == "nixpkgs" and fiona.version.startswith("1.10.")
    assert not [p.name for p in plan.packages if p.recipe.verdict == "infeasible"]
