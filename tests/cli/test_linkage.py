"""Wheels get what their binaries link: DT_NEEDED read from a real manylinux wheel's shared objects,
mapped to nixpkgs attrs, recorded in the lock, rendered into the flake and evaluated with the fixture
nixpkgs; a wheel never inherits its sdist's build inputs."""

from __future__ import annotations

import io
import random
import re
import shutil
import subprocess
import tomllib
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nixgen.errors import MetadataError
from nixgen.lock.pylock import read_pylock, write_pylock
from nixgen.plan.linking import CC_RUNTIME_ATTR, link_libraries, soname_table
from nixgen.pypi import Index
from nixgen.pypi.linkage import TooBig, read_remote_linkage, read_wheel_linkage, table_names, wheel_linkage
from nixgen.pypi.ranges import remote_members
from nixgen.resolve.model import Artifact
from tests.cli.conftest import nixgen
from tests.indexserver import FixtureIndex, IndexServer, metadata_text
from tests.nixeval import eval_flake

TAG = "cp313-cp313-manylinux_2_17_x86_64"

MODULE_C = """
#include <zlib.h>
#include <omp.h>
#include <math.h>
extern int bundled_answer(void);
extern int mystery_answer(void);
extern int cuInit(unsigned int);
int answer(void) {
    return omp_get_max_threads() + (int)zlibVersion()[0] + bundled_answer() + mystery_answer() + (int)sqrt(4.0)
        + cuInit(0);
}
"""


def _gcc(*args: str | Path) -> None:
    gcc = shutil.which("gcc")
    assert gcc, "gcc is required to build the test wheel's shared objects"
    proc = subprocess.run([gcc, *map(str, args)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def native_wheel(tmp: Path, name: str = "nixgen-linked", version: str = "1.0", *, layout: tuple[str, ...] = (),
                 padding: int = 0) -> tuple[str, bytes]:
    """A manylinux wheel whose extension module links libgomp, libz and libm, a library it bundles under
    ``<name>.libs/`` (hashed name, as auditwheel writes it), one it neither bundles nor anyone maps, and the
    GPU driver's libcuda.so.1 (a stub here), which the host provides. ``layout``: linker options for the
    extension module (``-Wl,-z,noseparate-code``: code from its first byte); ``padding``: that many
    incompressible bytes of code in it (a big object)."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "bundled.c").write_text("int bundled_answer(void) { return 1; }\n")
    (tmp / "mystery.c").write_text("int mystery_answer(void) { return 2; }\n")
    (tmp / "blob.bin").write_bytes(random.Random(7).randbytes(padding))
    incbin = f'__asm__(".text\\n.incbin \\"{tmp / "blob.bin"}\\"\\n");\n' if padding else ""
    (tmp / "module.c").write_text(MODULE_C + incbin)
    (tmp / "cuda.c").write_text("int cuInit(unsigned int flags) { return (int)flags; }\n")
    _gcc("-shared", "-fPIC", "-Wl,-soname,libcuda.so.1", tmp / "cuda.c", "-o", tmp / "libcuda.so.1")
    bundled, mystery = tmp / "libbundled-4f2a9c1e.so.1.0", tmp / "libnixgenmystery.so.3"
    _gcc("-shared", "-fPIC", "-Wl,-soname,libbundled-4f2a9c1e.so.1.0", tmp / "bundled.c", "-o", bundled)
    _gcc("-shared", "-fPIC", "-Wl,-soname,libnixgenmystery.so.3", tmp / "mystery.c", "-o", mystery)
    module = tmp / "module.so"
    _gcc("-shared", "-fPIC", "-Wl,--no-as-needed", *layout, tmp / "module.c", "-o", module, "-L", tmp, bundled, mystery,
         tmp / "libcuda.so.1", "-lz", "-lgomp", "-lm")
    pkg = name.replace("-", "_")
    dist = f"{pkg}-{version}"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as whl:
        whl.writestr(f"{pkg}/__init__.py", "")
        whl.write(module, f"{pkg}/_core.cpython-313-x86_64-linux-gnu.so")
        whl.write(bundled, f"{pkg}.libs/libbundled-4f2a9c1e.so.1.0")
        whl.writestr(f"{pkg}/not_elf.so", "a text file with a shared object's name\n")
        whl.writestr(f"{dist}.dist-info/METADATA", metadata_text(name, version))
        whl.writestr(f"{dist}.dist-info/WHEEL", f"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: {TAG}\n")
        whl.writestr(f"{dist}.dist-info/RECORD", "")
    return f"{dist}-{TAG}.whl", buf.getvalue()


def test_needed_libraries_are_read_from_the_elf_files_less_what_the_wheel_bundles(tmp_path: Path) -> None:
    filename, data = native_wheel(tmp_path / "build")
    path = tmp_path / filename
    path.write_bytes(data)
    found = read_wheel_linkage(path)
    assert "libz.so.1" in found.needed and "libgomp.so.1" in found.needed and "libm.so.6" in found.needed
    assert "libnixgenmystery.so.3" in found.needed
    assert not any("bundled" in n for n in found.needed)
    assert "libbundled-4f2a9c1e.so.1.0" in found.provides
    assert "not_elf.so" not in found.provides


@pytest.mark.parametrize("layout", [(), ("-Wl,-z,noseparate-code",)], ids=["separate-code", "code-first"])
def test_linkage_by_ranges_is_the_whole_files_and_reads_a_fraction(
        layout: tuple[str, ...], tmp_path: Path, make_index_server: Callable[[Path], IndexServer]) -> None:
    filename, data = native_wheel(tmp_path / "build", layout=layout, padding=3_000_000)
    whole = tmp_path / filename
    whole.write_bytes(data)
    fixture = FixtureIndex(tmp_path / "index")
    entry = fixture.add_file("nixgen-linked", filename, data, metadata=metadata_text("nixgen-linked", "1.0"))
    server = make_index_server(fixture.write())
    with Index([server.url], cache_dir=tmp_path / "cache") as index:
        art = Artifact(filename, f"{server.url}../files/{filename}", entry["hashes"]["sha256"], len(data))
        found = wheel_linkage(index, "nixgen-linked", art)
    assert found is not None
    expected = read_wheel_linkage(whole)
    assert found.needed == expected.needed
    assert set(expected.provides) <= set(found.provides)
    assert not (tmp_path / "cache" / "pypi" / "artifacts").exists() or not any(
        (tmp_path / "cache" / "pypi" / "artifacts").rglob("*.whl"))
    asked = [r for r in server.requests if r.path.endswith(".whl") and r.method == "GET"]
    assert asked and all("Range" in r.headers for r in asked)
    spans = [re.fullmatch(r"bytes=(\d*)-(\d*)", r.headers["Range"]) for r in asked]
    read = sum(int(m[2]) if not m[1] else int(m[2]) - int(m[1]) + 1 for m in spans if m)
    if not layout:  # the string table sits before the code: the padding in the code is never read
        assert read < len(data) / 4, (read, len(data))


def test_a_big_object_whose_code_comes_first_is_not_streamed_through(tmp_path: Path) -> None:
    filename, data = native_wheel(tmp_path / "build", layout=("-Wl,-z,noseparate-code",), padding=2_000_000)

    def fetch(spec: str) -> tuple[bytes, int, int]:
        first, _, last = spec.removeprefix("bytes=").partition("-")
        start = len(data) - int(last) if not first else int(first)
        end = len(data) if not first else int(last) + 1
        return data[start:end], start, len(data)

    with pytest.raises(TooBig):
        read_remote_linkage(fetch, filename, budget=1_000_000)
    assert read_remote_linkage(fetch, filename).needed == read_wheel_linkage(_written(tmp_path, filename, data)).needed


def test_a_streamed_member_is_asked_for_in_growing_pieces() -> None:
    # A code-first object is streamed to its end; each request's round trip is what a stream of equal
    # 1 MB pieces waits for, so each piece asked for is twice the last, up to 8 MB.
    body = random.Random(3).randbytes(20 << 20)  # incompressible: the member is about as big deflated
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as whl:
        whl.writestr("pkg/_core.so", body)
    data = buf.getvalue()
    asked: list[int] = []

    def fetch(spec: str) -> tuple[bytes, int, int]:
        first, _, last = spec.removeprefix("bytes=").partition("-")
        start = len(data) - int(last) if not first else int(first)
        end = len(data) if not first else int(last) + 1
        asked.append(end - start)
        return data[start:end], start, len(data)

    member = next(m for m in remote_members(fetch) if m.name == "pkg/_core.so")
    asked.clear()
    assert b"".join(member.stream()) == body
    pieces = [n for n in asked if n >= 1 << 20]
    assert pieces[:4] == [1 << 20, 2 << 20, 4 << 20, 8 << 20], pieces
    assert max(pieces) == 8 << 20 and len(pieces) <= 5


def test_the_starts_of_a_wheels_objects_are_asked_for_together(tmp_path: Path) -> None:
    # Each object read alone cost two round trips (its local header, then its bytes): pillow's wheel took
    # 54. Objects less than 1 MB apart are asked for in one request; a 3 MB gap starts another.
    filename, built = native_wheel(tmp_path / "build")
    buf = io.BytesIO()
    noise = random.Random(5)
    with zipfile.ZipFile(io.BytesIO(built)) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as whl:
        objects = [i for i in src.infolist() if i.filename.endswith((".so", ".so.1.0"))]
        for copy in range(6):
            for info in objects:
                whl.writestr(f"copy{copy}/{info.filename}", src.read(info))
            whl.writestr(f"copy{copy}/filler.py", noise.randbytes(3_000_000 if copy == 2 else 200_000),
                         zipfile.ZIP_STORED)
        for info in src.infolist():
            if info not in objects:
                whl.writestr(info, src.read(info))
    data = buf.getvalue()
    asked: list[str] = []

    def fetch(spec: str) -> tuple[bytes, int, int]:
        asked.append(spec)
        first, _, last = spec.removeprefix("bytes=").partition("-")
        start = len(data) - int(last) if not first else int(first)
        end = len(data) if not first else int(last) + 1
        return data[start:end], start, len(data)

    found = read_remote_linkage(fetch, filename)
    whole = read_wheel_linkage(_written(tmp_path, filename, data))
    assert found.needed == whole.needed and "libz.so.1" in found.needed
    assert asked[0] == "bytes=-65536" and len(asked) == 3, asked  # the tail, then the objects in two groups


def _written(tmp: Path, filename: str, data: bytes) -> Path:
    (tmp / filename).write_bytes(data)
    return tmp / filename


def test_string_tables_give_whole_shared_object_names_only() -> None:
    data = (b"\x7fELF\x00libc.so.6\x00libfoo.so\x00x.so.1.2\x00bad name.so\x00lib.so.x\x00.so\x00"
            b"GLIBC_2.17\x00libm.so.6.so\x00pre.sofoo\x00libtail.so")  # the last one is not terminated
    assert table_names(data) == {"libc.so.6", "libfoo.so", "x.so.1.2", "libm.so.6.so"}
    assert table_names(b"libfirst.so\x00") == set()  # no NUL before it: not a table string


def test_sonames_map_to_attrs_and_the_rest_is_named() -> None:
    links = link_libraries(["libz.so.1", "libgomp.so.1", "libstdc++.so.6", "libm.so.6", "libc.so.6",
                            "ld-linux-x86-64.so.2", "libpthread.so.0", "libcuda.so.1", "libnvidia-ml.so.1",
                            "libcublas.so.12", "libopenblas64_p-r0-0cf96a72.3.23.dev.so", "libfoo.so.9"],
                           provided_by_plan=["libcublas.so.12"])
    assert links.linked == (CC_RUNTIME_ATTR, "zlib")
    assert links.ignored == ("libcublas.so.12", "libcuda.so.1", "libnvidia-ml.so.1")
    assert links.unmapped == ("libfoo.so.9", "libopenblas64_p-r0-0cf96a72.3.23.dev.so")
    assert link_libraries(["libopenblas.so.0"]).linked == ("openblas",)
    assert soname_table()["libssl.so.3"] == "openssl"


@pytest.fixture()
def linked_index(tmp_path: Path, make_index_server: Callable[[Path], IndexServer]) -> IndexServer:
    fixture = FixtureIndex(tmp_path / "index")
    filename, data = native_wheel(tmp_path / "build")
    text = metadata_text("nixgen-linked", "1.0")
    fixture.add_file("nixgen-linked", filename, data, metadata=text)
    return make_index_server(fixture.write())


def test_a_wheel_gets_exactly_the_libraries_it_links(linked_index: IndexServer, tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("nixgen-linked\n")
    common = ("--index-url", linked_index.url, "--cache-dir", tmp_path / "cache", "--system", "x86_64-linux")
    out = tmp_path / "pylock.toml"
    made = nixgen("lock", req, "-o", out, *common)
    assert made.returncode == 0, made.stderr
    assert "nixgen-linked 1.0 links libnixgenmystery.so.3, which nixgen maps to no nixpkgs attribute" in made.stderr
    recipe = next(p for p in tomllib.loads(out.read_text())["packages"]
                  if p["name"] == "nixgen-linked")["tool"]["nixgen"]["recipe"]
    assert recipe["linked"] == [CC_RUNTIME_ATTR, "zlib"]
    assert recipe["unmapped"] == ["libnixgenmystery.so.3"]
    # The new recipe fields round-trip through the lock's schema.
    back = read_pylock(out)
    planned = back.plans[0].package("nixgen-linked")
    assert planned is not None and planned.recipe.linked == (CC_RUNTIME_ATTR, "zlib")
    assert planned.recipe.unmapped == ("libnixgenmystery.so.3",) and planned.recipe.link_ignored == ("libcuda.so.1",)
    copy = tmp_path / "copy" / "pylock.toml"
    copy.parent.mkdir()
    copy.write_text(write_pylock(back, copy.parent))
    assert read_pylock(copy).plans == back.plans
    downloads = linked_index.count(".whl", method="GET")
    assert downloads >= 1
    # Rendering is offline: the lock alone, with the index gone.
    flake = nixgen(out)
    assert flake.returncode == 0, flake.stderr
    assert "links libnixgenmystery.so.3, which nixgen maps to no nixpkgs attribute" in flake.stdout
    summary = {p["pname"]: p for p in eval_flake(flake.stdout, "packages.x86_64-linux.default.summary", tmp_path)}
    want = [eval_flake(flake.stdout, f"legacyPackages.x86_64-linux.{a}.name", tmp_path)
            for a in (CC_RUNTIME_ATTR, "zlib")]
    assert summary["nixgen-linked"]["buildInputs"] == want
    assert summary["nixgen-linked"]["nativeBuildInputs"] == ["auto-patchelf-hook"]
    ignored = eval_flake(flake.stdout, "legacyPackages.x86_64-linux.python313.pkgs.nixgen-linked"
                         ".autoPatchelfIgnoreMissingDeps", tmp_path)
    assert ignored == ["libcuda.so.1"]
    # Read once: a second lock with the same cache neither downloads nor reads the wheel again.
    again = nixgen("lock", req, "-o", tmp_path / "again.toml", *common)
    assert again.returncode == 0, again.stderr
    assert linked_index.count(".whl", method="GET") == downloads
    assert (tmp_path / "again.toml").read_text().count('"libnixgenmystery.so.3"') == 1


def test_pillow_as_a_wheel_gets_none_of_its_sdists_inputs(run: Any, tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("pillow\n")
    proc = run(req, "--provider", "pillow=wheel", "--system", "x86_64-linux")
    assert proc.returncode == 0, proc.stderr
    # The recorded index holds no whole pillow wheel, so its linkage is unknown: said, and the C++ runtime
    # assumed; none of the sdist's image libraries.
    assert "could not read which libraries its wheel's binaries link" in proc.stderr
    summary = {p["pname"]: p for p in eval_flake(proc.stdout, "packages.x86_64-linux.default.summary", tmp_path)}
    assert summary["pillow"]["buildInputs"] == ["gcc-lib"]
    assert summary["pillow"]["nativeBuildInputs"] == ["auto-patchelf-hook"]
    assert summary["pillow"]["env"] == {}


def test_a_library_name_that_is_not_a_plain_file_name_is_refused(tmp_path: Path) -> None:
    """Names read from a wheel's binaries reach Nix strings and messages: anything but a plain file name is
    an error, whichever way the wheel is read."""
    build = tmp_path / "build"
    build.mkdir()
    (build / "evil.c").write_text("int evil(void) { return 1; }\n")
    (build / "mod.c").write_text("extern int evil(void);\nint f(void) { return evil(); }\n")
    _gcc("-shared", "-fPIC", "-Wl,-soname,lib${evil}.so", build / "evil.c", "-o", build / "libevil.so")
    _gcc("-shared", "-fPIC", "-Wl,--no-as-needed", build / "mod.c", "-o", build / "mod.so", build / "libevil.so")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as whl:
        whl.write(build / "mod.so", "evil/_mod.cpython-313-x86_64-linux-gnu.so")
        whl.writestr("evil-1.0.dist-info/METADATA", metadata_text("evil", "1.0"))
    data = buf.getvalue()
    path = tmp_path / f"evil-1.0-{TAG}.whl"
    path.write_bytes(data)
    with pytest.raises(MetadataError, match=r"the library name 'lib\$\{evil\}\.so' .* is not a plain file name"):
        read_wheel_linkage(path)

    def fetch(spec: str) -> tuple[bytes, int, int]:
        first, _, last = spec.removeprefix("bytes=").partition("-")
        start = len(data) - int(last) if not first else int(first)
        return data[start:len(data) if not first else int(last) + 1], start, len(data)

    # Read by ranges (the string table before the code), the name is never taken either.
    assert "lib${evil}.so" not in read_remote_linkage(fetch, path.name).needed
