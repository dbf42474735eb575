"""A locked resolution as PEP 751 ``pylock.toml`` (built and validated with ``packaging.pylock``).

The standard part lists every pin with the index file another installer would use; ``[tool.nixgen]``
(file level and per package) holds what nixgen needs to regenerate the same flake: provider, attribute,
graph, target and the nixpkgs pin. Pins nixpkgs has but the index does not (no artifact to name) live only
under ``[tool.nixgen]``, since PEP 751 requires a source for every package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import tomli_w
from packaging.markers import Marker
from packaging.pylock import Package, PackageDirectory, PackageSdist, PackageWheel, Pylock
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from nixgen.resolve.model import Pin
from nixgen.resolve.target import SYSTEMS, Target

if TYPE_CHECKING:
    from nixgen.pipeline import Locked


def _pin_tool(pin: Pin) -> dict[str, Any]:
    tool: dict[str, Any] = {"provider": pin.provider, "attr": pin.attr}
    if pin.nixpkgs_version is not None:
        tool["nixpkgs-version"] = pin.nixpkgs_version
    if pin.replaces:
        tool["replaces"] = True
    tool.update({
        "requested": pin.requested,
        "runtime": pin.runtime,
        "dependencies": list(pin.dependencies),
        "build-requires": list(pin.build_requires),
        "extras": list(pin.extras),
        "metadata-source": pin.metadata_source,
        "native-code": pin.native_code,
    })
    return tool


def environment_marker(system: str) -> str:
    """A PEP 508 marker selecting one Nix system."""
    facts = SYSTEMS[system]
    return f'sys_platform == "{facts.sys_platform}" and platform_machine == "{facts.platform_machine}"'


def write_pylock(locked: Locked) -> str:
    """The lock text; the same locked resolutions always give the same bytes.

    A pin that is the same on every resolved system is one entry with no marker; one that differs is an
    entry per variant, with a marker selecting its systems (PEP 751 allows several entries of one name).
    """
    systems = [r.system for r in locked.resolutions]
    variants: dict[Pin, list[str]] = {}
    for res in locked.resolutions:
        for pin in res.pins:
            variants.setdefault(pin, []).append(res.system)
    packages: list[Package] = []
    nix_only: list[dict[str, Any]] = []
    for pin, on in sorted(variants.items(), key=lambda item: (item[0].name, item[0].version, item[1])):
        tool = _pin_tool(pin)
        marker = None
        if on != systems:
            tool["systems"] = on
            marker = Marker(" or ".join(f"({environment_marker(s)})" for s in on))
        if pin.provider == "local" and pin.source_path is not None:
            packages.append(Package(
                name=canonicalize_name(pin.name), version=Version(pin.version), marker=marker,
                dependencies=[{"name": d} for d in pin.dependencies] or None,
                directory=PackageDirectory(path=pin.source_path), tool={"nixgen": tool},
            ))
            continue
        if pin.artifact is None:
            nix_only.append({"name": pin.name, "version": pin.version, **tool})
            continue
        art = pin.artifact
        wheels = sdist = None
        if art.filename.endswith(".whl"):
            wheels = [PackageWheel(name=art.filename, url=art.url, size=art.size, hashes={"sha256": art.sha256})]
        else:
            sdist = PackageSdist(name=art.filename, url=art.url, size=art.size, hashes={"sha256": art.sha256})
        packages.append(Package(
            name=canonicalize_name(pin.name), version=Version(pin.version), marker=marker,
            dependencies=[{"name": d} for d in pin.dependencies] or None,
            sdist=sdist, wheels=wheels, tool={"nixgen": tool},
        ))
    targets = []
    for res in locked.resolutions:
        target: dict[str, Any] = {"system": res.system, "interpreter": res.interpreter,
                                  "python-version": res.python_version, "roots": list(res.roots)}
        if res.relaxations:
            target["relaxations"] = [
                {"parent": r.parent, "parent-version": r.parent_version, "requirement": r.requirement,
                 "child": r.child, "child-version": r.child_version} for r in res.relaxations]
        if res.notes:
            target["notes"] = list(res.notes)
        targets.append(target)
    top: dict[str, Any] = {
        "nixpkgs": {"rev": locked.nixpkgs.rev, "nar-hash": locked.nixpkgs.nar_hash or "",
                    "note": locked.nixpkgs.note, **({"url": locked.nixpkgs.url} if locked.nixpkgs.url else {})},
        "sources": list(locked.sources),
        "forced": sorted(locked.forced),
        "tests": locked.tests,
        "traded": sorted(locked.traded),
        "strategy-notes": list(locked.strategy_notes),
        "override-files": list(locked.override_files),
        "targets": targets,
    }
    if locked.failures:
        top["failures"] = [{"system": s, "why": why} for s, why in locked.failures]
    if locked.exclude_newer is not None:
        top["exclude-newer"] = locked.exclude_newer.isoformat()
    if nix_only:
        top["nixpkgs-only"] = nix_only
    first = locked.resolutions[0]
    major, minor = Target(first.interpreter, first.python_version, first.system).python_tuple
    lock = Pylock(
        lock_version=Version("1.0"),
        environments=[Marker(environment_marker(s)) for s in systems],
        requires_python=SpecifierSet(f"=={major}.{minor}.*"),
        created_by="nixgen",
        packages=packages,
        tool={"nixgen": top},
    )
    return tomli_w.dumps(lock.to_dict())
