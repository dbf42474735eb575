"""How long loading the embedded snapshot takes (a check to run by hand, not a test).

    python -m tests.nixpkgs.timing_check [snapshot-dir]

Each measurement runs in a fresh interpreter, so that nothing is cached; the target for meta + the default
package set is well under 100 ms (about 10 ms on the development machines).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

_PROBE = r"""
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from nixgen.nixpkgs.snapshot import Snapshot
t1 = time.perf_counter()
snap = Snapshot.read(Path(sys.argv[1])) if len(sys.argv) > 1 else Snapshot.load()
t2 = time.perf_counter()
pyset = snap.python_set()
pyset.by_pypi_name("numpy")
t3 = time.perf_counter()
snap.native("gdal")
t4 = time.perf_counter()
snap.knows_toplevel("openssl")
t5 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "meta": t2 - t1, "default set": t3 - t2, "meta + default set": t3 - t1,
                  "native.tsv": t4 - t3, "knows_toplevel by store name": t5 - t4}))
"""


def main(argv: list[str]) -> None:
    runs = [json.loads(subprocess.run([sys.executable, "-c", _PROBE, *argv], check=True, capture_output=True,
                                      text=True).stdout) for _ in range(5)]
    for key in runs[0]:
        print(f"{key:>30}: {1000 * statistics.median(r[key] for r in runs):6.1f} ms (median of {len(runs)})")


if __name__ == "__main__":
    main(sys.argv[1:])
