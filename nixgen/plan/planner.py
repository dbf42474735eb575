"""From a resolution to a build plan: one provider, Nix attribute and recipe per pin."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from nixgen.core.kinds import ReasonKind
from nixgen.overrides import Overrides
from nixgen.plan.model import BuildRecipe, Plan, PlannedPackage
from nixgen.resolve.model import Pin, Resolution


def reason_for(pin: Pin, forced: bool, traded: bool = False) -> ReasonKind:
    """Why ``pin``'s provider was chosen, as a kind (the sentence is made in ``emit/``)."""
    if forced:
        return "forced"
    if traded:
        return "traded"
    if pin.provider == "nixpkgs":
        return "nixpkgs"
    if pin.provider == "local":
        return "local"
    return "newer" if pin.nixpkgs_version is not None else "absent"


def recipe_for(p: Pin, attrs: Mapping[str, str], overrides: Overrides, tests: bool,
               exact: Mapping[str, tuple[str, ...]]) -> BuildRecipe:
    """What the overrides layer (and nixpkgs' own edges, for packages kept from nixpkgs) add to ``p``."""
    applied = overrides.applied(p.name, p.version)
    planned_attrs = set(attrs.values())
    nix_edges = {a for a in exact.get(p.attr, ()) if a in planned_attrs} if p.provider == "nixpkgs" else set()
    built = p.provider != "nixpkgs"
    sdist = p.provider in ("sdist", "local")
    # Packages from nixpkgs keep their tests (changing them would miss the binary cache); packages built
    # here run none unless --tests or their override says so.
    do_check = (tests if applied.tests is None else applied.tests) if built else True
    return BuildRecipe(
        native_build_inputs=applied.native_build_inputs if sdist else (),
        build_inputs=applied.build_inputs if sdist or p.native_code else (),
        env=((*applied.env, ("SETUPTOOLS_SCM_PRETEND_VERSION", p.version)) if p.version_from_vcs
             else applied.env if sdist else ()),
        imports=applied.imports if built else (),
        do_check=do_check,
        nixpkgs_inputs=tuple(sorted({attrs[n] for n in applied.nixpkgs_inputs if n in attrs} | nix_edges)),
        applied=applied.sources if built else (),
    )


def link(packages: Iterable[PlannedPackage]) -> tuple[PlannedPackage, ...]:
    """The packages with their edges as attributes (derived from the pins' names), sorted by attribute."""
    items = list(packages)
    attrs = {p.name: p.attr for p in items}
    linked = [replace(p, dependencies=tuple(sorted({attrs[d] for d in p.pin.dependencies if d in attrs})),
                      build_system=tuple(sorted({attrs[d] for d in p.pin.build_requires if d in attrs})))
              for p in items]
    return tuple(sorted(linked, key=lambda p: p.attr))


def make_plan(resolution: Resolution, forced: frozenset[str] = frozenset(), overrides: Overrides | None = None,
              tests: bool = False, traded: frozenset[str] = frozenset(),
              exact_edges: Mapping[str, tuple[str, ...]] | None = None) -> Plan:
    """One planned package per pin, with edges as package-set attributes and the overrides that apply."""
    attrs = {p.name: p.attr for p in resolution.pins}
    rules = overrides or Overrides()
    packages = [PlannedPackage(p, recipe_for(p, attrs, rules, tests, exact_edges or {}),
                               reason_for(p, p.name in forced, p.name in traded))
                for p in resolution.pins]
    return Plan(interpreter=resolution.interpreter, python_version=resolution.python_version,
                system=resolution.system, roots=resolution.roots, packages=link(packages),
                relaxations=resolution.relaxations, notes=resolution.notes)
