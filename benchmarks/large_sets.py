"""Time nixgen against uv on large real-world requirement sets (benchmarks/sets/), cold and warm, in one run.

Two comparisons per set, each tool run as a whole process the way a user runs it:

- one system: ``nixgen generate --system x86_64-linux`` against ``uv pip compile --python-platform
  x86_64-manylinux_<glibc>``, both for the snapshot's python3;
- four systems: ``nixgen generate`` with its defaults (the four Nix systems) against ``uv pip compile
  --universal`` (one resolution for every platform).

nixgen runs from compiled bytecode, as an installed copy does (the script compiles nixgen and the
environment's packages once, into its own ``PYTHONPYCACHEPREFIX``, before timing anything).

Cold: both tools start from empty caches (a fresh ``--cache-dir`` and a fresh ``XDG_CACHE_HOME`` per run, so a
build backend's own downloads are cold too), against the same index. Warm: both caches filled by a previous
run, and ``--offline``. The tools are interleaved (nixgen, uv, nixgen, uv, …) so drift on a shared machine hits
both alike. The uv version is pinned (``UV_VERSION``): a different uv is refused unless ``--any-uv``.

    python benchmarks/large_sets.py [--cold-runs 3] [--warm-runs 5] [--set netbox] [--index-url URL]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parent.parent
SETS = ROOT / "benchmarks" / "sets"
UV_VERSION = "0.13.9"  # the uv these numbers are compared with; `pip install uv==0.13.9`

Case = Literal["one system", "four systems"]
CASES: tuple[Case, ...] = ("one system", "four systems")


@dataclass
class Timings:
    """Seconds per run of one tool in one (set, case, cache state)."""

    nixgen: list[float]
    uv: list[float]

    def medians(self) -> tuple[float, float]:
        return statistics.median(self.nixgen), statistics.median(self.uv)


def run(cmd: Sequence[str], env: dict[str, str], capture: bool = False) -> tuple[float, str]:
    """Run ``cmd`` to completion: wall-clock seconds, and its stdout when ``capture``."""
    start = time.perf_counter()
    proc = subprocess.run(list(cmd), stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-4000:]}")
    return elapsed, proc.stdout if capture else ""


def uv_version(uv: str) -> str:
    """The version ``uv --version`` prints (``uv 0.13.9 (…)`` → ``0.13.9``)."""
    out = subprocess.run([uv, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.match(r"uv (\S+)", out)
    if not match:
        sys.exit(f"cannot read uv's version from {out!r}")
    return match.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", dest="sets", action="append", metavar="NAME",
                        help="a file benchmarks/sets/NAME.txt (repeatable; default: all of them)")
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--warm-runs", type=int, default=5)
    parser.add_argument("--index-url", help="default: pip's configuration, as nixgen uses it")
    parser.add_argument("--exclude-newer", help="passed to both tools")
    parser.add_argument("--any-uv", action="store_true", help=f"run with a uv other than {UV_VERSION}")
    args = parser.parse_args()

    from nixgen.nixpkgs.snapshot import Snapshot
    from nixgen.pypi import default_index_url

    uv = shutil.which("uv")
    if uv is None:
        sys.exit(f"uv is not installed: pip install uv=={UV_VERSION}")
    version = uv_version(uv)
    if version != UV_VERSION and not args.any_uv:
        sys.exit(f"uv {version} is installed; these benchmarks pin uv {UV_VERSION} (pip install uv=={UV_VERSION}, "
                 "or --any-uv)")
    snapshot = Snapshot.load()
    python = snapshot.interpreters[snapshot.meta.python3]
    py_minor = ".".join(python.split(".")[:2])
    # uv names manylinux levels up to 2.40; nixpkgs' glibc may be newer (2.42 in the embedded snapshot).
    major, minor = (int(x) for x in (snapshot.meta.glibc_version or "2.17").split(".")[:2])
    platform = f"x86_64-manylinux_{major}_{min(minor, 40)}"
    url = args.index_url or default_index_url()
    extra = ["--exclude-newer", args.exclude_newer] if args.exclude_newer else []
    names = args.sets or sorted(p.stem for p in SETS.glob("*.txt"))

    def nixgen_cmd(req: Path, case: Case, cache: Path, offline: bool) -> list[str]:
        systems = ["--system", "x86_64-linux"] if case == "one system" else []
        return [sys.executable, "-m", "nixgen", "generate", str(req), "-q", "-o", os.devnull, "--index-url", url,
                "--cache-dir", str(cache), *systems, *extra, *(["--offline"] if offline else [])]

    def uv_cmd(req: Path, case: Case, cache: Path, offline: bool, out: str = os.devnull) -> list[str]:
        target = ["--python-platform", platform] if case == "one system" else ["--universal"]
        return [uv, "pip", "compile", str(req), "-q", "--no-header", "-o", out, "--python-version", py_minor,
                *target, "--index-url", url, "--cache-dir", str(cache), *extra,
                *(["--offline"] if offline else [])]

    def env_with(xdg: Path) -> dict[str, str]:
        env = {**os.environ, "XDG_CACHE_HOME": str(xdg), "PIP_NO_CACHE_DIR": "1"}
        # nixgen runs from compiled bytecode, as pip installs it (pip compiles at install time); a machine
        # that sets PYTHONDONTWRITEBYTECODE would otherwise charge every run for compiling nixgen's modules.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
        return env

    results: dict[tuple[str, Case, str], Timings] = {}
    sizes: dict[str, int] = {}
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="nixgen-bench-") as tmp_name:
        tmp = Path(tmp_name)
        pycache = tmp / "pycache"
        compiled = [str(ROOT / "nixgen"), sysconfig.get_paths()["purelib"]]
        subprocess.run([sys.executable, "-m", "compileall", "-q", *compiled], env=env_with(tmp / "xdg"),
                       stdout=subprocess.DEVNULL, check=False)
        for name in names:
            req = SETS / f"{name}.txt"
            for case in CASES:
                cold = results[(name, case, "cold")] = Timings([], [])
                warm = results[(name, case, "warm")] = Timings([], [])
                for i in range(args.cold_runs):
                    base = tmp / f"{name}-{case.replace(' ', '-')}-{i}"
                    cold.nixgen.append(run(nixgen_cmd(req, case, base / "n", False), env_with(base / "xdg-n"))[0])
                    cold.uv.append(run(uv_cmd(req, case, base / "u", False), env_with(base / "xdg-u"))[0])
                    print(f"  {name} {case} cold #{i + 1}: nixgen {cold.nixgen[-1]:.2f} s, uv {cold.uv[-1]:.2f} s",
                          file=sys.stderr)
                base = tmp / f"{name}-{case.replace(' ', '-')}-0"  # filled by the first cold run
                for _ in range(args.warm_runs):
                    warm.nixgen.append(run(nixgen_cmd(req, case, base / "n", True), env_with(base / "xdg-n"))[0])
                    warm.uv.append(run(uv_cmd(req, case, base / "u", True), env_with(base / "xdg-u"))[0])
                if case == "one system":
                    pins = tmp / f"{name}.pins"
                    run(uv_cmd(req, case, base / "u", True, out=str(pins)), env_with(base / "xdg-u"))
                    sizes[name] = sum(1 for line in pins.read_text().splitlines() if "==" in line)

    print(f"{started:%Y-%m-%d %H:%M} UTC; uv {version}; python {py_minor}; one system = x86_64-linux / {platform}; "
          f"four systems = nixgen's default against uv --universal; {args.cold_runs} cold and {args.warm_runs} "
          "warm (--offline) runs each, medians in seconds")
    print()
    print("| set | packages | case | cache | nixgen | uv | nixgen/uv |")
    print("|---|---:|---|---|---:|---:|---:|")
    for (name, case, state), timings in results.items():
        ours, theirs = timings.medians()
        print(f"| {name} | {sizes[name]} | {case} | {state} | {ours:.2f} | {theirs:.2f} | {ours / theirs:.1f}x |")


if __name__ == "__main__":
    main()
