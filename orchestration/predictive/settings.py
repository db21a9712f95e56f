"""What the predictive models score, read from the dbt project's vars so dbt and Python agree: the brands
(var `brand_affinity_brands`), the custom goals (var `predictive_goals`, validated against the tracking plan
in var `tracked_events`) and the training cutoff (var `predictive_cutoff_days`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from orchestration.errors import CdpError
from orchestration.settings import dbt_project_dir


class GoalError(CdpError):
    """A custom predictive goal that cannot be trained (unknown event, bad horizon): names the goal."""


def slug(name: str) -> str:
    """The column-name form of a brand or goal, as dbt's `cdp.predictive_slug` writes it."""
    return re.sub("[^a-z0-9]+", "_", name.lower()).strip("_")


class Goal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    event: str
    where: dict[str, Any] | list[dict[str, Any]] | None = None
    horizon_days: int = Field(default=30, ge=1, le=365)
    description: str = ""

    @field_validator("name")
    @classmethod
    def _name_is_a_column(cls, name: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise ValueError("must be lower-case letters, digits and underscores")
        return name

    @property
    def column(self) -> str:
        return f"{self.name}_propensity"

    @property
    def label(self) -> str:
        return f"label_goal_{self.name}"


@dataclass(frozen=True)
class PredictiveSettings:
    brands: tuple[str, ...]
    goals: tuple[Goal, ...]
    cutoff_days: int

    @property
    def brand_columns(self) -> dict[str, str]:
        return {brand: f"brand_affinity_{slug(brand)}" for brand in self.brands}


def parse_goals(raw: Any, tracked_events: list[str]) -> tuple[Goal, ...]:
    """Validated goals; a bad one raises GoalError naming it (and what is wrong)."""
    goals = []
    for position, entry in enumerate(raw or []):
        name = entry.get("name", f"#{position + 1}") if isinstance(entry, dict) else f"#{position + 1}"
        try:
            goal = Goal.model_validate(entry)
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "goal"
            raise GoalError(f"predictive goal '{name}': {field}: {first['msg']}") from None
        if goal.event not in tracked_events:
            raise GoalError(
                f"predictive goal '{goal.name}': unknown event '{goal.event}' "
                f"(var tracked_events lists: {', '.join(tracked_events)})"
            )
        goals.append(goal)
    names = [goal.name for goal in goals]
    for name in names:
        if names.count(name) > 1:
            raise GoalError(f"predictive goal '{name}' is declared twice")
    return tuple(goals)


def load_settings(project_dir: Path | None = None) -> PredictiveSettings:
    """The predictive vars of dbt_project.yml; raises GoalError for a bad goal (at code-location load)."""
    path = (project_dir or dbt_project_dir()) / "dbt_project.yml"
    variables = (yaml.safe_load(path.read_text()) or {}).get("vars", {})
    return PredictiveSettings(
        brands=tuple(variables.get("brand_affinity_brands") or ()),
        goals=parse_goals(variables.get("predictive_goals"), list(variables.get("tracked_events") or [])),
        cutoff_days=int(variables.get("predictive_cutoff_days", 90)),
    )


_PREDICTION_COLUMN = re.compile(
    r"(churn_probability|purchase_propensity_30d|predicted_ltv_90d|brand_affinity_\w+|recommended_products"
    r"|persona|persona_affinity|persona_scores|\w+_propensity)"
)


def is_prediction_column(name: str) -> bool:
    """A profile_traits column that comes from profile_predictions (shown apart by `cdp profile`)."""
    return bool(_PREDICTION_COLUMN.fullmatch(name))
