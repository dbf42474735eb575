"""Conflicts in words: which requirement asked for what, and who asked for it."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version
from resolvelib.structs import RequirementInformation

from nixgen.errors import NixgenError
from nixgen.resolve.model import Candidate, Req
from nixgen.resolve.target import Target

if TYPE_CHECKING:
    from nixgen.resolve.provider import NixgenProvider


def _asked(info: RequirementInformation[Req, Candidate]) -> str:
    req = info.requirement
    if info.parent is None:
        return f"`{req.text}` requested ({req.origin})" if req.origin else f"`{req.text}` requested"
    return f"`{info.parent.describe()}` requires `{req.text}`"


def explain_conflict(causes: Sequence[RequirementInformation[Req, Candidate]], provider: NixgenProvider,
                     target: Target, user: Sequence[Req]) -> str:
    """One sentence per conflicting project, e.g. "`a==1` requested (r.txt:1), but `b 2` requires `a==2`"."""
    by_name: dict[str, list[RequirementInformation[Req, Candidate]]] = defaultdict(list)
    for info in causes:
        by_name[info.requirement.name].append(info)
    lines: list[str] = []
    for name, infos in sorted(by_name.items()):
        unique = list({(_asked(i)): i for i in infos}.values())
        if len(unique) == 1:
            lines.append(_nothing_fits(name, unique[0], provider, target))
            lines += _pinned_conflicts(unique[0].requirement, provider, user)
            continue
        users = [i for i in unique if i.parent is None]
        others = [i for i in unique if i.parent is not None]
        first, rest = (users[0], users[1:] + others) if users else (others[0], others[1:])
        missing = _missing(name, provider)
        if missing is not None:
            lines.append(" and ".join(_asked(i) for i in unique) + f", but {missing}")
            continue
        lines.append(f"{_asked(first)}, but " + " and ".join(_asked(i) for i in rest)
                     + f" — no version of {name} satisfies all of them")
    return "cannot resolve for " + target.describe() + ":\n  " + "\n  ".join(lines)


def _missing(name: str, provider: NixgenProvider) -> str | None:
    if name in provider.source.missing:
        return f"{name} is missing from the index (no project of that name)"
    return None


def _nothing_fits(name: str, info: RequirementInformation[Req, Candidate], provider: NixgenProvider,
                  target: Target) -> str:
    head = _asked(info)
    source = provider.source
    missing = _missing(name, provider)
    if missing is not None:
        return f"{head}, but {missing}"
    page = source.page(name, required=False) if name not in source.forced else None
    source.drain_exclusions(name)
    reasons = source.excluded.get(name, [])
    if page is not None and not page.files:
        return f"{head}, but the index lists no files for {name}"
    versions = sorted({f.version for f in page.files}, reverse=True) if page is not None else []
    spec = info.requirement.specifier
    pinned = [s.version for s in spec if s.operator in ("==", "===") and "*" not in s.version]
    want: Version | None = None
    if pinned:
        with contextlib.suppress(InvalidVersion):
            want = Version(pinned[0])
    if want is not None and versions and want not in versions:
        def distance(v: Version) -> tuple[int, bool, str]:
            assert want is not None
            return (abs(v.release[0] - want.release[0]), v.release[1:2] != want.release[1:2], str(v))

        near = sorted(versions, key=distance)[:3]
        return (f"{head}, but {name} {want} is not on the index "
                f"(near it: {', '.join(str(v) for v in sorted(near))}; newest: {versions[0]})")
    # The versions the requirement would take, the pinned one first: its own reason is never cut off.
    relevant = [e for e in reasons if spec.contains(e.version, prereleases=True)] or list(reasons)
    relevant.sort(key=lambda e: want is None or Version(e.version) != want)
    detail = ""
    if relevant:
        shown = "; ".join(f"{e.version} {e.reason}" for e in relevant[:5])
        more = f" (and {len(relevant) - 5} more)" if len(relevant) > 5 else ""
        detail = f" (excluded: {shown}{more})"
    if versions:
        detail += f"; newest on the index: {versions[0]}"
    return f"{head}, but no version of {name} fits {target.describe()}{detail}"


def _pinned_conflicts(req: Req, provider: NixgenProvider, user: Sequence[Req]) -> list[str]:
    """Other exact user pins whose own dependencies contradict ``req``: the conflict behind the conflict."""
    if req.parent is not None:
        return []
    out: list[str] = []
    for other in user:
        if other.name == req.name or not any(s.operator == "==" for s in other.specifier):
            continue
        try:
            cands = [c for c in provider.source.candidates(other.name, other.extras, [other])
                     if provider.is_satisfied_by(other, c)]
            deps = provider.get_dependencies(cands[0]) if cands else []
        except NixgenError:
            continue
        for dep in deps:
            if dep.name == req.name and dep.specifier != req.specifier:
                out.append(f"and `{other.text}` ({other.origin}) is `{cands[0].describe()}`, which requires "
                           f"`{dep.text}`")
    return out
