"""Conflicts in words: which requirement asked for what, and who asked for it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from resolvelib.structs import RequirementInformation

from nixgen.resolve.candidates import CandidateSource
from nixgen.resolve.model import Candidate, Req
from nixgen.resolve.target import Target


def _asked(info: RequirementInformation[Req, Candidate]) -> str:
    req = info.requirement
    if info.parent is None:
        return f"`{req.text}` requested ({req.origin})" if req.origin else f"`{req.text}` requested"
    return f"`{info.parent.describe()}` requires `{req.text}`"


def explain_conflict(causes: Sequence[RequirementInformation[Req, Candidate]], source: CandidateSource,
                     target: Target) -> str:
    """One sentence per conflicting project, e.g. "`a==1` requested (r.txt:1), but `b 2` requires `a==2`"."""
    by_name: dict[str, list[RequirementInformation[Req, Candidate]]] = defaultdict(list)
    for info in causes:
        by_name[info.requirement.name].append(info)
    lines: list[str] = []
    for name, infos in sorted(by_name.items()):
        unique = list({(_asked(i)): i for i in infos}.values())
        if len(unique) == 1:
            lines.append(_nothing_fits(name, unique[0], source, target))
            continue
        user = [i for i in unique if i.parent is None]
        others = [i for i in unique if i.parent is not None]
        first, rest = (user[0], user[1:] + others) if user else (others[0], others[1:])
        lines.append(f"{_asked(first)}, but " + " and ".join(_asked(i) for i in rest)
                     + f" — no version of {name} satisfies all of them")
    return "cannot resolve for " + target.describe() + ":\n  " + "\n  ".join(lines)


def _nothing_fits(name: str, info: RequirementInformation[Req, Candidate], source: CandidateSource,
                  target: Target) -> str:
    head = _asked(info)
    page = source._pages.get(name)
    reasons = source.excluded.get(name, [])
    if page is not None and not page.files:
        return f"{head}, but the index lists no files for {name}"
    detail = ""
    if reasons:
        shown = "; ".join(f"{e.version} {e.reason}" for e in reasons[:5])
        more = f" (and {len(reasons) - 5} more)" if len(reasons) > 5 else ""
        detail = f" (excluded: {shown}{more})"
    if page is not None:
        versions = sorted({f.version for f in page.files}, reverse=True)
        if versions:
            detail += f"; newest on the index: {versions[0]}"
    return f"{head}, but no version of {name} fits {target.describe()}{detail}"
