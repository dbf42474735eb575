"""The nix-index reader, the importer and the embedded snapshot."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import zstandard

from nixgen.errors import SnapshotError
from nixgen.nixpkgs.importer import import_nix_index
from nixgen.nixpkgs.nixindex import decode_files
from nixgen.nixpkgs.snapshot import Snapshot


def _diff(n: int) -> bytes:
    if -128 <= n <= 127 and n != -128:
        return n.to_bytes(1, "big", signed=True)
    return b"\x80" + n.to_bytes(2, "big", signed=True)


class Encoder:
    """Writes the nix-index v1 stream: prefix-compressed entries, package entries after their files."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.prev = b""
        self.shared = 0

    def entry(self, meta: bytes, path: bytes) -> None:
        common = 0
        while common < min(len(path), len(self.prev)) and path[common] == self.prev[common]:
            common += 1
        self.out += meta + b"\x00" + _diff(common - self.shared) + path[common:] + b"\n"
        self.shared, self.prev = common, path

    def store_path(self, files: list[tuple[str, str]], attr: str, name: str, hash_: str,
                   output: str = "out", toplevel: bool = True) -> None:
        for kind, path in files:
            self.entry(b"1" + kind.encode(), path.encode())
        info = {"store_dir": "/nix/store", "hash": hash_, "name": name,
                "origin": {"attr": attr, "output": output, "toplevel": toplevel, "system": "x86_64-linux"}}
        self.entry(b"p", json.dumps(info).encode())

    def file(self, path: Path) -> Path:
        path.write_bytes(b"NIXI" + (1).to_bytes(8, "little") + zstandard.ZstdCompressor().compress(bytes(self.out)))
        return path


SITE = "/lib/python3.13/site-packages"
LONG = "/share/" + "d" * 300  # forces the two-byte diff form


def _database(tmp_path: Path) -> Path:
    enc = Encoder()
    enc.store_path([("d", ""), ("d", "/bin"), ("r", "/bin/python3.13")], "somePackages.python",
                   "python3-3.13.12", "a" * 32)
    enc.store_path([("d", ""), ("d", "/lib"), ("d", SITE), ("d", f"{SITE}/numpy"),
                    ("d", f"{SITE}/numpy-2.4.2.dist-info"), ("r", f"{SITE}/numpy-2.4.2.dist-info/METADATA"),
                    ("d", LONG), ("r", LONG + "/x")],
                   "python313Packages.numpy", "python3.13-numpy-2.4.2", "b" * 32)
    # Two attrs installing one distribution: the attr named after it is canonical.
    enc.store_path([("d", ""), ("d", f"{SITE}/Cartopy-0.25.0.dist-info")], "python313Packages.cartopy-bin",
                   "python3.13-cartopy-bin-0.25.0", "c" * 32)
    enc.store_path([("d", ""), ("d", f"{SITE}/Cartopy-0.25.0.dist-info")], "python313Packages.cartopy",
                   "python3.13-cartopy-0.25.0", "d" * 32)
    enc.store_path([("d", ""), ("d", f"{SITE}/docrep-0.3.2-py3.13.egg-info")], "python313Packages.docrep",
                   "python3.13-docrep-0.3.2", "e" * 32)
    enc.store_path([("d", ""), ("d", f"{SITE}/hidden-1.0.dist-info")], "python313Packages.hidden",
                   "python3.13-hidden-1.0", "f" * 32, toplevel=False)
    enc.store_path([("d", ""), ("d", "/lib"), ("r", "/lib/libsodium.so.26")], "libsodium", "libsodium-1.0.21",
                   "g" * 32)
    enc.store_path([("d", ""), ("d", "/lib"), ("r", "/lib/libc.so.6")], "glibc", "glibc-2.42-51", "h" * 32)
    enc.store_path([("d", ""), ("r", "/README")], "cowsay", "cowsay-3.8", "i" * 32)
    return enc.file(tmp_path / "index-x86_64-linux")


def test_decoder_handles_negative_and_two_byte_diffs() -> None:
    enc = Encoder()
    paths = ["", "/a", "/a/bb", "/a/bb/" + "c" * 200, "/a/bb/" + "c" * 200 + "/dd", "/z"]
    for p in paths:
        enc.entry(b"1d", p.encode())
    assert [p.decode() for _k, p in decode_files(bytes(enc.out))] == paths


def test_import_builds_the_snapshot(tmp_path: Path) -> None:
    snap = import_nix_index(_database(tmp_path), tmp_path / "snap", nixpkgs_rev="r" * 40, nar_hash="sha256-x",
                            last_modified=1, rev_note="test")
    assert snap.meta.python3 == "python313"
    assert snap.meta.glibc_version == "2.42"
    assert snap.interpreters == {"python313": "3.13.12"}
    pyset = snap.python_set()
    assert pyset.by_pypi_name("NumPy") is not None and pyset.by_pypi_name("numpy").version == "2.4.2"  # type: ignore[union-attr]
    assert pyset.by_pypi_name("cartopy").attr == "cartopy"  # type: ignore[union-attr]
    assert [p.attr for p in pyset.attrs_for("cartopy")] == ["cartopy", "cartopy-bin"]
    assert pyset.by_pypi_name("docrep").version == "0.3.2"  # type: ignore[union-attr]
    assert pyset.by_pypi_name("hidden") is None
    assert snap.has_native("libsodium") and snap.has_native("cowsay")
    assert not snap.has_native("python313Packages.numpy")
    assert snap.knows_toplevel("libsodium.dev") and not snap.knows_toplevel("nonexistent")


def test_save_is_deterministic(tmp_path: Path) -> None:
    db = _database(tmp_path)
    kw = dict(nixpkgs_rev="r" * 40, nar_hash="", last_modified=0, rev_note="")
    import_nix_index(db, tmp_path / "one", **kw)  # type: ignore[arg-type]
    import_nix_index(db, tmp_path / "two", **kw)  # type: ignore[arg-type]
    for f in sorted((tmp_path / "one").iterdir()):
        assert f.read_bytes() == (tmp_path / "two" / f.name).read_bytes()


def test_bad_files_are_snapshot_errors(tmp_path: Path) -> None:
    kw = dict(nixpkgs_rev="r", nar_hash="", last_modified=0, rev_note="")
    bad = tmp_path / "bad"
    bad.write_bytes(b"NOPE" + bytes(8))
    with pytest.raises(SnapshotError, match="not a nix-index database"):
        import_nix_index(bad, tmp_path / "o", **kw)  # type: ignore[arg-type]
    v2 = tmp_path / "v2"
    v2.write_bytes(b"NIXI" + (2).to_bytes(8, "little"))
    with pytest.raises(SnapshotError, match="format version 2"):
        import_nix_index(v2, tmp_path / "o", **kw)  # type: ignore[arg-type]
    whole = _database(tmp_path).read_bytes()
    cut = tmp_path / "cut"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(SnapshotError):
        import_nix_index(cut, tmp_path / "o", **kw)  # type: ignore[arg-type]
    with pytest.raises(SnapshotError, match="no such file"):
        import_nix_index(tmp_path / "absent", tmp_path / "o", **kw)  # type: ignore[arg-type]


def test_embedded_snapshot_has_the_recorded_facts() -> None:
    start = time.perf_counter()
    snap = Snapshot.load()
    pyset = snap.python_set()
    assert time.perf_counter() - start < 5  # a sanity bound only; speed is measured in benchmarks/
    assert snap.meta.nixpkgs_rev == "46db2e09e1d3f113a13c0d7b81e2f221c63b8ce9"
    assert snap.meta.source_sha256 == "e82e77f305c2782d232e9535c12aea9c819dd184e5727ca67e34d9f092814cdb"
    assert pyset.interpreter == "python313" and pyset.python_version == "3.13.12"
    facts = {"numpy": "2.4.2", "scipy": "1.17.1", "torch": "2.10.0", "tensorflow": "2.20.0",
             "cartopy": "0.25.0", "shapely": "2.1.2", "pyproj": "3.7.2", "fiona": "1.10.1",
             "matplotlib": "3.10.8", "docrep": "0.3.2", "pynacl": "1.6.2", "pyworld": "0.3.5"}
    assert {n: pyset.by_pypi_name(n).version for n in facts} == facts  # type: ignore[union-attr]
    assert pyset.by_pypi_name("cartopy").out_hash == "96lyhy9xl0vrcypmc442gpyx8isvvb8g"  # type: ignore[union-attr]
    for lib in ("gdal", "geos", "proj", "libsodium", "libpq", "libmysqlclient", "graphviz"):
        assert snap.has_native(lib), lib
    assert len(pyset.packages) > 9000
    assert len(snap.python_set("python314").packages) > 8500
