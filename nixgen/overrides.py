"""The overrides layer: what packages fail to declare, as reviewable data.

One TOML file per project in the top-level ``overrides/`` directory (named by its PEP 503 name), each with
a ``source`` saying where the facts come from and ``[[rule]]`` tables that apply to the versions in their
PEP 440 ``versions`` range (all versions when absent). A user's ``--overrides FILE`` holds ``[NAME]``
tables of the same rules and takes precedence. Everything is validated when loaded: an unknown field, a
bad range or a native input the nixpkgs snapshot does not have is an error naming the file and entry.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from nixgen.errors import OverrideError

_LIST_FIELDS = ("native-build-inputs", "build-inputs", "build-system", "dependencies",
                "remove-dependencies", "imports", "nixpkgs-inputs", "nixpkgs-removes")
_FIELDS = frozenset((*_LIST_FIELDS, "versions", "env", "tests", "always-nixpkgs", "note"))


@dataclass(frozen=True)
class Rule:
    """One rule for a range of a project's versions."""

    where: str
    versions: SpecifierSet | None = None
    native_build_inputs: tuple[str, ...] = ()
    build_inputs: tuple[str, ...] = ()
    build_system: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    remove_dependencies: tuple[str, ...] = ()
    imports: tuple[str, ...] = ()
    nixpkgs_inputs: tuple[str, ...] = ()  # Python packages nixpkgs builds this with that its metadata omits
    nixpkgs_removes: tuple[str, ...] = ()  # requirements nixpkgs deletes from this package's metadata
    env: tuple[tuple[str, str], ...] = ()
    tests: bool | None = None
    always_nixpkgs: bool = False
    note: str = ""

    def applies(self, version: str | Version) -> bool:
        return self.versions is None or self.versions.contains(str(version), prereleases=True)


@dataclass(frozen=True)
class Applied:
    """The rules that apply to one package version, merged (earlier rules win for env and tests)."""

    native_build_inputs: tuple[str, ...] = ()
    build_inputs: tuple[str, ...] = ()
    build_system: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    remove_dependencies: frozenset[str] = frozenset()
    imports: tuple[str, ...] = ()
    nixpkgs_inputs: tuple[str, ...] = ()
    nixpkgs_removes: frozenset[str] = frozenset()
    env: tuple[tuple[str, str], ...] = ()
    tests: bool | None = None
    always_nixpkgs: bool = False
    sources: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.sources)


def _merge(rules: Iterable[Rule]) -> Applied:
    rules = list(rules)
    if not rules:
        return Applied()

    def union(attr: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(x for r in rules for x in getattr(r, attr)))

    env: dict[str, str] = {}
    for r in reversed(rules):
        env.update(dict(r.env))
    tests = next((r.tests for r in rules if r.tests is not None), None)
    return Applied(
        native_build_inputs=union("native_build_inputs"), build_inputs=union("build_inputs"),
        build_system=union("build_system"), dependencies=union("dependencies"),
        remove_dependencies=frozenset(canonicalize_name(n) for n in union("remove_dependencies")),
        imports=union("imports"), nixpkgs_inputs=tuple(canonicalize_name(n) for n in union("nixpkgs_inputs")),
        nixpkgs_removes=frozenset(canonicalize_name(n) for n in union("nixpkgs_removes")),
        env=tuple(sorted(env.items())), tests=tests,
        always_nixpkgs=any(r.always_nixpkgs for r in rules), sources=tuple(r.where for r in rules),
    )


@dataclass(frozen=True)
class Overrides:
    """All rules by project; user rules first, so they win. Read-only once made (the rules are copied into
    read-only mappings), so what :meth:`applied` remembers cannot go stale."""

    rules: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)
    _applied: dict[tuple[str, str], Applied] = field(default_factory=dict, init=False, repr=False, compare=False)
    _always: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", MappingProxyType({n: tuple(rs) for n, rs in self.rules.items()}))
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))
        object.__setattr__(self, "_always", frozenset(n for n, rules in self.rules.items()
                                                      if any(r.always_nixpkgs for r in rules)))

    def applied(self, name: str, version: str | Version) -> Applied:
        """The merged rules for ``name`` at ``version`` (merged once per name and version)."""
        key = (canonicalize_name(name), str(version))
        found = self._applied.get(key)
        if found is None:
            found = self._applied[key] = _merge(r for r in self.rules.get(key[0], ()) if r.applies(key[1]))
        return found

    def always_nixpkgs(self) -> frozenset[str]:
        """The projects a rule says always come from nixpkgs (worked out once: the rules are read-only)."""
        return self._always


def _rule(data: Any, where: str, knows_native: Any) -> Rule:
    if not isinstance(data, dict):
        raise OverrideError(f"{where}: a rule must be a table")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise OverrideError(f"{where}: unknown field(s) {', '.join(unknown)}",
                            hint=f"known fields: {', '.join(sorted(_FIELDS))}")
    values: dict[str, Any] = {}
    for key in _LIST_FIELDS:
        items = data.get(key, [])
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise OverrideError(f"{where}: {key} must be a list of strings")
        values[key.replace("-", "_")] = tuple(items)
    for key in ("build_system", "dependencies"):
        for text in values[key]:
            try:
                Requirement(text)
            except InvalidRequirement as err:
                raise OverrideError(f"{where}: {key.replace('_', '-')} entry {text!r} is not PEP 508: {err}") from None
    for attr in (*values["native_build_inputs"], *values["build_inputs"]):
        if not knows_native(attr):
            raise OverrideError(f"{where}: native input {attr!r} is not a top-level attribute of the nixpkgs "
                                "snapshot", hint="check the attribute name in nixpkgs")
    versions = None
    if "versions" in data:
        try:
            versions = SpecifierSet(str(data["versions"]))
        except InvalidSpecifier:
            raise OverrideError(f"{where}: versions {data['versions']!r} is not a PEP 440 range") from None
    env = data.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise OverrideError(f"{where}: env must be a table of strings")
    for value in env.values():
        for token in value.split("@")[1::2]:
            if token and not knows_native(token):
                raise OverrideError(f"{where}: env refers to @{token}@, which the nixpkgs snapshot does not have")
    tests = data.get("tests")
    if tests is not None and tests not in ("on", "off"):
        raise OverrideError(f"{where}: tests must be \"on\" or \"off\"")
    return Rule(where=where, versions=versions, env=tuple(sorted(env.items())),
                tests=None if tests is None else tests == "on",
                always_nixpkgs=bool(data.get("always-nixpkgs", False)), note=str(data.get("note", "")),
                **values)


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OverrideError(f"no such overrides file: {path}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise OverrideError(f"{path}: cannot read it as TOML: {err}") from None


def data_directory() -> Path:
    """The curated data: ``overrides/`` of a source checkout, else the copy installed with nixgen."""
    here = Path(__file__).resolve().parent
    checkout = here.parent / "overrides"
    return checkout if checkout.is_dir() else here / "overrides_data"


def load_overrides(knows_native: Any, user_files: Iterable[Path] = (), directory: Path | None = None) -> Overrides:
    """Curated rules plus the user's (user first); ``knows_native(attr)`` validates native inputs."""
    by_name: dict[str, list[Rule]] = {}
    sources: dict[str, str] = {}
    for path in user_files:
        data = _read(path)
        for name, table in sorted(data.items()):
            if not isinstance(table, dict):
                raise OverrideError(f"{path}: [{name}] must be a table")
            rules = table.get("rule", [table]) if "rule" in table else [table]
            norm = canonicalize_name(name)
            by_name.setdefault(norm, []).extend(
                _rule(r, f"{path} [{name}]" + (f" rule {i + 1}" if "rule" in table else ""), knows_native)
                for i, r in enumerate(rules))
            sources.setdefault(norm, str(path))
    directory = directory or data_directory()
    for path in sorted(directory.glob("*.toml")):
        name = canonicalize_name(path.stem)
        if name != path.stem:
            raise OverrideError(f"{path}: the file name must be the PEP 503 name ({name}.toml)")
        data = _read(path)
        unknown = sorted(set(data) - {"source", "rule"})
        if unknown:
            raise OverrideError(f"{path}: unknown top-level key(s) {', '.join(unknown)}",
                                hint="a file has `source` and [[rule]] tables")
        if not isinstance(data.get("source"), str):
            raise OverrideError(f"{path}: says nowhere where its facts come from (`source = \"…\"`)")
        rules = data.get("rule", [])
        if not isinstance(rules, list) or not rules:
            raise OverrideError(f"{path}: has no [[rule]] tables")
        by_name.setdefault(name, []).extend(
            _rule(r, f"{path.name} rule {i + 1}", knows_native) for i, r in enumerate(rules))
        sources.setdefault(name, data["source"])
    return Overrides({n: tuple(rs) for n, rs in by_name.items()}, sources)


def describe(name: str, overrides: Overrides, version: str | None = None) -> str:
    """Text for ``nixgen overrides show NAME``."""
    norm = canonicalize_name(name)
    rules = overrides.rules.get(norm, ())
    if not rules:
        return f"no overrides for {norm}"
    lines = [f"{norm} (source: {overrides.sources.get(norm, '?')})"]
    for r in rules:
        if version is not None and not r.applies(version):
            continue
        lines.append(f"  {r.where}: versions {r.versions or 'all'}")
        for key in ("native_build_inputs", "build_inputs", "build_system", "dependencies",
                    "remove_dependencies", "imports", "nixpkgs_inputs", "nixpkgs_removes"):
            value = getattr(r, key)
            if value:
                lines.append(f"    {key.replace('_', '-')}: {', '.join(value)}")
        for k, v in r.env:
            lines.append(f"    env {k} = {v}")
        if r.tests is not None:
            lines.append(f"    tests: {'on' if r.tests else 'off'}")
        if r.always_nixpkgs:
            lines.append("    always from nixpkgs")
        if r.note:
            lines.append(f"    note: {r.note}")
    return "\n".join(lines)


