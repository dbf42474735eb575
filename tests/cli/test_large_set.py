"""A real 105-package application (NetBox's requirements, benchmarks/sets/django-netbox.txt) against its
recorded index (tests/fixtures/index-netbox, recorded with tests/fixtures/record_index.py for the four
systems; the whole aarch64 Linux wheels that linkage reading downloaded were left out to keep the fixture
small, so the test resolves x86_64-linux and aarch64-darwin)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from nixgen.inputs.detect import read_input
from nixgen.pipeline import Options, lock
from nixgen.session import Session
from tests.indexserver import IndexServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def netbox_index() -> Iterator[IndexServer]:
    with IndexServer(ROOT / "tests" / "fixtures" / "index-netbox") as server:
        yield server


def test_min_build_on_a_real_100_package_set_searches_once_for_both_systems(netbox_index: IndexServer,
                                                                              tmp_path: Path) -> None:
    options = Options(index_urls=(netbox_index.url,), cache_dir=tmp_path / "cache",
                      exclude_newer=datetime(2026, 11, 1, tzinfo=UTC), systems=("x86_64-linux", "aarch64-darwin"))
    made = lock(read_input(ROOT / "benchmarks" / "sets" / "django-netbox.txt"), Session.load(), options)
    assert not made.failures
    assert all(len(p.packages) >= 100 for p in made.plans), [len(p.packages) for p in made.plans]
    # Many trades per system (nixpkgs packages that would rebuild, taken as wheels), decided from one plan and
    # checked as a resolution: never one search per trade. macOS answers every question Linux's search asked
    # alike, so one resolvelib search serves both systems.
    assert len(made.trades) >= 10 * len(made.plans)
    assert made.resolutions == 1
    # How each system's resolution was found is in the lock (and the report): found without a search on
    # x86_64 Linux, replayed or carried over on macOS; --full-search gives each a search (or the exact replay
    # of one), and here the same plans.
    assert made.plans[0].found_by == "unsearched"
    assert made.plans[1].found_by in ("carried", "replayed") and made.plans[1].found_from == "x86_64-linux"
    searched = lock(read_input(ROOT / "benchmarks" / "sets" / "django-netbox.txt"), Session.load(),
                    replace(options, full_search=True))
    # (macOS answers every question of Linux's search alike: that search, replayed, is its own)
    assert [p.found_by for p in searched.plans] == ["search", "replayed"]
    # (the same notes, found in another order)
    assert [replace(p, notes=tuple(sorted(p.notes))) for p in searched.plans] == [
        replace(p, notes=tuple(sorted(p.notes))) for p in made.plans]
    # The plan min-build chose is the one the report shows: the lock holds it, and reports read the lock.
    assert {p.name for p in made.plans[0].packages} >= {"django", "netaddr", "psycopg"}
