"""Sentences about plan values: the one place where reasons, statuses and cause chains become words."""

from __future__ import annotations

from nixgen.plan.model import PlannedPackage
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
        return "in nixpkgs at a fitting version (binary cache)"
    if kind == "local":
        return f"the project itself, built from {p.source_path}"
    where = (f"nixpkgs has {p.nixpkgs_version}, the resolution needs {p.version}" if kind == "newer"
             else "pinned by hash" if kind == "hashed" else "not in nixpkgs")
    how = "a wheel for the target" if p.provider == "wheel" else "no wheel for the target, built from sdist"
    return f"{where}; {how}"


def link(c: CauseLink) -> str:
    """One link of a cause chain: ``numpy 2.4.2 → 2.5.5`` for the replaced package, else its name."""
    if c.new is None:
        return c.name
    return f"{c.name} {c.old or '?'} → {c.new}"


def why(s: Status) -> str:
    """What a status means for this package, with the chain for a rebuild."""
    if s.state == "rebuild":
        parts = [link(c) for c in s.cause]
        return "rebuilds because " + " because ".join(
            (f"{c} rebuilds" if i < len(parts) - 1 else c) for i, c in enumerate(parts))
    return {"cached": "unchanged nixpkgs package in the binary cache",
            "fetch": "wheel: download and patch, no compile",
            "build": "built from its sdist"}[s.state]


def relaxation(r: Relaxation) -> str:
    return f"{r.parent} {r.parent_version} asks for {r.requirement}; nixpkgs pairs it with {r.child} {r.child_version}"
