"""`nixgen verify`: the generated flake evaluated with Nix against the fixture nixpkgs, and a local binary
cache serving narinfo files for what the fixture nixpkgs builds without nixgen's overlay."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from nixgen.nixpkgs.snapshot import Snapshot
from tests.nixeval import eval_flake, fixture_nixpkgs, fixture_out_paths

ROOT = Path(__file__).resolve().parents[2]
RODEO = ROOT / "examples/rodeo/requirements.txt"
DATA = Path(__file__).parent / "data"


def _serve(root: Path, out_path: str) -> None:
    """Put a narinfo for ``out_path`` into the binary cache."""
    base = out_path.removeprefix("/nix/store/")
    (root / f"{base.split('-', 1)[0]}.narinfo").write_text(f"StorePath: {out_path}\nURL: nar/{base}.nar.xz\n")


def _nixpkgs_attrs(run: Any, req: Path, *extra: str) -> list[str]:
    lock = tomllib.loads(run("lock", req, "-q", *extra).stdout)
    pins = [p["tool"]["nixgen"]["pin"] for p in lock["packages"]]
    pins += [p["pin"] for p in lock["tool"]["nixgen"].get("nixpkgs-only", [])]
    return sorted({p["attr"] for p in pins if p["provider"] == "nixpkgs" or p.get("nixpkgs-version")})


def _fill_cache(run: Any, req: Path, root: Path, tmp_path: Path, *extra: str) -> dict[str, str]:
    """Serve the out paths the fixture nixpkgs has, unchanged, for every nixpkgs attr the plan touches."""
    paths = fixture_out_paths(tmp_path, "python313", _nixpkgs_attrs(run, req, *extra))
    for path in paths.values():
        _serve(root, path)
    return paths


def test_evaluated_out_paths_agree_on_the_rodeo_then_a_missing_one_fails(
        run: Any, binary_cache: tuple[str, Path], tmp_path: Path) -> None:
    url, root = binary_cache
    nixpkgs = f"path:{fixture_nixpkgs(tmp_path)}"
    cached = _fill_cache(run, RODEO, root, tmp_path)
    good = run("verify", "--system", "x86_64-linux", RODEO, "--substituter", url, "--nixpkgs", nixpkgs)
    assert good.returncode == 0, good.stdout + good.stderr
    assert f"{len(cached)} checked (out paths from nix eval of the flake for x86_64-linux), 0 differ" in good.stdout
    assert "DIFF" not in good.stdout
    (root / f"{cached['cartopy'].removeprefix('/nix/store/').split('-')[0]}.narinfo").unlink()
    bad = run("verify", "--system", "x86_64-linux", RODEO, "--substituter", url, "--nixpkgs", nixpkgs)
    assert bad.returncode == 9
    assert (f"DIFF cartopy: predicted cached, binary cache: missing ({cached['cartopy']}) — it must be built"
            in bad.stdout)
    assert f"{len(cached)} checked (out paths from nix eval of the flake for x86_64-linux), 1 differ" in bad.stdout


def test_predicted_rebuilds_get_new_out_paths_and_a_cached_wheel_is_better_news(
        run: Any, binary_cache: tuple[str, Path], tmp_path: Path) -> None:
    url, root = binary_cache
    nixpkgs = f"path:{fixture_nixpkgs(tmp_path)}"
    req = DATA / "gdal-newer-numpy.txt"
    before = _fill_cache(run, req, root, tmp_path)
    assert "gdal" in before
    proc = run("verify", "--system", "x86_64-linux", req, "--substituter", url, "--nixpkgs", nixpkgs)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    # gdal is predicted to rebuild: its evaluated out path is not the one the cache holds.
    assert "ok   gdal: predicted rebuild, binary cache: missing" in lines
    assert "ok   numpy: predicted fetch, binary cache: missing" in lines
    assert ", 0 differ from the prediction" in proc.stdout
    # Someone (a project cache) already built the numpy wheel: that is reported, and is not a failure.
    flake = run(req).stdout
    numpy = eval_flake(flake, "legacyPackages.x86_64-linux.python313.pkgs.numpy.outPath", tmp_path)
    assert numpy != before.get("numpy")
    _serve(root, numpy)
    better = run("verify", "--system", "x86_64-linux", req, "--substituter", url, "--nixpkgs", nixpkgs)
    assert better.returncode == 0
    assert f"BETTER numpy: predicted fetch, binary cache: cached ({numpy})" in better.stdout
    assert "1 differ from the prediction: 1 cheaper than predicted" in better.stdout


def test_an_edge_nixgen_does_not_know_is_caught_by_evaluation(
        run: Any, binary_cache: tuple[str, Path], tmp_path: Path) -> None:
    # nixpkgs builds pyproj with cython (its build system; no metadata says so). Pinning another cython
    # replaces the set's cython, so pyproj rebuilds although the prediction, without that edge, says cached.
    url, root = binary_cache
    nixpkgs = f"path:{fixture_nixpkgs(tmp_path)}"
    req = tmp_path / "requirements.txt"
    req.write_text("pyproj\ncython==0.29.37\n")
    system = ("--system", "x86_64-linux")
    _fill_cache(run, req, root, tmp_path, *system)
    report = json.loads(run("report", req, "--json", *system).stdout)
    assert {p["name"]: p["status"] for p in report["systems"][0]["packages"]}["pyproj"] == "cached"
    proc = run("verify", "--system", "x86_64-linux", req, "--substituter", url, "--nixpkgs", nixpkgs, *system)
    assert proc.returncode == 9
    assert ("DIFF pyproj: predicted cached, binary cache: missing (/nix/store/" in proc.stdout
            and "— nixgen's overlay changes its out path: it rebuilds" in proc.stdout)
    assert "ok   certifi: predicted cached, binary cache: cached" in proc.stdout
    assert "nixgen nixpkgs import-nixpkgs" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_without_evaluation_the_snapshot_out_paths_are_checked(
        run: Any, binary_cache: tuple[str, Path]) -> None:
    url, root = binary_cache
    pyset = Snapshot.load().python_set()
    attrs = [a for a in _nixpkgs_attrs(run, RODEO) if a in pyset.packages]
    for attr in attrs:
        pkg = pyset.packages[attr]
        _serve(root, pkg.out_path)
    proc = run("verify", "--system", "x86_64-linux", RODEO, "--substituter", url, "--no-eval")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(attrs)} checked (out paths from the snapshot for x86_64-linux), 0 differ" in proc.stdout


def test_a_flake_nix_cannot_evaluate_is_a_clear_error(run: Any, binary_cache: tuple[str, Path],
                                                       tmp_path: Path) -> None:
    url, _root = binary_cache
    proc = run("verify", "--system", "x86_64-linux", RODEO, "--substituter", url,
               "--nixpkgs", f"path:{tmp_path / 'no-such-nixpkgs'}")
    assert proc.returncode == 10
    assert "error: nix could not evaluate the generated flake for x86_64-linux" in proc.stderr
    assert "hint: --nixpkgs FLAKEREF" in proc.stderr and "Traceback" not in proc.stderr


def test_an_unreachable_binary_cache_is_a_clear_error(run: Any) -> None:
    proc = run("verify", "--system", "x86_64-linux", RODEO, "--substituter", "http://127.0.0.1:9", "--no-eval")
    assert proc.returncode == 4
    assert "cannot reach the binary cache at http://127.0.0.1:9/" in proc.stderr and "Traceback" not in proc.stderr


def test_a_package_nixpkgs_refuses_is_named_without_failing_the_evaluation(
        run: Any, binary_cache: tuple[str, Path], tmp_path: Path) -> None:
    url, root = binary_cache
    nixpkgs = fixture_nixpkgs(tmp_path)
    _fill_cache(run, RODEO, root, tmp_path)
    data = json.loads((nixpkgs / "packages.json").read_text())
    data["pythonSets"]["python313Packages"]["docrep"]["broken"] = True
    (nixpkgs / "packages.json").write_text(json.dumps(data))
    proc = run("verify", "--system", "x86_64-linux", RODEO, "--substituter", url, "--nixpkgs", f"path:{nixpkgs}")
    # The environment could not be built: that is the costliest miss, named, and the rest still checked.
    assert proc.returncode == 9, proc.stdout + proc.stderr
    assert ("DIFF docrep: predicted cached, but nixpkgs refuses to evaluate it: broken, unfree or unsupported "
            "on this system" in proc.stdout)
    assert "ok   cartopy: predicted cached, binary cache: cached" in proc.stdout
