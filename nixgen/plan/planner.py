"""From a resolution to a build plan: one provider, Nix attribute and recipe per pin."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

from nixgen.core.kinds import CacheFact, ReasonKind
from nixgen.nixpkgs.versioned import VersionedExpression, expression_for
from nixgen.overrides import Overrides
from nixgen.plan.feasibility import judge
from nixgen.plan.linking import link_libraries
from nixgen.plan.model import BuildRecipe, Plan, PlannedPackage
from nixgen.pypi.linkage import WheelLinkage
from nixgen.pypi.sourcefacts import SourceFacts
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
    if pin.vcs is not None:
        return "vcs"  # the user named a commit: nixpkgs' build never stands in for it
    if pin.hashed and pin.nixpkgs_version is not None:
        return "hashed"  # nixpkgs builds from its own source, never the file the user's hashes name
    return "newer" if pin.nixpkgs_version is not None else "absent"


NOT_BUILD_PYTHON_PACKAGE = frozenset({"gdal"})
"""nixpkgs attrs of a package set that are not ``buildPythonPackage`` expressions (gdal's is
``toPythonModule`` of the C library), so have no ``overridePythonAttrs`` to build another version from."""


def inherits_recipe(p: Pin) -> bool:
    """Whether ``p`` is built from nixpkgs' own expression: an sdist of a project nixpkgs has, at another
    version, in nixpkgs' attribute."""
    return (p.provider == "sdist" and p.replaces and p.nixpkgs_version is not None
            and p.nixpkgs_version != p.version and p.attr not in NOT_BUILD_PYTHON_PACKAGE)


def inherited_expression(p: Pin, python_version: str,
                         versioned: Mapping[str, tuple[VersionedExpression, ...]]) -> tuple[str, str] | None:
    """The nixpkgs expression (attr, the version it is made for) an sdist of ``p`` is built from: the
    versioned attribute that stands for its version (``numpy_1`` for numpy 1.26.4 on Python 3.12; see
    :mod:`nixgen.nixpkgs.versioned`), else the attribute it replaces (:func:`inherits_recipe`)."""
    if p.provider != "sdist" or p.attr in NOT_BUILD_PYTHON_PACKAGE:
        return None
    expr = expression_for(p.name, p.version, python_version, versioned)
    if expr is not None:
        return expr.attr, expr.version
    if inherits_recipe(p):
        return p.attr, p.nixpkgs_version or ""
    return None


def recipe_for(p: Pin, attrs: Mapping[str, str], overrides: Overrides, tests: bool,
               exact: Mapping[str, tuple[str, ...]], linkage: Mapping[str, WheelLinkage] | None = None,
               provided: frozenset[str] = frozenset(), python_version: str = "",
               versioned: Mapping[str, tuple[VersionedExpression, ...]] | None = None) -> BuildRecipe:
    """What the overrides layer (and nixpkgs' own edges, for packages kept from nixpkgs) add to ``p``.

    An sdist gets the override data's native inputs and env; a wheel never does (what an sdist's build
    needs, a wheel has bundled or links): a wheel with native code gets the libraries its binaries link
    (``linkage``, by the wheel's sha256; ``provided`` are the sonames other wheels of the plan hold)."""
    applied = overrides.applied(p.name, p.version)
    planned_attrs = set(attrs.values())
    nix_edges = {a for a in exact.get(p.attr, ()) if a in planned_attrs} if p.provider == "nixpkgs" else set()
    built = p.provider != "nixpkgs"
    sdist = p.provider in ("sdist", "local")
    # Packages from nixpkgs keep their tests (changing them would miss the binary cache); packages built
    # here run none unless --tests or their override says so.
    do_check = (tests if applied.tests is None else applied.tests) if built else True
    found = (linkage or {}).get(p.artifact.sha256) if p.provider == "wheel" and p.artifact is not None else None
    links = link_libraries(found.needed, provided - set(found.provides)) if found is not None else None
    inherits = inherited_expression(p, python_version, versioned or {})
    return BuildRecipe(
        native_build_inputs=applied.native_build_inputs if sdist else (),
        build_inputs=applied.build_inputs if sdist else (),
        env=((*applied.env, ("SETUPTOOLS_SCM_PRETEND_VERSION", p.version)) if p.version_from_vcs
             else applied.env if sdist else ()),
        imports=applied.imports if built else (),
        do_check=do_check,
        nixpkgs_inputs=tuple(sorted({attrs[n] for n in applied.nixpkgs_inputs if n in attrs} | nix_edges)),
        applied=applied.sources if built else (),
        linked=links.linked if links is not None else None,
        unmapped=links.unmapped if links is not None else (),
        link_ignored=links.ignored if links is not None else (),
        inherits=inherits[0] if inherits is not None else None,
        inherits_version=inherits[1] if inherits is not None else None,
    )


def _judged(pp: PlannedPackage, python_version: str, versions: Mapping[str, str],
            sources: Mapping[str, SourceFacts]) -> PlannedPackage:
    """``pp`` with its build-feasibility verdict, when it is built from source."""
    if pp.provider not in ("sdist", "local"):
        return pp
    facts = sources.get(pp.artifact.sha256) if pp.artifact is not None else None
    verdict, evidence = judge(pp.pin, python_version, versions, facts)
    return replace(pp, recipe=replace(pp.recipe, verdict=verdict, evidence=evidence))


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
              exact_edges: Mapping[str, tuple[str, ...]] | None = None,
              cache_of: Callable[[str], CacheFact] | None = None,
              linkage: Mapping[str, WheelLinkage] | None = None,
              sources: Mapping[str, SourceFacts] | None = None,
              versioned: Mapping[str, tuple[VersionedExpression, ...]] | None = None) -> Plan:
    """One planned package per pin, with edges as package-set attributes and the overrides that apply;
    ``cache_of(attr)`` says what the system's binary-cache data says of a nixpkgs attr (default: listed);
    ``linkage`` is what the plan's Linux wheels link and ``sources`` what its sdists' setup.py imports, by
    sha256 (both read at the pipeline's edge); ``versioned`` the set's versioned attributes by name (the
    curated ones are added); every build from source gets a feasibility verdict."""
    attrs = {p.name: p.attr for p in resolution.pins}
    rules = overrides or Overrides()
    links = linkage or {}
    provided = frozenset(s for p in resolution.pins if p.artifact is not None and p.artifact.sha256 in links
                         for s in links[p.artifact.sha256].provides)
    packages = [PlannedPackage(p, recipe_for(p, attrs, rules, tests, exact_edges or {}, links, provided,
                                             resolution.python_version, versioned),
                               reason_for(p, p.name in forced, p.name in traded),
                               cache=cache_of(p.versioned_attr or p.attr)
                               if cache_of is not None and p.provider == "nixpkgs"
                               else "listed")
                for p in resolution.pins]
    versions = {p.name: p.version for p in resolution.pins}
    packages = [_judged(pp, resolution.python_version, versions, sources or {}) for pp in packages]
    return Plan(interpreter=resolution.interpreter, python_version=resolution.python_version,
                system=resolution.system, roots=resolution.roots, packages=link(packages),
                relaxations=resolution.relaxations, notes=resolution.notes, found_by=resolution.found_by,
                found_from=resolution.found_from)
