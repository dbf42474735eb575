"""nixpkgs' versioned attributes as recipes: which expression to build a version of a project from.

nixpkgs keeps older major versions of some projects beside the canonical attribute (``numpy_1``,
``pydantic_1``, ``sqlalchemy_1_4``). An attr named ``<canonical>_<n>[_<n>…]`` stands for the versions whose
PEP 440 release begins with those numbers; building such a version from source starts from that expression,
whose native inputs and flags were made for it, rather than from the canonical one's. The attrs come from the
interpreter's package set in the snapshot and, for those the snapshot cannot list (see the data file), from
``nixpkgs/data/versioned-attrs.toml``. Pure: the tables come in as data.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

if TYPE_CHECKING:
    from nixgen.nixpkgs.snapshot import PythonSet

__all__ = ["VersionedExpression", "curated", "expression_for", "stands_for", "versioned_in", "versioned_suffix"]


@dataclass(frozen=True)
class VersionedExpression:
    """A versioned attribute of the package set: the distribution it installs, the version its expression is
    made for, the Pythons it is not disabled on (None: all the set has), and where that is known from."""

    attr: str
    name: str
    version: str
    python: SpecifierSet | None = None
    source: str = ""


def versioned_suffix(attr: str) -> tuple[str, tuple[int, ...]] | None:
    """A versioned attr's base and the numbers of its suffix (``sqlalchemy_1_4`` → ("sqlalchemy", (1, 4))),
    else None."""
    match = re.fullmatch(r"(.+?)((?:_\d+)+)", attr)
    return (match.group(1), tuple(int(n) for n in match.group(2).split("_")[1:])) if match else None


def stands_for(attr: str, version: str | Version) -> bool:
    """Whether the versioned attr ``attr`` stands for ``version``: its suffix's numbers begin the release."""
    found = versioned_suffix(attr)
    if found is None:
        return False
    try:
        release = (version if isinstance(version, Version) else Version(version)).release
    except InvalidVersion:
        return False
    return release[:len(found[1])] == found[1]


CURATED = Path(__file__).parent / "data" / "versioned-attrs.toml"


@cache
def curated() -> tuple[VersionedExpression, ...]:
    """The curated table (``nixpkgs/data/versioned-attrs.toml``)."""
    text = CURATED.read_text(encoding="utf-8")
    return tuple(VersionedExpression(attr, str(canonicalize_name(row["name"])), row["version"],
                                     SpecifierSet(row["python"]) if row.get("python") else None, row["source"])
                 for attr, row in sorted(tomllib.loads(text).items()))


def expression_for(name: str, version: str, python_version: str,
                   known: Mapping[str, Iterable[VersionedExpression]]) -> VersionedExpression | None:
    """The versioned attribute to build ``name`` ``version`` from on Python ``python_version``: one of the
    set's (``known``, by name) or the curated ones, whose suffix stands for the version and that is not
    disabled on the Python; the most specific suffix wins (``pytest_8_3`` over ``pytest_8``)."""
    fits = [e for e in (*known.get(name, ()), *(c for c in curated() if c.name == name))
            if stands_for(e.attr, version) and (e.python is None or e.python.contains(python_version))]
    return max(fits, key=lambda e: (len(e.attr.split("_")), e.attr), default=None)


def versioned_in(pyset: PythonSet | None) -> dict[str, tuple[VersionedExpression, ...]]:
    """The versioned attributes of a package set, by distribution: the attrs named ``<canonical attr>_<n>…``
    (the canonical one of the distribution they install) whose suffix stands for their version."""
    found: dict[str, list[VersionedExpression]] = {}
    if pyset is None:
        return {}
    for attr in pyset.packages:
        suffix = versioned_suffix(attr) if "_" in attr else None
        if suffix is None:
            continue
        pkg = pyset.packages[attr]
        canonical = pyset.by_pypi_name(pkg.pypi_name)
        if canonical is None or canonical.attr != suffix[0] or not stands_for(attr, pkg.version):
            continue
        found.setdefault(pkg.pypi_name, []).append(VersionedExpression(attr, pkg.pypi_name, pkg.version, None,
                                                                       f"{pyset.packages_attr}.{attr}"))
    return {name: tuple(exprs) for name, exprs in sorted(found.items())}
