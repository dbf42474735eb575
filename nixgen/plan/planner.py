"""Explaining provider choices and turning each pin's edges into attributes."""

from __future__ import annotations

from nixgen.plan.model import Plan, PlannedPackage
from nixgen.resolve.model import Pin, Resolution


def _reason(pin: Pin, forced: bool) -> str:
    if forced:
        return f"--provider {pin.name}={pin.provider}"
    if pin.provider == "nixpkgs":
        return "in nixpkgs at a fitting version (binary cache)"
    where = (f"nixpkgs has {pin.nixpkgs_version}, the resolution needs {pin.version}"
             if pin.nixpkgs_version is not None else "not in nixpkgs")
    how = "a wheel for the target" if pin.provider == "wheel" else "no wheel for the target, built from sdist"
    return f"{where}; {how}"


def make_plan(resolution: Resolution, forced: frozenset[str] = frozenset()) -> Plan:
    """One planned package per pin, with dependencies and build systems as package-set attributes."""
    attrs = {p.name: p.attr for p in resolution.pins}
    packages = tuple(
        PlannedPackage(
            name=p.name, version=p.version, provider=p.provider, attr=p.attr, artifact=p.artifact,
            dependencies=tuple(sorted({attrs[d] for d in p.dependencies if d in attrs})),
            build_system=tuple(sorted({attrs[d] for d in p.build_requires if d in attrs})),
            native_code=p.native_code, runtime=p.runtime, requested=p.requested,
            reason=_reason(p, p.name in forced),
        )
        for p in resolution.pins
    )
    return Plan(interpreter=resolution.interpreter, python_version=resolution.python_version,
                system=resolution.system, packages=tuple(sorted(packages, key=lambda p: p.attr)),
                relaxations=resolution.relaxations, notes=resolution.notes)
