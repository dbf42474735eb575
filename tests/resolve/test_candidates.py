"""Candidates by kind: each answers its own metadata and build system; equality stays by key."""

from __future__ import annotations

from collections.abc import Callable

from packaging.version import Version

from nixgen.pypi import Index
from nixgen.resolve.candidates import DirectCandidate, IndexCandidate, LocalCandidate, NixpkgsCandidate
from nixgen.resolve.model import Candidate
from tests.indexserver import FixtureIndex
from tests.resolve.test_resolve import index, nixset, run

__all__ = ["index"]


def test_equality_and_hash_are_by_name_version_provider_and_extras() -> None:
    a = IndexCandidate(name="x", version=Version("1.0"), provider="wheel")
    b = DirectCandidate(name="x", version=Version("1.0"), provider="wheel", direct_url="file:///x.whl")
    nix = NixpkgsCandidate(name="x", version=Version("1.0"), provider="nixpkgs", attr="x")
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != nix and a != IndexCandidate(name="x", version=Version("1.0"), provider="wheel",
                                            extras=frozenset({"e"}))
    assert all(isinstance(c, Candidate) for c in (a, b, nix))


def test_what_each_kind_builds_here() -> None:
    v = Version("1.0")
    assert IndexCandidate(name="x", version=v, provider="sdist").built_here()
    assert not IndexCandidate(name="x", version=v, provider="wheel").built_here()
    assert not NixpkgsCandidate(name="x", version=v, provider="nixpkgs").built_here()
    assert LocalCandidate(name="x", version=v, provider="local").built_here()


def test_a_resolution_records_which_file_each_kinds_metadata_came_from(index: Callable[..., Index]) -> None:
    def fill(ix: FixtureIndex) -> None:
        ix.add_wheel("top", "1.0", requires=["nixdep"])
        ix.add_wheel("nixdep", "2.0")
        ix.add_sdist("nixdep", "2.0", {"PKG-INFO": "Metadata-Version: 2.2\nName: nixdep\nVersion: 2.0\n"})

    res = run(index(fill), "top\n", nixset(nixdep="2.0"))
    assert {p.name: (p.provider, p.metadata_file) for p in res.pins} == {
        "top": ("wheel", "top-1.0-py3-none-any.whl"), "nixdep": ("nixpkgs", "nixdep-2.0-py3-none-any.whl")}
