"""From a resolution to a build plan: one provider and Nix attribute per pin."""

from nixgen.plan.model import Plan, PlannedPackage
from nixgen.plan.planner import make_plan

__all__ = ["Plan", "PlannedPackage", "make_plan"]
