"""A quick performance check of the index client (not a test): cold, then warm, project() + metadata().

    python tests/pypi/perf_check.py [--index-url URL] [--cache-dir DIR] [--runs 5] [NAME ...]

The first pass fills the cache (network, unless the cache is warm already); the warm passes run offline in
a fresh ``Index`` each and time ``project()`` for every name plus ``metadata()`` of one file per project
(the newest release's wheel for CPython 3.13 on x86_64 manylinux, else its sdist). The default names are
the rodeo closure (cartopy, tensorflow, docrep and their dependencies, 46 projects). With the recorder in
front (tests/fixtures/record_index.py, ``--index-url {url} --cache-dir {tmp}``) it records those answers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from packaging.tags import Tag

from nixgen.errors import MetadataError
from nixgen.pypi import DistFile, Index, ProjectFiles

RODEO = ["absl-py", "astunparse", "cartopy", "certifi", "charset-normalizer", "contourpy", "cycler",
    "docrep", "flatbuffers", "fonttools", "gast", "google-pasta", "grpcio", "h5py", "idna", "keras",
    "kiwisolver", "libclang", "markdown-it-py", "matplotlib", "mdurl", "ml-dtypes", "namex", "numpy",
    "opt-einsum", "optree", "packaging", "pillow", "protobuf", "pygments", "pyparsing", "pyproj",
    "pyshp", "python-dateutil", "requests", "rich", "setuptools", "shapely", "six", "tensorflow",
    "termcolor", "typing-extensions", "tzdata", "urllib3", "wheel", "wrapt"]

ACCEPTED = {Tag(i, a, p) for i, a in (("cp313", "cp313"), ("cp313", "abi3"), ("py3", "none"), ("py2", "none"))
            for p in ("any", "manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")}


def pick(page: ProjectFiles) -> DistFile | None:
    releases = sorted({f.version for f in page.files if not f.version.is_prerelease and not f.yanked},
                      reverse=True)
    for version in releases:
        files = [f for f in page.files if f.version == version]
        wheels = [f for f in files if f.tags & ACCEPTED]
        if wheels:
            return wheels[0]
        sdists = [f for f in files if f.kind == "sdist"]
        if sdists:
            return sdists[0]
    return None


def one_pass(index: Index, names: list[str]) -> tuple[int, int]:
    index.prefetch(names)
    pages = {name: index.project(name) for name in names}
    chosen = [f for f in (pick(p) for p in pages.values()) if f is not None]
    index.prefetch_metadata(chosen)
    for file in chosen:
        try:
            index.metadata(file)
        except MetadataError as err:
            print(f"  {file.filename}: {err.message}", file=sys.stderr)
    return sum(len(p.files) for p in pages.values()), len(chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-url")
    parser.add_argument("--cache-dir", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()
    names = args.names or RODEO
    cache = args.cache_dir or Path(tempfile.mkdtemp(prefix="nixgen-perf-"))
    urls = [args.index_url] if args.index_url else None
    fetched = [0, 0]

    def count(url: str, nbytes: int) -> None:
        fetched[0] += 1
        fetched[1] += nbytes

    start = time.perf_counter()
    with Index(urls, cache_dir=cache, on_fetch=count) as index:
        files, metas = one_pass(index, names)
    cold = time.perf_counter() - start
    print(f"first pass: {cold * 1000:.0f} ms, {fetched[0]} requests, {fetched[1] / 1e6:.1f} MB; "
          f"{len(names)} projects, {files} files, {metas} metadata")
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        with Index(urls, cache_dir=cache, offline=True) as index:
            one_pass(index, names)
        times.append(time.perf_counter() - start)
    print(f"warm (offline): min {min(times) * 1000:.1f} ms, median {statistics.median(times) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
