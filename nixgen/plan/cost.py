"""Build-cost estimates: data for the heavy packages, a size heuristic for the rest (always labelled)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from packaging.utils import canonicalize_name

DATA = Path(__file__).parent / "data" / "build-times.toml"
FETCH_MINUTES = 0.0  # a wheel is downloaded and patched, nothing compiles
DEFAULT_REBUILD_MINUTES = 2.0
MINUTES_PER_SDIST_MB = 1.0


@dataclass(frozen=True)
class Estimate:
    """Estimated minutes to build one package, and what the estimate rests on."""

    minutes: float
    source: str


@lru_cache(maxsize=1)
def _table() -> dict[str, Estimate]:
    data = tomllib.loads(DATA.read_text(encoding="utf-8"))
    return {canonicalize_name(k): Estimate(float(v["minutes"]), str(v["source"])) for k, v in data.items()}


def build_estimate(name: str, sdist_size: int | None) -> Estimate:
    """Minutes to build ``name`` from source: the table when it has the package, else the sdist's size."""
    known = _table().get(canonicalize_name(name))
    if known is not None:
        return known
    if sdist_size is not None:
        minutes = max(1.0, round(sdist_size / 1e6 * MINUTES_PER_SDIST_MB, 1))
        return Estimate(minutes, f"heuristic: {MINUTES_PER_SDIST_MB:g} min per MB of sdist")
    return Estimate(DEFAULT_REBUILD_MINUTES, "heuristic: default for a package with no data")
