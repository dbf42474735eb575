"""Resolution over a nixpkgs set and an index together, on small indexes served over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from nixgen.emit.words import relaxation
from nixgen.errors import ResolutionError, UsageError
from nixgen.inputs.requirements_txt import parse_requirements
from nixgen.nixpkgs.snapshot import NixPythonPackage, PythonSet
from nixgen.pypi import Index
from nixgen.resolve import Resolution, ResolveOptions, Target, resolve
from tests.indexserver import FixtureIndex, IndexServer

LINUX = Target("python313", "3.13.12", "x86_64-linux", glibc_version="2.42")
MAC = Target("python313", "3.13.12", "aarch64-darwin")


def nixset(**versions: str) -> PythonSet:
    """A python313 package set holding ``attr=version`` (attr = distribution name)."""
    pkgs = {a: NixPythonPackage(a, a, v, "0" * 32, f"python3.13-{a}-{v}") for a, v in versions.items()}
    return PythonSet.build("python313", "3.13.12", pkgs)


@pytest.fixture()
def index(tmp_path: Path, make_index_server: Callable[[Path], IndexServer]) -> Callable[..., Index]:
    def build(fill: Callable[[FixtureIndex], None]) -> Index:
        fixture = FixtureIndex(tmp_path / "index")
        fill(fixture)
        server = make_index_server(fixture.write())
        return Index([server.url], cache_dir=tmp_path / "cache")

    return build


def run(idx: Index, text: str, pyset: PythonSet | None, target: Target = LINUX,
        **options: object) -> Resolution:
    with idx:
        return resolve(parse_requirements(text, path="req.txt"), idx, pyset, target,
                       ResolveOptions(**options))  # type: ignore[arg-type]


def providers(res: Resolution) -> Mapping[str, tuple[str, str]]:
    return {p.name: (p.version, p.provider) for p in res.pins}


def base(ix: FixtureIndex) -> None:
    ix.add_wheel("alpha", "1.0", requires=["beta<2"])
    ix.add_wheel("alpha", "1.1", requires=["beta<2"])
    ix.add_wheel("beta", "1.5")
    ix.add_wheel("beta", "2.0")
    ix.add_wheel("gamma", "3.0", requires=["beta<2", "winonly; sys_platform == 'win32'",
                                           "extra-dep; extra == 'fancy'"], provides_extra=["fancy"])
    ix.add_wheel("extra-dep", "0.1")
    ix.add_wheel("winonly", "1.0")


def test_nixpkgs_pins_between_nixpkgs_packages_are_relaxed(index: Callable[..., Index]) -> None:
    res = run(index(base), "alpha\n", nixset(alpha="1.0", beta="2.0"))
    assert providers(res) == {"alpha": ("1.0", "nixpkgs"), "beta": ("2.0", "nixpkgs")}
    assert [relaxation(r) for r in res.relaxations] == [
        "alpha 1.0 asks for beta<2; nixpkgs pairs it with beta 2.0"]


def test_no_relax_resolves_nixpkgs_edges_strictly(index: Callable[..., Index]) -> None:
    res = run(index(base), "alpha\n", nixset(alpha="1.0", beta="2.0"), strict=True)
    # alpha stays nixpkgs' build, but beta<2 now holds: beta comes from the index, and alpha rebuilds.
    assert providers(res) == {"alpha": ("1.0", "nixpkgs"), "beta": ("1.5", "wheel")}
    assert res.relaxations == ()
    assert res.pin("beta").replaces  # type: ignore[union-attr]


def test_edges_from_index_packages_are_strict(index: Callable[..., Index]) -> None:
    res = run(index(base), "gamma\n", nixset(beta="2.0"))
    assert providers(res) == {"gamma": ("3.0", "wheel"), "beta": ("1.5", "wheel")}
    assert res.relaxations == ()
    assert res.pin("beta").nixpkgs_version == "2.0"  # type: ignore[union-attr]


def test_user_pins_are_strict_and_prefer_latest_takes_the_newest(index: Callable[..., Index]) -> None:
    build = index(base)
    assert providers(run(build, "alpha==1.1\n", nixset(alpha="1.0", beta="1.5")))["alpha"] == ("1.1", "wheel")
    res = run(build, "alpha\n", nixset(alpha="1.0", beta="1.5"), prefer="latest")
    assert providers(res)["alpha"] == ("1.1", "wheel")
    assert providers(res)["beta"] == ("1.5", "nixpkgs")  # same version: nixpkgs wins the tie


def test_markers_and_extras_are_evaluated_for_the_target(index: Callable[..., Index]) -> None:
    build = index(base)
    res = run(build, "gamma[fancy]\n", None)
    assert set(providers(res)) == {"gamma", "beta", "extra-dep"}  # no winonly on Linux
    assert res.pin("gamma").extras == ("fancy",)  # type: ignore[union-attr]
    assert "extra-dep" in res.pin("gamma").dependencies  # type: ignore[union-attr]
    plain = run(build, "gamma; sys_platform == 'darwin'\n", None)
    assert plain.pins == ()  # the requirement's own marker is false on Linux
    mac = run(build, "gamma; sys_platform == 'darwin'\n", None, target=MAC)
    assert set(providers(mac)) == {"gamma", "beta"}


def test_forced_providers(index: Callable[..., Index]) -> None:
    def fill(ix: FixtureIndex) -> None:
        ix.add_wheel("delta", "1.0")
        ix.add_sdist("delta", "1.0", {"PKG-INFO": "Metadata-Version: 2.2\nName: delta\nVersion: 1.0\n",
                                       "pyproject.toml": '[build-system]\nrequires = ["flit-core>=3"]\n'})
        ix.add_wheel("flit-core", "3.9")

    build = index(fill)
    nix = nixset(delta="1.0")
    assert providers(run(build, "delta\n", nix))["delta"] == ("1.0", "nixpkgs")
    assert providers(run(build, "delta\n", nix, providers={"delta": "wheel"}))["delta"] == ("1.0", "wheel")
    res = run(build, "delta\n", nix, providers={"delta": "sdist"})
    assert providers(res) == {"delta": ("1.0", "sdist"), "flit-core": ("3.9", "wheel")}
    assert res.pin("delta").build_requires == ("flit-core",)  # type: ignore[union-attr]
    assert res.pin("flit-core").runtime is False  # type: ignore[union-attr]
    with pytest.raises(UsageError, match="no package installing flit-core"):
        run(build, "flit-core\n", nix, providers={"flit-core": "nixpkgs"})


def test_wheels_for_other_platforms_and_pythons_are_not_candidates(index: Callable[..., Index]) -> None:
    def fill(ix: FixtureIndex) -> None:
        ix.add_wheel("native", "2.0", tag="cp313-cp313-macosx_11_0_arm64")
        ix.add_wheel("native", "1.0", tag="cp313-cp313-manylinux_2_17_x86_64")
        ix.add_wheel("oldpy", "1.0", requires_python="<3.12")

    build = index(fill)
    assert providers(run(build, "native\n", None)) == {"native": ("1.0", "wheel")}
    assert providers(run(build, "native\n", None, target=MAC)) == {"native": ("2.0", "wheel")}
    assert run(build, "native\n", None).pin("native").native_code  # type: ignore[union-attr]
    with pytest.raises(ResolutionError, match=r"excluded: 1.0 requires Python <3.12"):
        run(build, "oldpy\n", None)


def test_hash_pins_choose_the_file_with_that_hash(index: Callable[..., Index]) -> None:
    entries: dict[str, str] = {}

    def fill(ix: FixtureIndex) -> None:
        entries["old"] = ix.add_wheel("eps", "1.0")["hashes"]["sha256"]
        ix.add_wheel("eps", "2.0")

    build = index(fill)
    res = run(build, f"eps --hash=sha256:{entries['old']}\n", nixset(eps="2.0"))
    assert providers(res) == {"eps": ("1.0", "wheel")}
    with pytest.raises(ResolutionError, match="no file matches the --hash values"):
        run(build, "eps --hash=sha256:" + "0" * 64 + "\n", None)


def test_nixpkgs_package_missing_from_the_index_keeps_its_nixpkgs_version(index: Callable[..., Index]) -> None:
    res = run(index(base), "nixonly\n", nixset(nixonly="0.5"))
    assert providers(res) == {"nixonly": ("0.5", "nixpkgs")}
    assert any("nixonly 0.5 (nixpkgs) is not on the index" in n for n in res.notes)


def test_direct_references_are_downloaded_hashed_and_win(tmp_path: Path,
                                                         make_index_server: Callable[[Path], IndexServer]) -> None:
    fixture = FixtureIndex(tmp_path / "index")
    entry = fixture.add_wheel("zeta", "9.0", requires=["beta"])
    fixture.add_wheel("beta", "1.5")
    server = make_index_server(fixture.write())
    url = server.url.replace("/simple/", "/files/") + entry["filename"]
    idx = Index([server.url], cache_dir=tmp_path / "cache")
    res = run(idx, f"zeta @ {url}\n", nixset(zeta="1.0"))
    zeta = res.pin("zeta")
    assert zeta is not None and (zeta.version, zeta.provider) == ("9.0", "wheel")
    assert zeta.artifact is not None and zeta.artifact.sha256 == entry["hashes"]["sha256"]
    assert zeta.artifact.url == url
    assert providers(res)["beta"] == ("1.5", "wheel")
