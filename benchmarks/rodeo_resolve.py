"""Time nixgen against `uv pip compile` on the same requirements and target, cold and warm, in one run.

Cold: both start from an empty cache (a fresh directory per run). Warm: both have a full cache and run with
--offline. The two tools are run alternately so drift on a shared machine hits both alike; the script prints
medians and the ratios nixgen/uv against the targets (warm <= 2x, cold <= 1.5x).

    python benchmarks/rodeo_resolve.py [--runs 5] [--requirements examples/rodeo/requirements.txt]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"cold": 1.5, "warm": 2.0}


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requirements", type=Path, default=ROOT / "examples/rodeo/requirements.txt")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--index-url", help="default: pip's configuration, as nixgen uses it")
    parser.add_argument("--exclude-newer", help="passed to both tools")
    args = parser.parse_args()

    from nixgen.nixpkgs.snapshot import Snapshot
    from nixgen.pypi import default_index_url

    uv = shutil.which("uv")
    if uv is None:
        sys.exit("uv is not installed: pip install uv")
    meta = Snapshot.load().meta
    python = Snapshot.load().interpreters[meta.python3]
    py_minor = ".".join(python.split(".")[:2])
    # uv names manylinux levels up to 2.40; nixpkgs' glibc may be newer (2.42 in the embedded snapshot).
    # Wheels above 2.40 are rare, so the two tools still see the same candidates.
    major, minor = (int(x) for x in (meta.glibc_version or "2.17").split(".")[:2])
    glibc = f"{major}_{min(minor, 40)}"
    url = args.index_url or default_index_url()
    extra = ["--exclude-newer", args.exclude_newer] if args.exclude_newer else []
    req = str(args.requirements)

    def nixgen_cmd(cache: str, offline: bool) -> list[str]:
        cmd = [sys.executable, "-m", "nixgen", "generate", req, "-q", "-o", os.devnull,
               "--index-url", url, "--cache-dir", cache, *extra]
        return cmd + (["--offline"] if offline else [])

    def uv_cmd(cache: str, offline: bool) -> list[str]:
        cmd = [uv, "pip", "compile", req, "-q", "-o", os.devnull, "--python-version", py_minor,
               "--python-platform", f"x86_64-manylinux_{glibc}", "--index-url", url, "--cache-dir", cache,
               *extra]
        return cmd + (["--offline"] if offline else [])

    results: dict[str, tuple[list[float], list[float]]] = {"cold": ([], []), "warm": ([], [])}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            n_cache, u_cache = f"{tmp}/cold-n{i}", f"{tmp}/cold-u{i}"
            results["cold"][0].append(timed(nixgen_cmd(n_cache, False)))
            results["cold"][1].append(timed(uv_cmd(u_cache, False)))
        n_warm, u_warm = f"{tmp}/cold-n0", f"{tmp}/cold-u0"  # filled by the first cold run
        timed(nixgen_cmd(n_warm, True))
        timed(uv_cmd(u_warm, True))
        for _ in range(args.runs):
            results["warm"][0].append(timed(nixgen_cmd(n_warm, True)))
            results["warm"][1].append(timed(uv_cmd(u_warm, True)))

    print(f"{args.requirements.name}: python {py_minor}, x86_64-manylinux_{glibc}, {args.runs} runs each")
    print(f"{'case':6} {'nixgen (median s)':>18} {'uv (median s)':>14} {'ratio':>7} {'target':>7}")
    for case, (ours, theirs) in results.items():
        a, b = statistics.median(ours), statistics.median(theirs)
        ratio = a / b
        verdict = "ok" if ratio <= TARGETS[case] else "over"
        print(f"{case:6} {a:18.3f} {b:14.3f} {ratio:7.2f} {'<=' + str(TARGETS[case]):>7} {verdict}")


if __name__ == "__main__":
    main()
