"""Check the cache prediction against a binary cache: ask it for the narinfo of each predicted out path.

A Nix binary cache answers ``GET <substituter>/<out-path hash>.narinfo`` with 200 when it holds that path
(the Nix manual's "binary cache" HTTP layout). nixgen knows the out path of every package it takes from
nixpkgs unchanged (the snapshot records it); packages predicted to rebuild, fetch or build get new out
paths that only evaluating the real nixpkgs would tell, so they are reported as not checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from nixgen.errors import IndexAccessError
from nixgen.nixpkgs.snapshot import PythonSet
from nixgen.plan.model import Plan
from nixgen.plan.status import predict


@dataclass(frozen=True)
class Check:
    """Predicted against actual for one package."""

    name: str
    predicted: str
    out_path: str | None
    actual: str  # "cached", "missing" or "not checked"

    @property
    def agrees(self) -> bool:
        return self.actual == "not checked" or (self.predicted == "cached") == (self.actual == "cached")


def verify(plan: Plan, pyset: PythonSet | None, substituter: str, timeout: float = 10.0) -> list[Check]:
    """Ask ``substituter`` about every package predicted ``cached``."""
    import requests

    base = substituter.rstrip("/")
    session = requests.Session()
    prediction = predict(plan)

    def one(name: str, state: str, attr: str) -> Check:
        pkg = pyset.packages.get(attr) if pyset is not None else None
        if state != "cached" or pkg is None:
            return Check(name, state, None, "not checked")
        url = f"{base}/{pkg.out_hash}.narinfo"
        try:
            response = session.get(url, timeout=timeout)
        except requests.RequestException as err:
            raise IndexAccessError(f"cannot reach the binary cache at {url}: {err}",
                                   hint="check --substituter and the network") from None
        if response.status_code not in (200, 404, 403):
            raise IndexAccessError(f"the binary cache answered {response.status_code} for {url}",
                                   hint="check --substituter")
        actual = "cached" if response.status_code == 200 else "missing"
        return Check(name, state, f"/nix/store/{pkg.out_hash}-{pkg.store_name}", actual)

    with ThreadPoolExecutor(max_workers=16) as pool:
        checks = list(pool.map(lambda s: one(s.name, s.state, s.attr), prediction.statuses))
    session.close()
    return checks


def render_checks(checks: Sequence[Check]) -> str:
    lines = []
    for c in checks:
        mark = "ok " if c.agrees else "DIFF"
        lines.append(f"{mark} {c.name}: predicted {c.predicted}, binary cache: {c.actual}"
                     + (f" ({c.out_path})" if c.out_path and not c.agrees else ""))
    diffs = [c for c in checks if not c.agrees]
    checked = [c for c in checks if c.actual != "not checked"]
    lines.append(f"{len(checked)} checked, {len(diffs)} differ from the prediction")
    return "\n".join(lines)
