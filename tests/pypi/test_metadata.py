"""Core metadata: PEP 658 files, HTTP range reads of wheels, whole downloads, sdists, direct references."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from nixgen.errors import HashMismatch, MetadataError, OfflineMiss
from nixgen.pypi import CoreMetadata, DistFile, Index
from nixgen.pypi.model import only_extra
from tests.indexserver import FixtureIndex, IndexServer, build_wheel, metadata_text
from tests.pypi.helpers import index_for

Make = Callable[[Path], IndexServer]
REQUIRES = ['numpy>=1.26; python_version >= "3.12"', 'rich; extra == "pretty"']


def only(index: Index, name: str) -> DistFile:
    (file,) = index.project(name).files
    return file


def serve_one(tmp_path: Path, make: Make, **wheel: object) -> IndexServer:
    idx = FixtureIndex(tmp_path / "index")
    idx.add_wheel("pkg", "1.0", requires=REQUIRES, provides_extra=["pretty"], **wheel)  # type: ignore[arg-type]
    return make(idx.write())


def wheel_requests(server: IndexServer) -> list[str | None]:
    """The Range header of each request for the wheel itself (None: whole file)."""
    return [r.headers.get("Range") for r in server.requests if r.path.endswith(".whl")]


def test_pep658_metadata(tmp_path: Path, make_index_server: Make) -> None:
    server = serve_one(tmp_path, make_index_server)
    with index_for(server, tmp_path / "cache") as index:
        md = index.metadata(only(index, "pkg"))
    assert (md.name, md.version, md.source, md.trusted) == ("pkg", "1.0", "pep658", True)
    assert [str(r) for r in md.requires_dist] == REQUIRES
    assert md.provides_extra == ("pretty",)
    assert server.count(".metadata") == 1 and wheel_requests(server) == []


def test_pep658_metadata_is_tried_even_when_not_advertised(tmp_path: Path, make_index_server: Make) -> None:
    server = serve_one(tmp_path, make_index_server, advertise_metadata=False)
    with index_for(server, tmp_path / "cache") as index:
        file = only(index, "pkg")
        assert not file.has_metadata
        assert index.metadata(file).source == "pep658"


def test_pep658_metadata_with_a_wrong_hash(tmp_path: Path, make_index_server: Make) -> None:
    idx = FixtureIndex(tmp_path / "index")
    entry = idx.add_wheel("pkg", "1.0")
    entry["core-metadata"] = {"sha256": "0" * 64}
    server = make_index_server(idx.write())
    with index_for(server, tmp_path / "cache") as index, pytest.raises(HashMismatch):
        index.metadata(only(index, "pkg"))


@pytest.mark.parametrize(("options", "ranges"), [
    ({}, 1),  # a small wheel: the tail is the whole file
    ({"padding": 200_000}, 1),  # *.dist-info last: all in the tail
    ({"padding": 200_000, "dist_info_first": True}, 2),  # tail, then the METADATA member
    ({"padding": 200_000, "dist_info_first": True, "compression": zipfile.ZIP_STORED}, 2),
    ({"members": 3000, "dist_info_first": True}, 3),  # big central directory listing *.dist-info first
    ({"members": 3000, "padding": 100_000}, 2),  # big central directory, *.dist-info last
])
def test_range_requests_when_there_is_no_metadata_file(tmp_path: Path, make_index_server: Make,
                                                      options: dict[str, object], ranges: int) -> None:
    server = serve_one(tmp_path, make_index_server, pep658=False, **options)
    with index_for(server, tmp_path / "cache") as index:
        file = only(index, "pkg")
        md = index.metadata(file)
    assert (md.source, md.trusted) == ("range", True)
    assert [str(r) for r in md.requires_dist] == REQUIRES
    sent = wheel_requests(server)
    assert len(sent) == ranges and all(sent)
    assert sent[0] == "bytes=-65536"
    assert not index.cache.artifact(file.sha256 or "", file.filename)


def test_range_read_of_a_central_directory_listing_metadata_in_the_middle(
        tmp_path: Path, make_index_server: Make) -> None:
    text = metadata_text("pkg", "1.0", requires=["six"])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as whl:
        for i in range(2000):
            whl.writestr(f"pkg/a_long_generated_module_name_for_a_big_directory_{i:05d}.py", "")
        whl.writestr("pkg-1.0.dist-info/METADATA", text)
        for i in range(2000):
            whl.writestr(f"pkg/b_long_generated_module_name_for_a_big_directory_{i:05d}.py", "")
    idx = FixtureIndex(tmp_path / "index")
    idx.add_file("pkg", "pkg-1.0-py3-none-any.whl", buf.getvalue())
    server = make_index_server(idx.write())
    with index_for(server, tmp_path / "cache") as index:
        md = index.metadata(only(index, "pkg"))
    assert md.source == "range" and [str(r) for r in md.requires_dist] == ["six"]
    assert len(wheel_requests(server)) == 4  # tail, head of the directory, the rest of it, the member


def test_server_ignoring_range_means_a_whole_download(tmp_path: Path, make_index_server: Make) -> None:
    server = serve_one(tmp_path, make_index_server, pep658=False, padding=100_000)
    server.ignore_range = True
    with index_for(server, tmp_path / "cache") as index:
        file = only(index, "pkg")
        md = index.metadata(file)
        assert md.source == "download" and md.trusted
        assert file.sha256 and index.cache.artifact(file.sha256, file.filename) is not None
    assert len(wheel_requests(server)) == 1  # the answer to the range request was the download


def test_downloaded_wheel_with_a_wrong_hash(tmp_path: Path, make_index_server: Make) -> None:
    idx = FixtureIndex(tmp_path / "index")
    entry = idx.add_wheel("pkg", "1.0", pep658=False)
    entry["hashes"]["sha256"] = "1" * 64
    server = make_index_server(idx.write())
    server.ignore_range = True
    with index_for(server, tmp_path / "cache") as index:
        file = only(index, "pkg")
        with pytest.raises(HashMismatch) as err:
            index.metadata(file)
        assert "1" * 64 in err.value.message and file.filename in err.value.message
        assert index.cache.artifact("1" * 64, file.filename) is None
        assert not list((index.cache.root / "tmp").iterdir())  # no half-written leftovers


def test_a_file_that_is_not_a_wheel(tmp_path: Path, make_index_server: Make) -> None:
    idx = FixtureIndex(tmp_path / "index")
    idx.add_file("pkg", "pkg-1.0-py3-none-any.whl", b"this is not a zip file" * 10)
    server = make_index_server(idx.write())
    with index_for(server, tmp_path / "cache") as index, pytest.raises(MetadataError, match="not a readable"):
        index.metadata(only(index, "pkg"))


def test_metadata_is_cached_forever(tmp_path: Path, make_index_server: Make) -> None:
    server = serve_one(tmp_path, make_index_server, pep658=False)
    server.cache_control = "max-age=0"
    with index_for(server, tmp_path / "cache") as index:
        index.prefetch_metadata(index.project("pkg").files)
        first = index.metadata(only(index, "pkg"))
    server.reset()
    with index_for(server, tmp_path / "cache") as index:
        assert index.metadata(only(index, "pkg")) == first
    assert server.count("/files/") == 0  # the page was revalidated, nothing else asked for
    server.reset()
    with index_for(server, tmp_path / "cache", offline=True) as index:
        index.prefetch_metadata(index.project("pkg").files)
        assert index.metadata(only(index, "pkg")) == first
    assert server.count() == 0


def test_offline_metadata_miss(tmp_path: Path, make_index_server: Make) -> None:
    server = serve_one(tmp_path, make_index_server)
    with index_for(server, tmp_path / "cache") as index:
        index.project("pkg")
    with index_for(server, tmp_path / "cache", offline=True) as index, pytest.raises(OfflineMiss) as err:
        index.metadata(only(index, "pkg"))
    assert "pkg-1.0-py3-none-any.whl" in err.value.message
    assert server.count(".metadata") == 0


# -- sdists ---------------------------------------------------------------------------------------------
PYPROJECT = """
[build-system]
requires = ["hatchling>=1.20"]
build-backend = "hatchling.build"

[project]
name = "pkg"
version = "1.0"
requires-python = ">=3.10"
dependencies = ["attrs>=23", 'tomli; python_version < "3.11"']
[project.optional-dependencies]
Fast = ['orjson; platform_system != "Windows"']
"""


def sdist_metadata(tmp_path: Path, make: Make, files: Mapping[str, str | bytes],
                   fmt: str = "tar.gz") -> tuple[Index, DistFile]:
    idx = FixtureIndex(tmp_path / "index")
    idx.add_sdist("pkg", "1.0", files, fmt=fmt)
    index = index_for(make(idx.write()), tmp_path / "cache")
    return index, only(index, "pkg")


def test_sdist_pkg_info_2_2_is_trusted(tmp_path: Path, make_index_server: Make) -> None:
    pkg_info = metadata_text("pkg", "1.0", requires=["attrs"], metadata_version="2.2", dynamic=["Classifier"])
    files = {"PKG-INFO": pkg_info, "pyproject.toml": PYPROJECT}
    index, file = sdist_metadata(tmp_path, make_index_server, files)
    with index:
        md = index.metadata(file)
        assert (md.source, md.trusted, [str(r) for r in md.requires_dist]) == ("pkg-info", True, ["attrs"])
        assert index.sdist_build_system(file) == (("hatchling>=1.20",), "hatchling.build")


def test_sdist_with_dynamic_requires_dist_falls_back_to_pyproject(tmp_path: Path,
                                                                  make_index_server: Make) -> None:
    pkg_info = metadata_text("pkg", "1.0", requires=["wrong"], metadata_version="2.2",
                             dynamic=["Requires-Dist"])
    files = {"PKG-INFO": pkg_info, "pyproject.toml": PYPROJECT}
    index, file = sdist_metadata(tmp_path, make_index_server, files, fmt="zip")
    with index:
        md = index.metadata(file)
    assert (md.source, md.trusted, md.requires_python) == ("pyproject", True, ">=3.10")
    assert [str(r) for r in md.requires_dist] == [
        "attrs>=23", 'tomli; python_version < "3.11"',
        'orjson; platform_system != "Windows" and extra == "fast"']
    assert md.provides_extra == ("fast",)


def test_sdist_with_only_a_pyproject(tmp_path: Path, make_index_server: Make) -> None:
    index, file = sdist_metadata(tmp_path, make_index_server, {"pyproject.toml": PYPROJECT, "pkg.py": ""})
    with index:
        assert index.metadata(file).source == "pyproject"


def test_sdist_with_dynamic_dependencies_and_egg_info(tmp_path: Path, make_index_server: Make) -> None:
    pyproject = '[project]\nname = "pkg"\ndynamic = ["version", "dependencies"]\n'
    requires = ("six\n\n[:python_version < \"3.8\"]\nimportlib-metadata\n\n"
                "[Docs:sys_platform == 'linux']\nsphinx\n")
    files = {"PKG-INFO": metadata_text("pkg", "1.0", metadata_version="2.1"), "pyproject.toml": pyproject,
             "src/pkg.egg-info/PKG-INFO": "", "src/pkg.egg-info/requires.txt": requires}
    index, file = sdist_metadata(tmp_path, make_index_server, files)
    with index:
        md = index.metadata(file)
        assert index.sdist_build_system(file) is None  # a pyproject without [build-system]
    assert (md.source, md.trusted) == ("egg-info", False)
    assert [str(r) for r in md.requires_dist] == [
        "six", 'importlib-metadata; python_version < "3.8"',
        'sphinx; sys_platform == "linux" and extra == "docs"']
    assert md.provides_extra == ("docs",)


def test_old_pkg_info_requires_dist_is_a_guess(tmp_path: Path, make_index_server: Make) -> None:
    pkg_info = metadata_text("pkg", "1.0", requires=["six"], metadata_version="1.2")
    files = {"PKG-INFO": pkg_info, "setup.py": ""}
    index, file = sdist_metadata(tmp_path, make_index_server, files)
    with index:
        md = index.metadata(file)
    assert (md.source, md.trusted, [str(r) for r in md.requires_dist]) == ("pkg-info", False, ["six"])


def test_sdist_that_needs_a_build(tmp_path: Path, make_index_server: Make) -> None:
    files = {"PKG-INFO": metadata_text("pkg", "1.0", metadata_version="2.1"), "setup.py": "setup()"}
    index, file = sdist_metadata(tmp_path, make_index_server, files)
    with index, pytest.raises(MetadataError, match="only through its build"):
        index.metadata(file)
    # The verdict is cached with the file's hash: offline, the same answer without the sdist.
    with Index(index.urls, cache_dir=tmp_path / "cache", offline=True) as offline:
        with pytest.raises(MetadataError, match="only through its build"):
            offline.metadata(file)
        assert offline.sdist_build_system(file) is None


# -- direct references ------------------------------------------------------------------------------
def direct_server(tmp_path: Path, make: Make) -> tuple[IndexServer, str, str]:
    filename, data = build_wheel("loose", "2.0", metadata_text("loose", "2.0", requires=["six"]))
    root = tmp_path / "direct"
    (root / "files").mkdir(parents=True)
    (root / "files" / filename).write_bytes(data)
    server = make(root)
    return server, f"{server.base}/files/{filename}", hashlib.sha256(data).hexdigest()


def test_direct_reference_to_a_wheel(tmp_path: Path, make_index_server: Make) -> None:
    server, url, sha256 = direct_server(tmp_path, make_index_server)
    with index_for(server, tmp_path / "cache") as index:
        file, md = index.direct("Loose", f"{url}#sha256={sha256}")
    assert (file.project, file.kind, str(file.version), file.sha256, file.url) == (
        "loose", "wheel", "2.0", sha256, url)
    assert (md.name, [str(r) for r in md.requires_dist], md.source) == ("loose", ["six"], "download")
    server.reset()
    with index_for(server, tmp_path / "cache", offline=True) as index:
        assert index.direct("loose", url) == (file, md)
    assert server.count() == 0


def test_direct_reference_with_a_wrong_hash(tmp_path: Path, make_index_server: Make) -> None:
    server, url, _ = direct_server(tmp_path, make_index_server)
    with index_for(server, tmp_path / "cache") as index, pytest.raises(HashMismatch):
        index.direct("loose", f"{url}#sha256={'2' * 64}")


def test_direct_reference_to_a_local_sdist(tmp_path: Path) -> None:
    from tests.indexserver import build_sdist

    pyproject = PYPROJECT.replace('"pkg"', '"local-thing"')
    filename, data = build_sdist("local-thing", "0.1", {"pyproject.toml": pyproject})
    path = tmp_path / filename
    path.write_bytes(data)
    with Index(["http://127.0.0.1:9/simple/"], cache_dir=tmp_path / "cache") as index:
        file, md = index.direct("local-thing", path.as_uri())
        assert (file.kind, str(file.version), md.source) == ("sdist", "0.1", "pyproject")
        assert index.sdist_build_system(file) == (("hatchling>=1.20",), "hatchling.build")


def test_direct_reference_to_a_vcs_url(tmp_path: Path) -> None:
    with Index(["http://127.0.0.1:9/simple/"], cache_dir=tmp_path / "cache") as index, \
            pytest.raises(MetadataError, match="version-control"):
        index.direct("thing", "git+https://example.invalid/thing.git@v1")


def test_whole_download_is_retried(tmp_path: Path, make_index_server: Make) -> None:
    server = serve_one(tmp_path, make_index_server, pep658=False)
    server.ignore_range = True
    with index_for(server, tmp_path / "cache") as index:
        file = only(index, "pkg")
        server.fail(1, 500, path=".whl")
        server.hang(1, 1.0, path=".whl")
        index.http.timeout = 0.3
        assert index.metadata(file).source == "download"
    assert [r.status for r in server.requests if r.path.endswith(".whl")][-1] == 200


# -- entries for one extra, read from the cache as text -----------------------------------------------------
@pytest.mark.parametrize(("text", "extra"), [
    ('a; extra == "dev"', "dev"),
    ('a>=1; python_version < "3.11" and extra == "dev"', "dev"),
    ('a; (python_version < "3" or os_name == "nt") and extra == "Dev_X"', "dev-x"),
    ('a; sys_platform == " or " and extra == "x"', "x"),
    ('a; python_version < "3.11" or extra == "dev"', None),
    ('a; python_version < "3" or os_name == "nt" and extra == "x"', None),
    ('a; platform_machine == "x86_64" and extra == "x" and python_version > "3"', None),
    ('a; extra != "x"', None),
    ("a", None),
    ('a @ https://host.invalid/a;b.whl ; extra == "q"', None),
])
def test_only_extra_defers_just_the_entries_that_need_their_extra(text: str, extra: str | None) -> None:
    assert only_extra(text) == extra


def test_cached_metadata_keeps_its_order_and_parses_an_extra_only_when_asked() -> None:
    texts = ['base>=1', 'dev-tool; extra == "dev"', 'linux-only; sys_platform == "linux"',
             'doc-tool; python_version >= "3.9" and extra == "docs"', 'other; extra == "dev"']
    md = CoreMetadata.from_json({"name": "p", "version": "1", "requires_dist": texts, "requires_python": None,
                                 "provides_extra": ["dev", "docs"], "source": "pep658", "trusted": True})
    assert [str(r) for r in md.parsed] == [texts[0], texts[2]]  # the others are text until asked for
    assert [str(r) for r in md.requirements()] == [texts[0], texts[2]]
    assert [str(r) for r in md.requirements({"dev"})] == [texts[0], texts[1], texts[2], texts[4]]
    assert [str(r) for r in md.all_requirements()] == [str(r) for r in md.requires_dist] == texts
    assert md.to_json()["requires_dist"] == texts


def test_a_damaged_deferred_entry_is_a_metadata_error() -> None:
    md = CoreMetadata.from_json({"name": "p", "version": "1", "requires_dist": ['b c d; extra == "x"'],
                                 "requires_python": None, "provides_extra": ["x"], "source": "pep658",
                                 "trusted": True})
    assert md.requirements() == []
    with pytest.raises(MetadataError, match="not PEP 508"):
        md.requirements({"x"})
