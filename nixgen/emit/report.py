"""Reports: the summary table on stderr, `nixgen report` (table or JSON) and `nixgen explain`."""

from __future__ import annotations

import json
import sys
from collections import deque
from typing import TYPE_CHECKING, Any

from nixgen.plan.status import Prediction, predict

if TYPE_CHECKING:
    from nixgen.pipeline import Locked
    from nixgen.plan import Plan, PlannedPackage


def _console() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)


def print_summary(locked: Locked, plan: Plan, prediction: Prediction | None = None, *, stdout: bool = False) -> None:
    """A table of the plan with each package's predicted status, then totals, trades and notes."""
    from rich.console import Console
    from rich.table import Table

    prediction = prediction or predict(plan)
    console = Console(highlight=False, width=160) if stdout else _console()
    table = Table(title=f"{plan.interpreter} ({plan.python_version}) on {plan.system}", title_justify="left")
    for column in ("package", "version", "provider", "status", "est. min", "why"):
        table.add_column(column)
    for p, s in zip(plan.packages, prediction.statuses, strict=True):
        name = p.name + ("" if p.runtime else " (build)")
        why = s.why() if s.state in ("cached", "rebuild", "unverified") or p.provider == "nixpkgs" else p.reason
        table.add_row(name, p.version, p.provider, s.state, f"{s.minutes:g}", why)
    console.print(table)
    states = ", ".join(f"{n} {k}" for k, n in prediction.by_state().items())
    console.print(f"{len(plan.packages)} packages: {states}; about {prediction.total_minutes:g} estimated "
                  "build minutes (estimates: see `nixgen report --json` for their sources)")
    for rel in plan.relaxations:
        console.print(f"relaxed as nixpkgs has it: {rel.describe()}")
    for note in locked.strategy_notes:
        console.print(note)
    for note in plan.notes:
        console.print(f"note: {note}")


def report_json(locked: Locked, plan: Plan) -> str:
    """The plan and its prediction as JSON (stable keys, sorted)."""
    prediction = predict(plan)
    packages = []
    for p, s in zip(plan.packages, prediction.statuses, strict=True):
        packages.append({
            "name": p.name, "version": p.version, "provider": p.provider, "attr": p.attr,
            "nixpkgs-version": p.nixpkgs_version, "runtime": p.runtime, "requested": p.requested,
            "reason": p.reason, "status": s.state, "estimated-minutes": s.minutes, "estimate-source": s.estimate,
            "cause": list(s.cause), "dependencies": list(p.dependencies), "build-system": list(p.build_system),
            "overrides": list(p.overrides),
            "artifact": None if p.artifact is None else {"url": p.artifact.url, "sha256": p.artifact.sha256},
        })
    data = {
        "target": {"interpreter": plan.interpreter, "python-version": plan.python_version, "system": plan.system},
        "nixpkgs": {"rev": locked.nixpkgs.rev, "note": locked.nixpkgs.note},
        "totals": {**prediction.by_state(), "estimated-minutes": prediction.total_minutes},
        "strategy-notes": list(locked.strategy_notes),
        "relaxations": [r.describe() for r in plan.relaxations],
        "notes": list(plan.notes),
        "packages": packages,
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def requirement_path(plan: Plan, name: str) -> list[str] | None:
    """The shortest chain of dependencies from a requested package to ``name`` (breadth-first)."""
    by_attr = {p.attr: p for p in plan.packages}
    target = next((p for p in plan.packages if p.name == name), None)
    if target is None:
        return None
    queue: deque[tuple[PlannedPackage, list[str]]] = deque(
        (p, [p.name]) for p in plan.packages if p.requested)
    seen: set[str] = set()
    while queue:
        pkg, path = queue.popleft()
        if pkg.name == name:
            return path
        if pkg.attr in seen:
            continue
        seen.add(pkg.attr)
        for dep in (*pkg.dependencies, *pkg.build_system):
            child = by_attr.get(dep)
            if child is not None:
                queue.append((child, [*path, child.name + (" (build)" if dep in pkg.build_system else "")]))
    return []


def explain(locked: Locked, plan: Plan, name: str) -> str:
    """Why ``name`` is in the closure, which provider was chosen and why, and what it will cost."""
    from packaging.utils import canonicalize_name

    norm = canonicalize_name(name)
    path = requirement_path(plan, norm)
    if path is None:
        return f"{norm} is not in this resolution"
    prediction = predict(plan)
    p = next(p for p in plan.packages if p.name == norm)
    s = prediction.status(norm)
    assert s is not None
    lines = [f"{p.name} {p.version}",
             "  why it is here: " + (" → ".join(path) + (" (requested)" if p.requested else "") if path
                                    else "needed only to build another package"),
             f"  provider: {p.provider} ({p.reason})",
             f"  status: {s.state}, about {s.minutes:g} min ({s.estimate}); {s.why()}"]
    if p.nixpkgs_version is not None:
        lines.append(f"  nixpkgs has: {p.nixpkgs_version}")
    if p.overrides:
        lines.append("  overrides applied: " + ", ".join(p.overrides))
    return "\n".join(lines)
