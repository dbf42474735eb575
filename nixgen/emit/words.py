"""Sentences about plan values: the one place where reasons, statuses and cause chains become words."""

from __future__ import annotations

from nixgen.lock.model import Alternative, Trade
from nixgen.plan.model import Evidence, Plan, PlannedPackage
from nixgen.plan.predict import CauseLink, Status
from nixgen.resolve.model import Relaxation


def reason(p: PlannedPackage) -> str:
    """Why ``p``'s provider was chosen."""
    kind = p.reason
    if kind == "forced":
        return f"--provider {p.name}={p.provider}"
    if kind == "traded":
        return "min-build: a wheel instead of rebuilding nixpkgs' build"
    if kind == "nixpkgs":
        versioned = (f"nixpkgs' versioned attribute {p.versioned_attr}, in place of {p.attr} "
                     f"({p.nixpkgs_version}), for every package of the set; " if p.versioned_attr else "")
        return versioned + "in nixpkgs at a fitting version (" + {
            "listed": "binary cache", "absent": "not in this system's binary cache data",
            "no-data": "no cache data for this system"}[p.cache] + ")"
    if kind == "local":
        return f"the project itself, built from {p.source_path}"
    vcs = p.pin.vcs
    if kind == "vcs" and vcs is not None:
        sub = f" (subdirectory {vcs.subdirectory})" if vcs.subdirectory else ""
        return f"from git {vcs.url}@{vcs.short}{sub}, built from its checkout"
    where = (f"nixpkgs has {p.nixpkgs_version}, the resolution needs {p.version}" if kind == "newer"
             else f"pinned by hash (nixpkgs' {p.nixpkgs_version} is built from its own source, not the hashed "
                  "file)" if kind == "hashed" else "not in nixpkgs")
    how = "a wheel for the target" if p.provider == "wheel" else "no wheel for the target, built from sdist"
    return f"{where}; {how}"


def link(c: CauseLink) -> str:
    """One link of a cause chain: ``numpy 2.4.2 → 2.5.5`` for the replaced package, else its name."""
    if c.new is None:
        return c.name
    return f"{c.name} {c.old or '?'} → {c.new}"


def why(s: Status, p: PlannedPackage | None = None, system: str = "") -> str:
    """What a status means for this package, with the chain for a rebuild."""
    where = f"{system}'s" if system else "this system's"
    if s.state == "unverified":
        return f"no cache data for {system or 'this system'}"
    if s.state == "build" and p is not None and p.pin.vcs is not None:
        return "built from its git checkout"
    if s.state == "build" and p is not None and p.provider == "nixpkgs":
        return f"nixpkgs package not in {where} binary cache data: Nix builds it"
    if s.state == "rebuild":
        parts = [link(c) for c in s.cause]
        return "rebuilds because " + " because ".join(
            (f"{c} rebuilds" if i < len(parts) - 1 else c) for i, c in enumerate(parts))
    return {"cached": "unchanged nixpkgs package in the binary cache",
            "fetch": "wheel: download and patch, no compile",
            "build": "built from its sdist", "unverified": ""}[s.state]


def relaxation(r: Relaxation) -> str:
    return f"{r.parent} {r.parent_version} asks for {r.requirement}; nixpkgs pairs it with {r.child} {r.child_version}"


def linkage_warnings(p: PlannedPackage) -> list[str]:
    """What is not known or not mapped about the libraries a wheel's binaries link."""
    from nixgen.pypi.linkage import is_linux_wheel

    if p.provider != "wheel" or not p.native_code or p.artifact is None or not is_linux_wheel(p.artifact.filename):
        return []
    if p.recipe.linked is None:
        return [f"{p.name} {p.version}: could not read which libraries its wheel's binaries link (the wheel "
                "could not be had, or is too big to read by ranges); assumed stdenv.cc.cc.lib alone"]
    return [f"{p.name} {p.version} links {soname}, which nixgen maps to no nixpkgs attribute; add the "
            "attribute that provides it to the package's buildInputs with an overrides file"
            for soname in p.recipe.unmapped]


def evidence(e: Evidence) -> str:
    """One fact of a build-feasibility verdict."""
    if e.kind == "target-wheels":
        return f"the release ships wheels for Python {e.python} ({', '.join(e.wheel_pythons)})"
    if e.kind == "no-target-wheels":
        text = f"its wheels stop at {max(e.wheel_pythons, key=lambda t: (len(t), t))}, none for Python {e.python}"
        if e.uploaded is not None and e.python_released is not None:
            when = "before" if e.uploaded.date().isoformat() < e.python_released else "after"
            text += (f"; uploaded {e.uploaded.date().isoformat()}, {when} Python {e.python}'s release "
                     f"({e.python_released})")
        if e.wheels_from is not None:
            text += f"; the project's first release with wheels for Python {e.python} is {e.wheels_from}"
        return text
    if e.kind == "numpy-distutils":
        if e.verdict == "ok":
            return f"its setup.py imports numpy.distutils, which numpy {e.numpy} on Python {e.python} still has"
        where = (f"numpy {e.numpy} has none" if e.numpy is not None and not e.numpy.startswith(("0.", "1."))
                 else f"numpy has none on Python {e.python}" if e.python not in ("3.11",)
                 else "the plan has no numpy")
        return ("its setup.py imports numpy.distutils, which left numpy in 2.0 (and numpy 1.26 has none on "
                f"Python 3.12 and later): {where}")
    return "its setup.py imports distutils, which left Python in 3.12 (setuptools' copy may stand in)"


def verdict(p: PlannedPackage) -> str:
    """A build's feasibility verdict with its evidence, in one line."""
    facts = "; ".join(evidence(e) for e in p.recipe.evidence)
    return f"{p.recipe.verdict}" + (f": {facts}" if facts else " (no evidence against it)")


def added(p: PlannedPackage) -> list[str]:
    """The requirements nixgen added to a package's metadata, with why."""
    uploaded = p.pin.release.uploaded if p.pin.release is not None else None
    when = f", uploaded {uploaded.date().isoformat()}" if uploaded is not None else ""
    return [f"{text} added to {p.name} {p.version}: a wheel with native code{when}, before numpy 2.0 "
            "(2024-06-16), is built against numpy 1.x's ABI" for text in p.pin.added]


def inherited(p: PlannedPackage) -> str:
    """What a build from nixpkgs' own expression keeps and drops."""
    made_for = p.recipe.inherits_version or p.nixpkgs_version
    return (f"from nixpkgs' own {p.recipe.inherits} expression (made for {made_for}): keeps its native "
            "inputs (nativeBuildInputs, buildInputs), env and build flags; drops its patches, postPatch, "
            f"disabledTests and pythonRelaxDeps; tests off unless asked; dependencies and build system from "
            f"{p.version}'s metadata")


def trade(t: Trade) -> str:
    return f"min-build: {t.name} as a wheel instead of a rebuild of nixpkgs' build (~{t.minutes_saved:g} min less)"


def alternative(a: Alternative) -> str:
    return (f"alternative: a requirement set that allows {a.name}=={a.nixpkgs_version} (nixpkgs' version) would "
            f"save ~{a.minutes:g} min of rebuilds")


def found_by(plan: Plan) -> str | None:
    """How the plan's resolution was found, when it was not a search of its own (None then, and for a lock
    that does not record it)."""
    other = plan.found_from or "another system"
    if plan.found_by == "unsearched":
        return ("resolved without a search (nothing conflicted: each project at the first candidate all its "
                "requirements allow; --full-search searches)")
    if plan.found_by == "carried":
        return (f"resolved with {other}'s versions carried over (a resolution here, each pin the first candidate "
                "all its requirements allow; --full-search searches)")
    if plan.found_by == "replayed":
        return f"resolved by replaying {other}'s search: this system answers every question of it alike"
    return None


def not_listed(counted: dict[str, int], system: str) -> str:
    """The line after a summary table that lists only what needs work: what it left out, by state."""
    parts = []
    if counted.get("cached"):
        parts.append(f"{counted['cached']} more from the binary cache")
    if counted.get("unverified"):
        parts.append(f"{counted['unverified']} more from nixpkgs, unverified (no binary-cache data for {system})")
    return f"{' and '.join(parts)}, not listed (`nixgen report` lists every package)"
