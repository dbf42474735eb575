"""Retries with backoff on 5xx and timeouts; errors that name the URL and say what to do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from nixgen.errors import IndexAccessError
from nixgen.pypi import Index
from tests.indexserver import FixtureIndex, IndexServer
from tests.pypi.helpers import index_for

Make = Callable[[Path], IndexServer]


@pytest.fixture()
def server(tmp_path: Path, make_index_server: Make) -> IndexServer:
    idx = FixtureIndex(tmp_path / "index")
    idx.add_wheel("flaky", "1.0", requires=["dep"])
    return make_index_server(idx.write())


def test_503_is_retried_then_succeeds(server: IndexServer, tmp_path: Path) -> None:
    server.fail(2, 503)
    fetched: list[tuple[str, int]] = []
    with index_for(server, tmp_path / "cache", on_fetch=lambda url, n: fetched.append((url, n))) as index:
        assert len(index.project("flaky").files) == 1
    assert [r.status for r in server.requests] == [503, 503, 200]
    assert fetched == [(server.url + "flaky/", fetched[0][1])] and fetched[0][1] > 0


def test_persistent_503_names_the_url(server: IndexServer, tmp_path: Path) -> None:
    server.fail(10, 503)
    with index_for(server, tmp_path / "cache", retries=3) as index, pytest.raises(IndexAccessError) as err:
        index.project("flaky")
    assert server.count() == 3
    assert f"{server.url}flaky/" in err.value.message and "503" in err.value.message
    assert err.value.hint and "--index-url" in err.value.hint and "--offline" in err.value.hint


def test_a_hanging_server_times_out_and_is_retried(server: IndexServer, tmp_path: Path) -> None:
    server.hang(1, 1.0)
    with index_for(server, tmp_path / "cache", timeout=0.3) as index:
        assert len(index.project("flaky").files) == 1


def test_an_unreachable_index(tmp_path: Path) -> None:
    index = Index(["http://127.0.0.1:9/simple/"], cache_dir=tmp_path / "cache", retries=2, backoff=0.01,
                  timeout=1.0)
    with index, pytest.raises(IndexAccessError) as err:
        index.project("anything")
    assert "http://127.0.0.1:9/simple/anything/" in err.value.message
    assert "tried 2 times" in err.value.message


def test_forbidden_is_not_retried(server: IndexServer, tmp_path: Path) -> None:
    server.fail(5, 403)
    with index_for(server, tmp_path / "cache") as index, pytest.raises(IndexAccessError) as err:
        index.project("flaky")
    assert server.count() == 1
    assert "403" in err.value.message and err.value.hint and "credentials" in err.value.hint


def test_metadata_fetch_is_retried_too(server: IndexServer, tmp_path: Path) -> None:
    with index_for(server, tmp_path / "cache") as index:
        (wheel,) = index.project("flaky").files
        server.fail(1, 502, path=".metadata")
        assert [str(r) for r in index.metadata(wheel).requires_dist] == ["dep"]
