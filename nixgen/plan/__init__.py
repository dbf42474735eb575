"""From a resolution to a build plan: one provider, Nix attribute and recipe per pin; its prediction
(status and cost) and the optimiser that chooses the plan that builds least."""

from nixgen.plan.model import BuildRecipe, Plan, PlannedPackage
from nixgen.plan.planner import make_plan
from nixgen.plan.predict import CauseLink, Prediction, Status, predict

__all__ = ["BuildRecipe", "CauseLink", "Plan", "PlannedPackage", "Prediction", "Status", "make_plan", "predict"]
