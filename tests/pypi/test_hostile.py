"""A hostile or broken index (issue 11): index data validated before use, cache paths from hashes only,
metadata that lies refused, and a healthy rerun on the same cache giving what a fresh cache gives."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nixgen.errors import MetadataError, NixgenError
from nixgen.pypi import DistFile, Index
from nixgen.pypi.pages import parse_json_page, plain_filename, split_filename
from tests.indexserver import FixtureIndex, IndexServer, build_wheel, metadata_text
from tests.pypi.helpers import index_for

Make = Callable[[Path], IndexServer]


def described(index: Index, name: str) -> list[tuple[str, str | None, str]]:
    """What a run learns about a project: each file with its hash and dependencies."""
    out = []
    for file in index.project(name).files:
        try:
            deps = ", ".join(sorted(str(r) for r in index.metadata(file).requires_dist))
        except NixgenError as err:
            deps = f"error: {type(err).__name__}"
        out.append((file.filename, file.sha256, deps))
    return out


def same_as_fresh(server: IndexServer, cache: Path, tmp_path: Path, name: str) -> list[tuple[str, str | None, str]]:
    """A healthy rerun on ``cache`` and a run on a fresh cache learn the same (returned)."""
    server.reset()
    with index_for(server, cache) as index:
        again = described(index, name)
    with index_for(server, tmp_path / f"fresh-{len(list(tmp_path.iterdir()))}") as index:
        fresh = described(index, name)
    assert again == fresh
    return fresh


def all_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


# -- file names ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [
    "../../../../ESCAPED/x-1.0-py3-none-any.whl", "x-1.0-py3-none-any.whl/../../y.whl", "..\\x-1.0.tar.gz",
    "x-1.0-py3-none-any.whl\x00.txt", "/etc/x-1.0.tar.gz", ".x-1.0.tar.gz", "x-1.0-py3-none-any..whl",
    "x y-1.0.tar.gz", "x-1.0.tar.gz\n",
])
def test_names_that_are_not_plain_file_names(name: str) -> None:
    assert not plain_filename(name)
    assert split_filename(name, "x") is None


def test_plain_names_still_parse() -> None:
    assert split_filename("x-1.0-py3-none-any.whl", "x") == (True, "1.0", "py3-none-any")
    assert split_filename("python-dateutil-2.9.0.post0.tar.gz", "python-dateutil") == (False, "2.9.0.post0", "")
    assert split_filename("X_Y-1!2.0+local-1-cp312-abi3-manylinux_2_17_x86_64.whl", "x-y") == \
        (True, "1!2.0+local", "cp312-abi3-manylinux_2_17_x86_64")
    assert split_filename("other-1.0-py3-none-any.whl", "x") is None  # another project's wheel


def test_a_traversing_file_name_on_a_page_is_dropped_and_creates_nothing(tmp_path: Path,
                                                                          make_index_server: Make) -> None:
    idx = FixtureIndex(tmp_path / "index")
    idx.add_wheel("x", "1.0", requires=["dep"])
    evil = idx.add_wheel("x", "2.0")
    evil["filename"] = "../../../../ESCAPED/x-2.0-py3-none-any.whl"
    foreign = idx.add_wheel("other", "3.0")
    idx.projects["x"].append(dict(foreign))  # another project's wheel listed on x's page
    server = make_index_server(idx.write())
    before = all_files(tmp_path)
    cache = tmp_path / "work" / "cache"
    with index_for(server, cache) as index:
        files = index.project("x").files
        assert [f.filename for f in files] == ["x-1.0-py3-none-any.whl"]
        assert [str(r) for r in index.metadata(files[0]).requires_dist] == ["dep"]
        assert any("ESCAPED" in n and "not a plain file name" in n for n in index.notes)
    created = all_files(tmp_path) - before
    assert created and all(cache in p.parents or p in (cache, cache.parent) for p in created)
    assert not list(tmp_path.rglob("ESCAPED"))
    same_as_fresh(server, cache, tmp_path, "x")


# -- field types and hashes ------------------------------------------------------------------------------------
BAD_ENTRIES: list[tuple[str, Any, str]] = [
    ("hashes", {"sha256": "abcd"}, "not 64 hex digits"),
    ("hashes", {"sha256": "zz"}, "not 64 hex digits"),
    ("hashes", {"sha256": "g" * 64}, "not 64 hex digits"),
    ("hashes", {"sha256": 1234}, "not a table of strings"),
    ("hashes", ["sha256"], "not a table of strings"),
    ("requires-python", 3, "requires-python is not a string"),
    ("size", "12", "size is not a whole number"),
    ("size", True, "size is not a whole number"),
    ("yanked", 1, "yanked is neither"),
    ("core-metadata", {"sha256": 5}, "core-metadata hashes are not strings"),
    ("core-metadata", {"sha256": "1234"}, "not 64 hex digits"),
    ("core-metadata", "yes", "core-metadata is neither"),
    ("url", 7, "filename or url is not a string"),
    ("url", "file:///etc/passwd", "not http(s)"),
    ("url", "javascript:alert(1)", "not http(s)"),
]


@pytest.mark.parametrize(("key", "value", "why"), BAD_ENTRIES)
def test_a_malformed_entry_is_dropped_with_a_note(tmp_path: Path, make_index_server: Make, key: str,
                                                  value: Any, why: str) -> None:
    idx = FixtureIndex(tmp_path / "index")
    idx.add_wheel("x", "1.0", requires=["dep"])
    idx.add_wheel("x", "2.0")[key] = value
    server = make_index_server(idx.write())
    cache = tmp_path / "cache"
    with index_for(server, cache) as index:
        files = index.project("x").files
        assert [f.filename for f in files] == ["x-1.0-py3-none-any.whl"]
        assert len(index.notes) == 1 and "x-2.0-py3-none-any.whl" in index.notes[0] and why in index.notes[0]
    assert same_as_fresh(server, cache, tmp_path, "x")[0][2] == "dep"


def test_hashes_are_lower_cased_and_every_kept_hash_is_64_hex() -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    page = {"files": [
        {"filename": "x-1.0.tar.gz", "url": "x-1.0.tar.gz", "hashes": {"sha256": digest.upper()}},
        {"filename": "x-1.1.tar.gz", "url": f"x-1.1.tar.gz#sha256={digest}", "hashes": {}},
        {"filename": "x-1.2.tar.gz", "url": "x-1.2.tar.gz#sha256=abc", "hashes": {}},
        {"filename": "x-1.3.tar.gz", "url": "x-1.3.tar.gz", "hashes": {"md5": "abc"}},
        "not an object",
    ]}
    notes: list[str] = []
    rows = parse_json_page(json.dumps(page).encode(), "http://h/simple/x/", "x", notes)
    assert [(r[0], r[5]) for r in rows] == [("x-1.0.tar.gz", digest), ("x-1.1.tar.gz", digest),
                                            ("x-1.3.tar.gz", None)]
    assert len(notes) == 2 and "x-1.2.tar.gz" in notes[0] and "an entry" in notes[1]


def test_a_page_that_is_not_an_object_is_a_clear_error(tmp_path: Path, make_index_server: Make) -> None:
    idx = FixtureIndex(tmp_path / "index")
    idx.add_wheel("x", "1.0")
    root = idx.write()
    (root / "simple" / "x" / "index.json").write_text('["files"]')
    server = make_index_server(root)
    with index_for(server, tmp_path / "cache") as index, pytest.raises(NixgenError) as err:
        index.project("x")
    assert "cannot read" in err.value.message and "not a JSON object" in err.value.message


# -- metadata that lies ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("md_name", "md_version"), [("other", "1.0"), ("x", "2.0"), ("x", "not a version")])
@pytest.mark.parametrize("advertised", [True, False])
def test_metadata_naming_another_distribution_is_refused(tmp_path: Path, make_index_server: Make, md_name: str,
                                                         md_version: str, advertised: bool) -> None:
    idx = FixtureIndex(tmp_path / "index")
    text = metadata_text(md_name, md_version, requires=["evil"])
    filename, data = build_wheel("x", "1.0", metadata_text("x", "1.0", requires=["good"]))
    idx.add_file("x", filename, data, metadata=text, advertise_metadata=advertised)
    server = make_index_server(idx.write())
    cache = tmp_path / "cache"
    with index_for(server, cache) as index:
        (file,) = index.project("x").files
        with pytest.raises(MetadataError) as err:
            index.metadata(file)
    assert f"names {md_name} {md_version}" in err.value.message and "x 1.0" in err.value.message
    assert same_as_fresh(server, cache, tmp_path, "x")[0][2] == "error: MetadataError"


def test_metadata_equal_under_pep440_and_pep503_is_accepted(tmp_path: Path, make_index_server: Make) -> None:
    idx = FixtureIndex(tmp_path / "index")
    filename, data = build_wheel("x.y", "1.0", metadata_text("X_Y", "1.0.0", requires=["good"]))
    idx.add_file("x-y", filename, data, metadata=metadata_text("X_Y", "1.0.0", requires=["good"]))
    server = make_index_server(idx.write())
    with index_for(server, tmp_path / "cache") as index:
        (file,) = index.project("x-y").files
        assert [str(r) for r in index.metadata(file).requires_dist] == ["good"]


# -- cache paths -----------------------------------------------------------------------------------------------
def test_artifacts_are_named_by_hash_alone(tmp_path: Path, make_index_server: Make) -> None:
    idx = FixtureIndex(tmp_path / "index")
    idx.add_wheel("x", "1.0", pep658=False)
    server = make_index_server(idx.write())
    server.ignore_range = True
    with index_for(server, tmp_path / "cache") as index:
        (file,) = index.project("x").files
        index.metadata(file)
        assert file.sha256
        path = index.artifact(file)
    assert path == tmp_path / "cache" / "pypi" / "artifacts" / file.sha256[:2] / f"{file.sha256}.whl"


@pytest.mark.parametrize("tail", ["..%2F..%2F..%2FESCAPED%2Fx-1.0-py3-none-any.whl", "%2E%2E",
                                  "x-1.0-py3-none-any.whl%00", "..%5Cx-1.0.tar.gz"])
def test_direct_references_with_encoded_paths_are_refused(tmp_path: Path, make_index_server: Make,
                                                          tail: str) -> None:
    idx = FixtureIndex(tmp_path / "index")
    idx.add_wheel("x", "1.0")
    server = make_index_server(idx.write())
    before = all_files(tmp_path)
    with index_for(server, tmp_path / "cache") as index, pytest.raises(MetadataError) as err:
        index.direct("x", f"{server.base}/files/{tail}")
    assert "not a plain" in err.value.message or "not a wheel or sdist" in err.value.message
    assert not list(tmp_path.rglob("ESCAPED"))
    assert not [p for p in all_files(tmp_path) - before if p.is_file() and "cache" not in p.parts]
    assert server.count("/files/") == 0


@pytest.mark.parametrize("fragment", ["sha256=abcd", "sha256=" + "z" * 64, "sha256=../../x"])
def test_a_direct_reference_with_a_malformed_hash(tmp_path: Path, make_index_server: Make, fragment: str) -> None:
    idx = FixtureIndex(tmp_path / "index")
    idx.add_wheel("x", "1.0")
    server = make_index_server(idx.write())
    with index_for(server, tmp_path / "cache") as index, pytest.raises(MetadataError) as err:
        index.direct("x", f"{server.base}/files/x-1.0-py3-none-any.whl#{fragment}")
    assert "64 hex digits" in err.value.message


def test_a_direct_reference_still_works(tmp_path: Path, make_index_server: Make) -> None:
    idx = FixtureIndex(tmp_path / "index")
    entry = idx.add_wheel("x", "1.0", requires=["dep"])
    server = make_index_server(idx.write())
    url = f"{server.base}/files/x-1.0-py3-none-any.whl#sha256={entry['hashes']['sha256']}"
    with index_for(server, tmp_path / "cache") as index:
        file, md = index.direct("x", url)
    assert isinstance(file, DistFile) and [str(r) for r in md.requires_dist] == ["dep"]
    assert file.sha256 == entry["hashes"]["sha256"]
    assert os.path.basename(index.cache.artifact_path(file.sha256, file.filename)) == f"{file.sha256}.whl"


def test_an_sdist_whose_pkg_info_names_another_distribution(tmp_path: Path, make_index_server: Make) -> None:
    idx = FixtureIndex(tmp_path / "index")
    idx.add_sdist("x", "1.0", {"PKG-INFO": "Metadata-Version: 2.2\nName: other\nVersion: 1.0\nRequires-Dist: evil\n"})
    idx.add_sdist("x", "2.0", {"PKG-INFO": "Metadata-Version: 2.2\nName: X\nVersion: 2.0.0\nRequires-Dist: good\n"})
    server = make_index_server(idx.write())
    cache = tmp_path / "cache"
    with index_for(server, cache) as index:
        bad, good = index.project("x").files
        with pytest.raises(MetadataError) as err:
            index.metadata(bad)
        assert "names other 1.0" in err.value.message
        assert [str(r) for r in index.metadata(good).requires_dist] == ["good"]
    same_as_fresh(server, cache, tmp_path, "x")
