"""The summary on stderr: one row per package with version, provider and why."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nixgen.pipeline import Locked
    from nixgen.plan import Plan


def console_is_terminal() -> bool:
    import sys

    return sys.stderr.isatty()


def print_summary(locked: Locked, plan: Plan) -> None:
    """A rich table of the plan, then relaxations and notes (stderr)."""
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True, highlight=False, width=None if console_is_terminal() else 160)
    table = Table(title=f"{plan.interpreter} ({plan.python_version}) on {plan.system}", title_justify="left")
    for column in ("package", "version", "provider", "why"):
        table.add_column(column)
    for p in plan.packages:
        name = p.name + ("" if p.runtime else " (build)")
        table.add_row(name, p.version, p.provider, "binary cache" if p.provider == "nixpkgs" else p.reason)
    console.print(table)
    counts = plan.counts()
    console.print(f"{len(plan.packages)} packages: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    for rel in plan.relaxations:
        console.print(f"relaxed as nixpkgs has it: {rel.describe()}")
    for note in plan.notes:
        console.print(f"note: {note}")
