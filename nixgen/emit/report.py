"""Reports: the summary tables on stderr, `nixgen report` (tables or JSON) and `nixgen explain`, for every
system of a lock."""

from __future__ import annotations

import json
import sys
from collections import deque
from typing import Any

from nixgen.emit import words
from nixgen.lock.model import Lock
from nixgen.lock.schema import encode
from nixgen.plan import Plan, PlannedPackage, Status, predict
from nixgen.resolve.target import SYSTEMS


def deprecations(lock: Lock) -> list[tuple[str, str]]:
    """What nixpkgs announces about dropping a system of the lock."""
    return [(p.system, note) for p in lock.plans if (note := SYSTEMS[p.system].deprecation)]

SCHEMA_VERSION = 1
"""Version of ``nixgen report --json``'s shape (a list per system); bumped when a key changes meaning."""


def _console(stdout: bool, color: str = "auto") -> Any:
    """A rich console on stdout or stderr; ``color``: auto (a terminal, and rich honours NO_COLOR), always,
    never."""
    from rich.console import Console

    style: dict[str, Any] = {"force_terminal": True} if color == "always" else (
        {"no_color": True} if color == "never" else {})
    if stdout:
        return Console(highlight=False, width=160, **style)
    return Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160, **style)


def print_summary(lock: Lock, *, stdout: bool = False, systems: tuple[str, ...] = (), color: str = "auto",
                  every: bool = True) -> None:
    """One table per system (package, version, provider, predicted status, minutes, why), then totals,
    relaxations, trades and notes. Not ``every``: the table lists the packages asked for and every one that
    is fetched, built or rebuilt, and counts the rest (binary-cache hits, and nixpkgs packages no cache data
    speaks for) in a line after it. A line that every system shown has (a relaxation, a note, a verdict) is
    said once, after the last system."""
    from rich.table import Table

    console = _console(stdout, color)
    shown = [plan for plan in lock.plans if not systems or plan.system in systems]
    lines = {plan.system: _plan_lines(plan) for plan in shown}
    common = set.intersection(*(set(found) for found in lines.values())) if len(shown) > 1 else set()
    for plan in shown:
        prediction = predict(plan)
        table = Table(title=f"{plan.interpreter} ({plan.python_version}) on {plan.system}", title_justify="left")
        for column in ("package", "version", "provider", "status", "est. min", "why"):
            table.add_column(column)
        counted: dict[str, int] = {}
        for p, s in zip(plan.packages, prediction.statuses, strict=True):
            if not every and not p.requested and s.state in ("cached", "unverified"):
                counted[s.state] = counted.get(s.state, 0) + 1
                continue
            name = p.name + ("" if p.runtime else " (build)")
            why = words.why(s, p, plan.system) if s.state in ("cached", "rebuild", "unverified") \
                or p.provider == "nixpkgs" else words.reason(p)
            table.add_row(name, p.version, p.provider, s.state, f"{s.minutes:g}", why)
        console.print(table)
        if counted:
            console.print(words.not_listed(counted, plan.system))
        states = ", ".join(f"{n} {k}" for k, n in prediction.by_state().items())
        relaxed = f"; {len(plan.relaxations)} relaxed pin(s) accepted as nixpkgs has them (--no-relax refuses "\
            "them)" if plan.relaxations else ("; strict: no relaxed pins (--no-relax)" if lock.options.no_relax else "")
        console.print(f"{len(plan.packages)} packages: {states}; about {prediction.total_minutes:g} estimated "
                      f"build minutes{relaxed} (estimates: see `nixgen report --json` for their sources)")
        for line in lines[plan.system]:
            if line not in common:
                console.print(line)
    if common:
        console.print(f"on every system ({', '.join(plan.system for plan in shown)}):")
        for line in lines[shown[0].system]:
            if line in common:
                console.print(line)
    for t in lock.trades:
        console.print(f"{words.trade(t)} on {t.system}")
    for a in lock.alternatives:
        console.print(f"{words.alternative(a)} on {a.system}")
    if lock.options.strategy == "latest":
        for plan in lock.plans:
            console.print(f"strategy latest: about {predict(plan).total_minutes:g} estimated build minutes "
                          f"on {plan.system}")
    for f in lock.failures:
        console.print(f"warning: not generated for {f.system}: {' '.join(f.why.split())}")
    for system, note in deprecations(lock):
        console.print(f"note: {system}: {note}")


def _plan_lines(plan: Plan) -> list[str]:
    """The lines under a system's table: how it was resolved, relaxations, notes, warnings, verdicts and added
    constraints, in that order, each once."""
    found: list[str] = []
    if (how := words.found_by(plan)) is not None:
        found.append(f"note: {how}")
    found += [f"relaxed as nixpkgs has it: {words.relaxation(rel)}" for rel in plan.relaxations]
    found += [f"note: {note}" for note in plan.notes]
    for p in plan.packages:
        found += [f"warning: {warning} ({plan.system})" for warning in words.linkage_warnings(p)]
        if p.recipe.verdict in ("risky", "infeasible"):
            found.append(f"{'warning' if p.recipe.verdict == 'risky' else 'error'}: build of {p.name} {p.version} "
                         f"from source: {words.verdict(p)}")
        found += [f"constraint: {line}" for line in words.added(p)]
    return list(dict.fromkeys(found))


def _package_json(p: PlannedPackage, s: Status) -> dict[str, Any]:
    return {
            "name": p.name, "version": p.version, "provider": p.provider, "attr": p.attr,
            "nixpkgs-version": p.nixpkgs_version, "runtime": p.runtime, "requested": p.requested,
            "reason": p.reason, "reason-text": words.reason(p), "status": s.state, "status-text": words.why(s, p),
            "cache": p.cache,
            "estimated-minutes": s.minutes, "estimate-source": s.estimate, "cause": [encode(c) for c in s.cause],
            "dependencies": list(p.dependencies), "build-system": list(p.build_system),
            "recipe": encode(p.recipe), "metadata-source": p.pin.metadata_source,
            "verdict": p.recipe.verdict, "verdict-text": words.verdict(p) if p.recipe.verdict else None,
            "added-constraints": words.added(p),
            "artifact": None if p.artifact is None else {"url": p.artifact.url, "sha256": p.artifact.sha256},
            "vcs": None if p.pin.vcs is None else encode(p.pin.vcs),
    }


def _plan_json(lock: Lock, plan: Plan) -> dict[str, Any]:
    prediction = predict(plan)
    packages = [_package_json(p, s) for p, s in zip(plan.packages, prediction.statuses, strict=True)]
    return {
        "system": plan.system, "interpreter": plan.interpreter, "python-version": plan.python_version,
        "found-by": plan.found_by, "found-from": plan.found_from, "found-by-text": words.found_by(plan),
        "totals": {**prediction.by_state(), "estimated-minutes": prediction.total_minutes},
        "trades": [encode(t) for t in lock.trades if t.system == plan.system],
        "alternatives": [encode(a) for a in lock.alternatives if a.system == plan.system],
        "relaxations": [encode(r) for r in plan.relaxations],
        "notes": list(plan.notes),
        "packages": packages,
    }


def report_json(lock: Lock, systems: tuple[str, ...] = ()) -> str:
    """Every system's plan and prediction as JSON (stable keys, sorted); ``systems`` selects."""
    data = {
        "schema-version": SCHEMA_VERSION,
        "nixpkgs": encode(lock.nixpkgs),
        "strategy": lock.options.strategy,
        "systems": [_plan_json(lock, p) for p in lock.plans if not systems or p.system in systems],
        "failures": [encode(f) for f in lock.failures if not systems or f.system in systems],
    }
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def requirement_path(plan: Plan, name: str) -> list[str] | None:
    """The shortest chain of dependencies from a requested package to ``name`` (breadth-first)."""
    by_attr = {p.attr: p for p in plan.packages}
    if plan.package(name) is None:
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


def explain(plan: Plan, name: str) -> str | None:
    """Why ``name`` is in the closure, which provider was chosen and why, and what it will cost; None when
    it is not in the plan."""
    from packaging.utils import canonicalize_name

    norm = canonicalize_name(name)
    path = requirement_path(plan, norm)
    p = plan.package(norm)
    s = predict(plan).status(norm)
    if path is None or p is None or s is None:
        return None
    lines = [f"{p.name} {p.version} ({plan.system})",
             "  why it is here: " + (" → ".join(path) + (" (requested)" if p.requested else "") if path
                                    else "needed only to build another package"),
             f"  provider: {p.provider} ({words.reason(p)})",
             f"  status: {s.state}, about {s.minutes:g} min ({s.estimate}); {words.why(s, p)}"]
    if p.nixpkgs_version is not None:
        lines.append(f"  nixpkgs has: {p.nixpkgs_version}")
    if p.recipe.applied:
        lines.append("  overrides applied: " + ", ".join(p.recipe.applied))
    if p.recipe.linked is not None:
        lines.append("  its binaries link: " + (", ".join(p.recipe.linked) or "nothing beyond glibc"))
    lines += [f"  warning: {w}" for w in words.linkage_warnings(p)]
    if p.recipe.verdict is not None:
        lines.append(f"  build feasibility: {p.recipe.verdict}")
        lines += [f"    {words.evidence(e)} ({e.verdict})" for e in p.recipe.evidence]
    lines += [f"  constraint: {c}" for c in words.added(p)]
    return "\n".join(lines)


def explain_json(lock: Lock, plans: list[Plan], name: str) -> str:
    """``explain --json``: per system, the package's report entry and the chain that brings it in."""
    from packaging.utils import canonicalize_name

    norm = canonicalize_name(name)
    out = []
    for plan in plans:
        p, s = plan.package(norm), predict(plan).status(norm)
        if p is None or s is None:
            continue
        out.append({"system": plan.system, "path": requirement_path(plan, norm), **_package_json(p, s)})
    return json.dumps({"schema-version": SCHEMA_VERSION, "name": norm, "systems": out}, indent=2, sort_keys=True,
                      ensure_ascii=False) + "\n"
