"""The smoke pre-flight's results in words (stderr) and as JSON (stdout), from :class:`nixgen.smoke.SmokeResult`."""

from __future__ import annotations

import json
from collections.abc import Sequence

from nixgen.smoke import SCOPE, SmokeResult

MARKS = {"passed": "ok", "failed": "FAILED", "not tried": "not tried"}


def render_text(results: Sequence[SmokeResult]) -> str:
    """Per system: the interpreter, each step's verdict with its reason, and what was not tried; first the
    sentence that says what a smoke tests and what not."""
    lines = [f"smoke: {SCOPE}"]
    for r in results:
        lines.append(f"{r.system} (Python {r.python}): {r.outcome}" + (f", with {r.interpreter}" if r.interpreter
                                                                      else ""))
        if r.outcome == "not tried":
            lines.append(f"  {r.steps[0].reason}")
            continue
        for s in r.steps:
            count = f" ({len(s.items)})" if s.items else ""
            lines.append(f"  {s.step}{count}: {MARKS[s.verdict]}")
            if s.reason and s.verdict != "passed":
                lines += [f"    {line}" for line in s.reason.splitlines()]
        for what in r.not_tried:
            lines.append(f"  not tried: {what.removeprefix('not tried: ')}")
        for note in r.notes:
            lines.append(f"  note: {note}")
    return "\n".join(lines) + "\n"


def render_json(results: Sequence[SmokeResult]) -> str:
    """The contract: the scope sentence, then each system's outcome, steps and what was not tried."""
    data = {"scope": SCOPE, "systems": [r.to_json() for r in results]}
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
