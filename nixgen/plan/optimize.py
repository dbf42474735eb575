"""Choosing the plan that builds least: min-build's trades, and ``--python auto``'s interpreter.

min-build plans the first resolution with the same :func:`~nixgen.plan.planner.make_plan` and
:func:`~nixgen.plan.predict.predict` that reports and the flake use, trades every nixpkgs package that would
rebuild for a wheel where one exists (a soft preference: the resolver still falls back to nixpkgs), resolves
once more, and keeps the new plan only if its estimated total is lower: at most two resolutions per system,
however many trades it makes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nixgen.plan.model import Plan
from nixgen.plan.predict import predict
from nixgen.resolve.model import Resolution


@dataclass(frozen=True)
class Traded:
    """A nixpkgs package min-build took as a wheel, and the estimated minutes of rebuild that saves."""

    name: str
    version: str
    minutes_saved: float


@dataclass(frozen=True)
class Saving:
    """A replaced package whose nixpkgs version, if the requirements allowed it, would save rebuilds."""

    name: str
    nixpkgs_version: str
    minutes: float


@dataclass(frozen=True)
class Optimized:
    """The chosen resolution and plan, with what was traded and what else would save time."""

    resolution: Resolution
    plan: Plan
    traded: tuple[Traded, ...]
    savings: tuple[Saving, ...]


def min_build(first: Resolution, plan_of: Callable[[Resolution, frozenset[str]], Plan],
              resolve_preferring_wheels: Callable[[frozenset[str]], Resolution], keep: frozenset[str]) -> Optimized:
    """The plan with the least estimated build time among the first resolution and one re-resolution.

    ``plan_of(resolution, traded)`` plans a resolution; ``resolve_preferring_wheels(names)`` resolves again
    with wheels preferred for ``names``; packages in ``keep`` (forced or always from nixpkgs) are never
    traded. A re-resolution that fails keeps the first plan.
    """
    plan = plan_of(first, frozenset())
    prediction = predict(plan)
    nixpkgs = {p.name for p in plan.packages if p.provider == "nixpkgs"}
    # Rebuilds, and nixpkgs packages the system's cache lacks: both build; unverified ones are never traded.
    rebuilding = {s.name: s for s in prediction.statuses
                  if s.state in ("rebuild", "build") and s.name in nixpkgs and s.name not in keep}
    chosen, chosen_plan = first, plan
    traded: tuple[Traded, ...] = ()
    if rebuilding:
        from nixgen.errors import NixgenError

        try:
            second = resolve_preferring_wheels(frozenset(rebuilding))
        except NixgenError:
            second = None
        if second is not None:
            names = frozenset(p.name for p in second.pins if p.name in rebuilding and p.provider == "wheel")
            second_plan = plan_of(second, names)
            if names and predict(second_plan).total_minutes < prediction.total_minutes:
                chosen, chosen_plan = second, second_plan
                traded = tuple(Traded(n, p.version, rebuilding[n].minutes)
                               for n in sorted(names) if (p := second.pin(n)) is not None)
    savings = _savings(chosen_plan)
    return Optimized(chosen, chosen_plan, traded, savings)


def _savings(plan: Plan) -> tuple[Saving, ...]:
    """For each package replaced under nixpkgs packages: the rebuild minutes its nixpkgs version would save."""
    statuses = predict(plan).statuses
    out = []
    for p in plan.packages:
        if not p.replaces or p.nixpkgs_version is None:
            continue
        minutes = sum(s.minutes for s in statuses if s.state == "rebuild" and s.replaced is not None
                      and s.replaced.name == p.name)
        if minutes:
            out.append(Saving(p.name, p.nixpkgs_version, round(minutes, 1)))
    return tuple(out)


def python_candidates(default: str, interpreters: dict[str, str]) -> list[str]:
    """Interpreters as ``X.Y`` to try for ``--python auto``: ``default`` (python3's) first, then the others,
    newest first; pre-releases never."""
    from packaging.version import Version

    ordered = sorted(interpreters.items(), key=lambda kv: (kv[0] != default, -Version(kv[1]).minor))
    return [".".join(v.split(".")[:2]) for _a, v in ordered if not Version(v).is_prerelease]
