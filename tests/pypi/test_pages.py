"""Project pages (PEP 691 JSON, PEP 503 HTML), exclude-newer, several indexes, and the page cache."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from packaging.tags import Tag
from packaging.version import Version

from nixgen.errors import IndexAccessError, OfflineMiss, ProjectNotFound
from nixgen.pypi import ProjectFiles
from nixgen.pypi.pages import metadata_wheels, parse_json_page, split_filename, tags_fit_nix
from tests.indexserver import FixtureIndex, IndexServer
from tests.pypi.helpers import index_for

Make = Callable[[Path], IndexServer]


@pytest.fixture()
def server(tmp_path: Path, make_index_server: Make) -> IndexServer:
    idx = FixtureIndex(tmp_path / "index")
    idx.add_wheel("Demo.Pkg", "1.0", requires_python=">=3.8", upload_time="2024-01-01T00:00:00Z")
    idx.add_wheel("Demo.Pkg", "2.0", yanked="broken", upload_time="2024-06-01T00:00:00.123456Z",
                  tag="cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64")
    idx.add_sdist("Demo.Pkg", "2.0", {"PKG-INFO": "Metadata-Version: 2.2\nName: demo.pkg\nVersion: 2.0\n"},
                  upload_time="2024-06-01T00:00:00Z")
    idx.add_wheel("Demo.Pkg", "3.0", upload_time="2025-01-01T00:00:00Z")
    idx.add_file("demo-pkg", "demo_pkg-3.0-cp311-cp311-win_amd64.whl", b"x")  # no target: dropped
    idx.add_file("demo-pkg", "demo_pkg-3.0-py2.7.egg", b"x")  # eggs are ignored
    idx.add_file("demo-pkg", "demo_pkg-nonsense-py3-none-any.whl", b"x")  # no PEP 440 version: skipped
    return make_index_server(idx.write())


def test_page_is_parsed(server: IndexServer, tmp_path: Path) -> None:
    with index_for(server, tmp_path / "cache") as index:
        page = index.project("demo_pkg")
    assert isinstance(page, ProjectFiles)
    assert page.name == "demo-pkg"
    assert [f.filename for f in page.files] == [
        "Demo_Pkg-1.0-py3-none-any.whl",
        "Demo_Pkg-2.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "Demo_Pkg-2.0.tar.gz",
        "Demo_Pkg-3.0-py3-none-any.whl",
    ]
    one, two, sdist, _ = page.files
    assert one.project == "demo-pkg"
    assert one.version == Version("1.0") and one.kind == "wheel"
    assert one.url == f"{server.base}/files/Demo_Pkg-1.0-py3-none-any.whl"
    assert one.requires_python == ">=3.8"
    assert one.upload_time == datetime(2024, 1, 1, tzinfo=UTC)
    assert one.has_metadata and one.metadata_sha256
    assert one.sha256 and len(one.sha256) == 64
    assert one.size is not None and one.size > 0
    assert one.tags == frozenset({Tag("py3", "none", "any")})
    assert two.yanked and not one.yanked
    assert two.upload_time == datetime(2024, 6, 1, 0, 0, 0, 123456, tzinfo=UTC)
    assert Tag("cp312", "cp312", "manylinux2014_x86_64") in two.tags
    assert sdist.kind == "sdist" and sdist.tags == frozenset() and not sdist.has_metadata


def test_exclude_newer_drops_later_files(server: IndexServer, tmp_path: Path) -> None:
    cutoff = datetime(2024, 12, 31, tzinfo=UTC)
    with index_for(server, tmp_path / "cache", exclude_newer=cutoff) as index:
        versions = {str(f.version) for f in index.project("demo-pkg").files}
    assert versions == {"1.0", "2.0"}
    # A naive datetime is taken as UTC; the cache is shared with runs without a cut-off.
    with index_for(server, tmp_path / "cache", exclude_newer=datetime(2024, 1, 1)) as index:
        assert {str(f.version) for f in index.project("demo-pkg").files} == {"1.0"}
    with index_for(server, tmp_path / "cache") as index:
        assert len(index.project("demo-pkg").files) == 4


def test_exclude_newer_and_files_without_upload_time(tmp_path: Path, make_index_server: Make) -> None:
    idx = FixtureIndex(tmp_path / "index")
    idx.add_wheel("dated", "1.0", upload_time="2020-01-01T00:00:00Z")
    idx.add_wheel("dated", "2.0", upload_time=None)
    idx.add_wheel("undated", "1.0", upload_time=None)
    server = make_index_server(idx.write())
    with index_for(server, tmp_path / "cache", exclude_newer=datetime(2021, 1, 1, tzinfo=UTC)) as index:
        # An undated file on a page that dates the others cannot be shown to be old enough: dropped.
        assert [str(f.version) for f in index.project("dated").files] == ["1.0"]
        # An index that dates nothing (no PEP 700) keeps everything.
        assert [str(f.version) for f in index.project("undated").files] == ["1.0"]


def test_unknown_project_is_project_not_found(server: IndexServer, tmp_path: Path) -> None:
    with index_for(server, tmp_path / "cache") as index, pytest.raises(ProjectNotFound) as err:
        index.project("no-such-thing")
    assert "no project named no-such-thing on the index " + server.url in err.value.message
    # The answer is cached like a page: offline, it is still "not found".
    with index_for(server, tmp_path / "cache", offline=True) as index, pytest.raises(ProjectNotFound):
        index.project("no-such-thing")


def test_several_indexes_first_index_with_the_project_serves_it_all(tmp_path: Path,
                                                                     make_index_server: Make) -> None:
    """uv's first-index rule: a later index cannot add files (a newer version) to a project an earlier
    index has, so nobody can shadow a private package by uploading it to a public index (dependency
    confusion); a project only a later index has is found there."""
    first = FixtureIndex(tmp_path / "one")
    first.add_wheel("shared", "1.0")
    second = FixtureIndex(tmp_path / "two")
    second.add_wheel("shared", "1.0")
    second.add_wheel("shared", "2.0")
    second.add_wheel("only-second", "1.0")
    one, two = make_index_server(first.write()), make_index_server(second.write())
    with index_for([one, two], tmp_path / "cache") as index:
        files = index.project("shared").files
        assert [(f.filename, f.url.startswith(one.base)) for f in files] == [
            ("shared-1.0-py3-none-any.whl", True)]
        second_only = index.project("only-second").files
        assert [f.filename for f in second_only] == ["only_second-1.0-py3-none-any.whl"]
        assert all(f.url.startswith(two.base) for f in second_only)
        with pytest.raises(ProjectNotFound) as err:
            index.project("nowhere")
        assert one.url in err.value.message and two.url in err.value.message


def test_warm_run_makes_no_requests_within_max_age(server: IndexServer, tmp_path: Path) -> None:
    with index_for(server, tmp_path / "cache") as index:
        cold = index.project("demo-pkg")
    assert server.count("/simple/") == 1
    server.reset()
    with index_for(server, tmp_path / "cache") as index:
        index.prefetch(["demo-pkg"])
        assert index.project("demo-pkg") == cold
    assert server.count() == 0


def test_stale_page_is_revalidated(server: IndexServer, tmp_path: Path) -> None:
    server.cache_control = "max-age=0"
    with index_for(server, tmp_path / "cache") as index:
        cold = index.project("demo-pkg")
    with index_for(server, tmp_path / "cache") as index:
        assert index.project("demo-pkg") == cold
    first, again = server.requests
    assert first.status == 200 and "If-None-Match" not in first.headers
    assert again.status == 304 and again.headers["If-None-Match"].startswith('"')


def test_changed_page_replaces_the_cached_one(tmp_path: Path, make_index_server: Make) -> None:
    idx = FixtureIndex(tmp_path / "index")
    idx.add_wheel("grows", "1.0")
    server = make_index_server(idx.write())
    server.cache_control = None  # no max-age: revalidate every time
    with index_for(server, tmp_path / "cache") as index:
        assert len(index.project("grows").files) == 1
    idx.add_wheel("grows", "2.0")
    idx.write()
    with index_for(server, tmp_path / "cache") as index:
        assert len(index.project("grows").files) == 2
    assert [r.status for r in server.requests] == [200, 200]


def test_offline_uses_only_the_cache(server: IndexServer, tmp_path: Path) -> None:
    server.cache_control = "max-age=0"
    with index_for(server, tmp_path / "cache") as index:
        cold = index.project("demo-pkg")
    server.reset()
    with index_for(server, tmp_path / "cache", offline=True) as index:
        index.prefetch(["demo-pkg", "other"])
        assert index.project("demo-pkg") == cold
        with pytest.raises(OfflineMiss) as err:
            index.project("other")
    assert server.count() == 0
    assert "other" in err.value.message and err.value.hint and "without --offline" in err.value.hint


def test_prefetch_fetches_in_the_background(server: IndexServer, tmp_path: Path) -> None:
    with index_for(server, tmp_path / "cache", max_workers=4) as index:
        index.prefetch(["demo-pkg", "missing-one"])
        index.prefetch(["demo-pkg"])  # already under way: not asked twice
        assert len(index.project("demo-pkg").files) == 4
        with pytest.raises(ProjectNotFound):
            index.project("missing-one")
    assert server.count("/simple/demo-pkg/") == 1


def test_html_pages_are_read_too(tmp_path: Path, make_index_server: Make) -> None:
    root = tmp_path / "index"
    (root / "simple" / "legacy").mkdir(parents=True)
    (root / "files").mkdir()
    (root / "files" / "legacy-1.0.tar.gz").write_bytes(b"x")
    (root / "simple" / "legacy" / "index.html").write_text(
        '<html><body><a href="../../files/legacy-1.0.tar.gz#sha256=' + "ab" * 32
        + '" data-requires-python="&gt;=3.9">legacy-1.0.tar.gz</a></body></html>')
    server = make_index_server(root)
    with index_for(server, tmp_path / "cache") as index:
        (only,) = index.project("legacy").files
    assert only.sha256 == "ab" * 32 and only.requires_python == ">=3.9"
    assert only.url == f"{server.base}/files/legacy-1.0.tar.gz"


def test_a_page_that_is_not_an_index_page(tmp_path: Path, make_index_server: Make) -> None:
    root = tmp_path / "index"
    (root / "simple" / "broken").mkdir(parents=True)
    (root / "simple" / "broken" / "index.json").write_text("{not json")
    with index_for(make_index_server(root), tmp_path / "cache") as index, \
            pytest.raises(IndexAccessError, match="cannot read"):
        index.project("broken")


@pytest.mark.parametrize(("filename", "expected"), [
    ("python_dateutil-2.9.0.post0-py2.py3-none-any.whl", (True, "2.9.0.post0", "py2.py3-none-any")),
    ("python-dateutil-2.9.0.tar.gz", (False, "2.9.0", "")),
    ("Python-DateUtil-2.9.0.zip", (False, "2.9.0", "")),
    ("pkg-1.0-1-py3-none-any.whl", (True, "1.0", "py3-none-any")),  # build tag
    ("python-dateutil-2.9.0.exe", None),
    ("other-2.9.0.tar.gz", None),
    ("python-dateutil-latest.tar.gz", None),
])
def test_split_filename(filename: str, expected: tuple[bool, str, str] | None) -> None:
    project = "pkg" if filename.startswith("pkg") else "python-dateutil"
    assert split_filename(filename, project) == expected


@pytest.mark.parametrize(("tags", "fits"), [
    ("py3-none-any", True),
    ("py2.py3-none-any", True),
    ("py2-none-any", False),
    ("cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64", True),
    ("cp314-cp314t-manylinux_2_28_aarch64", True),
    ("cp310-cp310-manylinux_2_17_x86_64", False),
    ("cp38-abi3-manylinux_2_17_x86_64", True),
    ("cp312-cp312-musllinux_1_1_x86_64", False),
    ("cp312-cp312-win_amd64", False),
    ("cp312-cp312-manylinux_2_17_i686", False),
    ("cp312-cp312-macosx_11_0_arm64", True),
    ("cp312-cp312-macosx_10_9_universal2", True),
    ("pp310-pypy310_pp73-manylinux_2_17_x86_64", False),
])
def test_tags_fit_nix(tags: str, fits: bool) -> None:
    assert tags_fit_nix(tags) is fits


def test_a_release_without_wheels_for_any_target_keeps_one_wheel_for_its_metadata() -> None:


    names = ["Fiona-1.8.18-cp27-cp27mu-manylinux1_x86_64.whl", "Fiona-1.8.18-cp38-cp38-macosx_10_9_x86_64.whl",
             "Fiona-1.8.18-cp39-cp39-manylinux1_x86_64.whl", "Fiona-1.8.18-cp39-cp39-win_amd64.whl",
             "Fiona-1.8.18.tar.gz", "fiona-1.10.1-cp313-cp313-manylinux_2_17_x86_64.whl",
             "fiona-1.10.1-cp39-cp39-manylinux_2_17_x86_64.whl", "fiona-1.10.1.tar.gz"]
    # 1.8.18: the newest CPython's Linux x86_64 wheel; 1.10.1 has a wheel a target installs, so nothing extra.
    assert metadata_wheels(names, "fiona") == {"Fiona-1.8.18-cp39-cp39-manylinux1_x86_64.whl"}
    page = {"files": [{"filename": n, "url": f"../../files/{n}", "hashes": {"sha256": "ab" * 32}} for n in names]}
    rows = parse_json_page(json.dumps(page).encode(), "http://127.0.0.1:1/simple/fiona/", "fiona")
    assert sorted(r[0] for r in rows) == ["Fiona-1.8.18-cp39-cp39-manylinux1_x86_64.whl", "Fiona-1.8.18.tar.gz",
                                          "fiona-1.10.1-cp313-cp313-manylinux_2_17_x86_64.whl",
                                          "fiona-1.10.1.tar.gz"]
