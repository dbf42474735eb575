"""What comes from the binary cache and what must be built, why, and roughly how long it takes.

A package taken from nixpkgs as it is, whose out path the snapshot lists, is ``cached``. It turns into a
``rebuild`` as soon as something in its closure is replaced by the overlay: its derivation changes, so its
out path does. Edges are the resolution's (runtime dependencies, build systems) plus the ``nixpkgs-inputs``
the override data knows; a nixpkgs expression may hold more, so the prediction can only miss rebuilds, and
says so. A wheel is a ``fetch`` (download and patch, no compile); an sdist is a ``build``.

Cache facts are the plan's system's own: a nixpkgs package its binary-cache data does not list is a
``build`` (Nix builds nixpkgs' expression); where nothing is known of the system's cache (darwin) it is
``unverified``, with no estimate (0 minutes) — never ``cached``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from nixgen.plan.cost import FETCH_MINUTES, Estimate, build_estimate
from nixgen.plan.model import Plan

State = Literal["cached", "rebuild", "fetch", "build", "unverified"]
STATES: tuple[State, ...] = ("cached", "rebuild", "fetch", "build", "unverified")


@dataclass(frozen=True)
class Status:
    """One package's predicted fate."""

    name: str
    attr: str
    state: State
    minutes: float
    estimate: str
    cause: tuple[str, ...] = ()  # the chain to a replaced package: ("shapely", "numpy 2.4.2 → 2.5.5")
    note: str = ""  # for nixpkgs packages without a cache hit: what the system's cache data says

    def why(self) -> str:
        if self.state == "rebuild":
            return "rebuilds because " + " because ".join(
                (f"{c} rebuilds" if i < len(self.cause) - 1 else c) for i, c in enumerate(self.cause))
        if self.note:
            return self.note
        return {"cached": "unchanged nixpkgs package in the binary cache",
                "fetch": "wheel: download and patch, no compile",
                "build": "built from its sdist"}[self.state]


@dataclass(frozen=True)
class Prediction:
    """Statuses in plan order and the estimated total."""

    statuses: tuple[Status, ...]

    @property
    def total_minutes(self) -> float:
        return round(sum(s.minutes for s in self.statuses), 1)

    def by_state(self) -> dict[str, int]:
        out: dict[str, int] = dict.fromkeys(STATES, 0)
        for s in self.statuses:
            out[s.state] += 1
        return out

    def status(self, name: str) -> Status | None:
        return next((s for s in self.statuses if s.name == name), None)


def predict(plan: Plan) -> Prediction:
    """The status of every planned package (pure: no network, no Nix)."""
    by_attr = {p.attr: p for p in plan.packages}
    edges = {p.attr: (*p.dependencies, *p.build_system, *p.nixpkgs_inputs) for p in plan.packages}
    memo: dict[str, tuple[str, ...] | None] = {}

    def cause(attr: str, seen: frozenset[str]) -> tuple[str, ...] | None:
        """The chain from a nixpkgs package to a replaced one, or None if its closure is unchanged."""
        if attr in memo:
            return memo[attr]
        result: tuple[str, ...] | None = None
        for dep in sorted(edges.get(attr, ())):
            child = by_attr.get(dep)
            if child is None or dep in seen:
                continue
            if child.replaces:
                result = (f"{child.name} {child.nixpkgs_version} → {child.version}",)
                break
            if child.provider == "nixpkgs":
                sub = cause(dep, seen | {dep})
                if sub is not None:
                    result = (child.name, *sub)
                    break
        memo[attr] = result
        return result

    statuses = []
    for p in plan.packages:
        size = p.artifact.size if p.artifact is not None else None
        if p.provider == "wheel":
            statuses.append(Status(p.name, p.attr, "fetch", FETCH_MINUTES, "no compile"))
        elif p.provider in ("sdist", "local"):
            est = build_estimate(p.name, size)
            statuses.append(Status(p.name, p.attr, "build", est.minutes, est.source))
        else:
            chain = cause(p.attr, frozenset({p.attr}))
            if chain is None and p.cache == "listed":
                statuses.append(Status(p.name, p.attr, "cached", 0.0, "binary cache"))
            elif chain is None and p.cache == "no-data":
                statuses.append(Status(p.name, p.attr, "unverified", 0.0, "no estimate",
                                       note=f"no cache data for {plan.system}"))
            elif chain is None:
                est = build_estimate(p.name, None)
                statuses.append(Status(p.name, p.attr, "build", est.minutes, est.source,
                                       note=f"nixpkgs package not in {plan.system}'s binary cache data: "
                                            "Nix builds it"))
            else:
                rebuild: Estimate = build_estimate(p.name, None)
                statuses.append(Status(p.name, p.attr, "rebuild", rebuild.minutes, rebuild.source, chain))
    return Prediction(tuple(statuses))
