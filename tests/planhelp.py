"""Plans made by hand for tests of the stages after planning (emit, verify)."""

from __future__ import annotations

from typing import Any

from nixgen.plan.model import BuildRecipe, Plan, PlannedPackage
from nixgen.resolve.model import Pin


def planned(name: str, provider: str, deps: tuple[str, ...] = (), build: tuple[str, ...] = (),
            **pin: Any) -> PlannedPackage:
    """A planned package whose attribute is its name, with edges ``deps`` and ``build`` (attributes)."""
    fields: dict[str, Any] = dict(name=name, version="1.0", provider=provider, attr=name, artifact=None,
                                  dependencies=deps, build_requires=build, extras=(), native_code=False,
                                  runtime=True, requested=False, metadata_source="none")
    fields.update(pin)
    return PlannedPackage(Pin(**fields), BuildRecipe(), "absent", dependencies=deps, build_system=build)


def plan(*packages: PlannedPackage, system: str = "x86_64-linux") -> Plan:
    return Plan(interpreter="python313", python_version="3.13.12", system=system,
                roots=tuple(p.name for p in packages if p.requested), packages=packages)
