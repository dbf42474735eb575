"""Fixtures shared by the whole test suite: the local package index (see tests/indexserver.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.indexserver import IndexServer

FIXTURE_INDEX = Path(__file__).parent / "fixtures" / "index"


@pytest.fixture(scope="session")
def index_server() -> Iterator[IndexServer]:
    """The recorded index in tests/fixtures/index, served at ``index_server.url`` (don't change its knobs)."""
    with IndexServer(FIXTURE_INDEX) as server:
        yield server


@pytest.fixture()
def make_index_server() -> Iterator[Callable[[Path], IndexServer]]:
    """A factory: ``make_index_server(directory)`` serves another index directory for this test."""
    started: list[IndexServer] = []

    def make(root: Path) -> IndexServer:
        server = IndexServer(root).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``live`` talk to the real index: they run only with NIXGEN_LIVE_TESTS=1."""
    import os

    if os.environ.get("NIXGEN_LIVE_TESTS") == "1":
        return
    live = [item for item in items if item.get_closest_marker("live")]
    if live:
        config.hook.pytest_deselected(items=live)
        items[:] = [item for item in items if not item.get_closest_marker("live")]
