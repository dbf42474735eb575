"""What comes from the binary cache and what must be built, why, and roughly how long it takes.

A package taken from nixpkgs as it is, whose out path the snapshot lists, is ``cached``. It turns into a
``rebuild`` as soon as something in its closure is replaced by the overlay: its derivation changes, so its
out path does. Edges are the resolution's (runtime dependencies, build systems) plus the ``nixpkgs-inputs``
the override data knows; a nixpkgs expression may hold more, so the prediction can only miss rebuilds, and
says so. A wheel is a ``fetch`` (download and patch, no compile); an sdist is a ``build``.

Pure: the plan alone decides (no network, no Nix). Sentences about statuses are made in ``emit/``.
"""

from __future__ import annotations

from dataclasses import dataclass

from nixgen.core.kinds import STATES, State
from nixgen.plan.cost import FETCH_MINUTES, build_estimate
from nixgen.plan.model import Plan


@dataclass(frozen=True)
class CauseLink:
    """One step of a rebuild's cause chain: a nixpkgs package that rebuilds (``old``/``new`` unset), or, at
    the end of the chain, the replaced package with nixpkgs' version and the one it is replaced by."""

    name: str
    old: str | None = None
    new: str | None = None


@dataclass(frozen=True)
class Status:
    """One package's predicted fate, with the estimate and what it rests on."""

    name: str
    attr: str
    state: State
    minutes: float
    estimate: str
    cause: tuple[CauseLink, ...] = ()  # from the first rebuilding dependency to the replaced package

    @property
    def replaced(self) -> CauseLink | None:
        """The replaced package at the end of a rebuild's chain."""
        return self.cause[-1] if self.cause else None


@dataclass(frozen=True)
class Prediction:
    """Statuses in plan order and the estimated total."""

    statuses: tuple[Status, ...]

    @property
    def total_minutes(self) -> float:
        return round(sum(s.minutes for s in self.statuses), 1)

    def by_state(self) -> dict[State, int]:
        out: dict[State, int] = dict.fromkeys(STATES, 0)
        for s in self.statuses:
            out[s.state] += 1
        return out

    def status(self, name: str) -> Status | None:
        return next((s for s in self.statuses if s.name == name), None)


def predict(plan: Plan) -> Prediction:
    """The status of every planned package."""
    by_attr = {p.attr: p for p in plan.packages}
    edges = {p.attr: (*p.dependencies, *p.build_system, *p.recipe.nixpkgs_inputs) for p in plan.packages}
    memo: dict[str, tuple[CauseLink, ...] | None] = {}

    def cause(attr: str, seen: frozenset[str]) -> tuple[CauseLink, ...] | None:
        """The chain from a nixpkgs package to a replaced one, or None if its closure is unchanged."""
        if attr in memo:
            return memo[attr]
        result: tuple[CauseLink, ...] | None = None
        for dep in sorted(edges.get(attr, ())):
            child = by_attr.get(dep)
            if child is None or dep in seen:
                continue
            if child.replaces:
                result = (CauseLink(child.name, child.nixpkgs_version, child.version),)
                break
            if child.provider == "nixpkgs":
                sub = cause(dep, seen | {dep})
                if sub is not None:
                    result = (CauseLink(child.name), *sub)
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
            if chain is None:
                statuses.append(Status(p.name, p.attr, "cached", 0.0, "binary cache"))
            else:
                rebuild = build_estimate(p.name, None)
                statuses.append(Status(p.name, p.attr, "rebuild", rebuild.minutes, rebuild.source, chain))
    return Prediction(tuple(statuses))
