"""Explaining provider choices and turning each pin's edges into attributes."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from nixgen.nixpkgs.snapshot import CacheFact
from nixgen.overrides import Overrides
from nixgen.plan.model import Plan, PlannedPackage, is_linux_wheel
from nixgen.resolve.model import Pin, Resolution


def _reason(pin: Pin, forced: bool, traded: bool = False, cache: CacheFact = "listed", system: str = "") -> str:
    if forced:
        return f"--provider {pin.name}={pin.provider}"
    if traded:
        return "min-build: a wheel instead of building nixpkgs' package"
    if pin.provider == "nixpkgs":
        return "in nixpkgs at a fitting version (" + {
            "listed": "binary cache", "absent": f"not in {system}'s binary cache data",
            "no-data": f"no cache data for {system}"}[cache] + ")"
    if pin.provider == "local":
        return f"the project itself, built from {pin.source_path}"
    where = (f"nixpkgs has {pin.nixpkgs_version}, the resolution needs {pin.version}"
             if pin.nixpkgs_version is not None else "not in nixpkgs")
    how = "a wheel for the target" if pin.provider == "wheel" else "no wheel for the target, built from sdist"
    return f"{where}; {how}"


def _planned(p: Pin, attrs: dict[str, str], forced: frozenset[str], overrides: Overrides,
             tests: bool, traded: frozenset[str], exact: Mapping[str, tuple[str, ...]],
             cache: CacheFact, system: str) -> PlannedPackage:
    applied = overrides.applied(p.name, p.version)
    planned_attrs = set(attrs.values())
    nix_edges = {a for a in exact.get(p.attr, ()) if a in planned_attrs} if p.provider == "nixpkgs" else set()
    built = p.provider != "nixpkgs"
    sdist = p.provider in ("sdist", "local")
    # Packages from nixpkgs keep their tests (changing them would miss the binary cache); packages built
    # here run none unless --tests or their override says so.
    do_check = (tests if applied.tests is None else applied.tests) if built else True
    return PlannedPackage(
        name=p.name, version=p.version, provider=p.provider, attr=p.attr, artifact=p.artifact,
        dependencies=tuple(sorted({attrs[d] for d in p.dependencies if d in attrs})),
        build_system=tuple(sorted({attrs[d] for d in p.build_requires if d in attrs})),
        native_code=p.native_code, runtime=p.runtime, requested=p.requested,
        reason=_reason(p, p.name in forced, p.name in traded, cache, system),
        native_build_inputs=applied.native_build_inputs if sdist else (),
        # A Linux wheel's libraries are what autoPatchelfHook links it to; a macOS wheel bundles its own.
        build_inputs=applied.build_inputs if sdist or (p.native_code and p.artifact is not None
                                                       and is_linux_wheel(p.artifact.filename)) else (),
        env=applied.env if sdist else (),
        imports=applied.imports if built else (),
        do_check=do_check,
        overrides=applied.sources if built else (),
        nixpkgs_version=p.nixpkgs_version, replaces=p.replaces, source_path=p.source_path,
        nixpkgs_inputs=tuple(sorted({attrs[n] for n in applied.nixpkgs_inputs if n in attrs} | nix_edges)),
        cache=cache,
    )


def make_plan(resolution: Resolution, forced: frozenset[str] = frozenset(), overrides: Overrides | None = None,
              tests: bool = False, traded: frozenset[str] = frozenset(),
              exact_edges: Mapping[str, tuple[str, ...]] | None = None,
              cache_of: Callable[[str], CacheFact] | None = None) -> Plan:
    """One planned package per pin, with edges as package-set attributes and the overrides that apply.

    ``cache_of`` says whether the system's binary-cache data lists an attr (default: every one is listed).
    """
    attrs = {p.name: p.attr for p in resolution.pins}
    rules = overrides or Overrides()
    packages = tuple(_planned(p, attrs, forced, rules, tests, traded, exact_edges or {},
                              cache_of(p.attr) if cache_of is not None else "listed", resolution.system)
                     for p in resolution.pins)
    return Plan(interpreter=resolution.interpreter, python_version=resolution.python_version,
                system=resolution.system, packages=tuple(sorted(packages, key=lambda p: p.attr)),
                relaxations=resolution.relaxations, notes=resolution.notes)
