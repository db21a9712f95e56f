"""One prediction run: every registered scoring model over the same feature frames, then the personas."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from orchestration.predictive.features import model_matrix, persona_matrix
from orchestration.predictive.models import (
    ModelOutcome,
    brand_similarity,
    holdout_mask,
    train_classifier,
    train_regressor,
)
from orchestration.predictive.personas import Personas, TooLittleVariety, find_personas
from orchestration.predictive.settings import PredictiveSettings, slug


@dataclass(frozen=True)
class ModelInputs:
    """What a scoring model gets: labelled training rows (features at the cutoff) and the rows to score."""

    training: (
        pd.DataFrame
    )  # int_profile_features rows of feature_set 'training' with events before the cutoff
    x_train: pd.DataFrame  # their model matrix
    x_score: pd.DataFrame  # model matrix of every profile at as_of, indexed by profile_id
    settings: PredictiveSettings
    seed: int


ScoringModel = Callable[[ModelInputs], ModelOutcome]
SCORING_MODELS: dict[str, ScoringModel] = {}


def scoring_model(name: str) -> Callable[[ScoringModel], ScoringModel]:
    """Register a scoring model: a function from ModelInputs to a ModelOutcome whose `scores` columns are
    written to profile_predictions (and so appear in profile_traits) when it beats its baseline."""

    def register(function: ScoringModel) -> ScoringModel:
        SCORING_MODELS[name] = function
        return function

    return register


@scoring_model("churn")
def churn(inputs: ModelInputs) -> ModelOutcome:
    labels = inputs.training["label_churned_30d"]
    return train_classifier("churn", "churn_probability", inputs.x_train, labels, inputs.x_score, inputs.seed)


@scoring_model("purchase_30d")
def purchase(inputs: ModelInputs) -> ModelOutcome:
    labels = inputs.training["label_purchased_30d"]
    return train_classifier(
        "purchase_30d", "purchase_propensity_30d", inputs.x_train, labels, inputs.x_score, inputs.seed
    )


@scoring_model("ltv_90d")
def lifetime_value(inputs: ModelInputs) -> ModelOutcome:
    values = inputs.training["label_revenue_90d"]
    return train_regressor(
        "ltv_90d", "predicted_ltv_90d", inputs.x_train, values, inputs.x_score, inputs.seed
    )


@scoring_model("brand_affinity")
def brand_affinity(inputs: ModelInputs) -> ModelOutcome:
    """One classifier per brand (bought it in the 90 days after the cutoff), judged together: mean AUC
    and the held-out top-1 hit rate (the brand scored highest is the brand bought most) against always
    naming the most bought brand."""
    brands = list(inputs.settings.brands)
    columns = list(inputs.settings.brand_columns.values())
    parts = [
        train_classifier(
            "brand_affinity",
            column,
            inputs.x_train,
            inputs.training[f"label_bought_{slug(brand)}_90d"],
            inputs.x_score,
            inputs.seed,
        )
        for brand, column in zip(brands, columns, strict=True)
    ]
    skipped = [f"{brand}: {part.skipped}" for brand, part in zip(brands, parts, strict=True) if part.skipped]
    outcome = ModelOutcome(
        "brand_affinity",
        columns,
        None,
        training_rows=parts[0].training_rows,
        holdout_rows=parts[0].holdout_rows,
    )
    if skipped:
        reasons = {part.skipped for part in parts}
        every = len(skipped) == len(brands) and len(reasons) == 1
        outcome.skipped = f"every brand: {reasons.pop()}" if every else "; ".join(skipped)
        return outcome
    outcome.scores = pd.concat([part.scores for part in parts], axis=1)
    outcome.estimators = {column: e for part in parts for column, e in part.estimators.items()}
    held = holdout_mask(len(inputs.training), inputs.seed)
    bought = inputs.training[[f"label_bought_{slug(b)}_90d" for b in brands]].to_numpy(dtype=bool)[held]
    buyers = bought.any(axis=1)
    top = np.column_stack([part.holdout_predictions for part in parts]).argmax(axis=1)
    popular = int(
        inputs.training[[f"label_bought_{slug(b)}_90d" for b in brands]][~held].sum().to_numpy().argmax()
    )
    shares = inputs.training[[f"order_share_{slug(b)}" for b in brands]]
    outcome.metrics = {
        "mean_auc": float(np.mean([part.metrics["auc"] for part in parts])),
        "top1_hit_rate": float(bought[buyers, top[buyers]].mean()) if buyers.any() else 0.0,
        **{f"auc_{slug(b)}": part.metrics["auc"] for b, part in zip(brands, parts, strict=True)},
        "similar_brands": json.dumps(brand_similarity(shares, brands), sort_keys=True),
    }
    outcome.baseline = {
        "mean_auc": 0.5,
        "top1_hit_rate": float(bought[buyers, popular].mean()) if buyers.any() else 0.0,
    }
    outcome.beats_baseline = all(part.beats_baseline for part in parts) and (
        outcome.metrics["top1_hit_rate"] > outcome.baseline["top1_hit_rate"]
    )
    return outcome


def _goal_model(goal: Any) -> ScoringModel:
    def model(inputs: ModelInputs) -> ModelOutcome:
        return train_classifier(
            f"goal_{goal.name}",
            goal.column,
            inputs.x_train,
            inputs.training[goal.label],
            inputs.x_score,
            inputs.seed,
        )

    return model


def persona_scores_json(names: list[str], scores: np.ndarray) -> np.ndarray:
    """{"name": score, ...} per row, built by DuckDB (ten times faster than pandas string sums)."""
    frame = pd.DataFrame(np.round(scores, 4), columns=[f"score_{i}" for i in range(len(names))])
    pairs = ", ".join("'" + name.replace("'", "''") + f"', score_{i}" for i, name in enumerate(names))
    with duckdb.connect() as con:
        con.register("persona_scores", frame)
        (column,) = (
            con.execute(f"select json_object({pairs})::varchar from persona_scores").fetchnumpy().values()
        )
    return np.asarray(column, dtype=object)


@dataclass
class PredictionRun:
    scores: pd.DataFrame  # indexed by profile_id: every published column (unpublished ones absent)
    outcomes: list[ModelOutcome]
    personas: Personas | None
    persona_outcome: ModelOutcome
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def all_outcomes(self) -> list[ModelOutcome]:
        return [*self.outcomes, self.persona_outcome]


def run_models(
    training: pd.DataFrame,
    scoring: pd.DataFrame,
    settings: PredictiveSettings,
    seed: int,
    previous_personas: dict[str, Any] | None = None,
    models: dict[str, ScoringModel] | None = None,
) -> PredictionRun:
    """Train every model on `training` (profiles with events before the cutoff), score `scoring`."""
    training = training[training["events_total"] > 0].sort_values("profile_id").reset_index(drop=True)
    scoring = scoring.sort_values("profile_id").set_index("profile_id")
    inputs = ModelInputs(
        training=training,
        x_train=model_matrix(training),
        x_score=model_matrix(scoring.reset_index()).set_index(scoring.index),
        settings=settings,
        seed=seed,
    )
    # `models` narrows the run to those (tests, a benchmark); by default every registered model and goal.
    registered = dict(models) if models is not None else dict(SCORING_MODELS)
    if models is None:
        for goal in settings.goals:
            registered.setdefault(f"goal_{goal.name}", _goal_model(goal))
    # One thread: OpenMP's default of one per core thrashes on a shared machine (10x slower under load),
    # and one thread makes results independent of the core count.
    with threadpool_limits(limits=1):
        outcomes = [model(inputs) for model in registered.values()]
    published = [o.scores for o in outcomes if o.published]
    scores = pd.concat(published, axis=1) if published else pd.DataFrame(index=scoring.index)

    active = scoring["events_total"].to_numpy() > 0
    persona_outcome = ModelOutcome("personas", ["persona", "persona_affinity", "persona_scores"], None)
    personas = None
    if active.sum() < 50:
        persona_outcome.skipped = f"too few active profiles to cluster: {int(active.sum())}"
    else:
        try:
            with threadpool_limits(limits=1):
                personas = find_personas(persona_matrix(inputs.x_score[active]), seed, previous_personas)
        except TooLittleVariety as reason:
            persona_outcome.skipped = str(reason)
    if personas is not None:
        persona_outcome.metrics = {
            "silhouette": personas.silhouette,
            "k": len(personas.names),
            "matched_previous": personas.matched,
            **{f"size_{slug(name)}": size for name, size in personas.sizes.items()},
        }
        persona_outcome.baseline = {"silhouette": 0.0}
        persona_outcome.beats_baseline = personas.silhouette > 0.0
        persona_outcome.scores = pd.DataFrame(
            persona_columns(personas.names, personas.labels, personas.scores, active), index=scoring.index
        )
        persona_outcome.training_rows = int(active.sum())
        if persona_outcome.published:
            scores = scores.join(persona_outcome.scores)
    return PredictionRun(scores=scores, outcomes=outcomes, personas=personas, persona_outcome=persona_outcome)


SCORE_BATCH = 65_536  # rows rescore scores at once: less memory, and the batch stays in cache per tree


def persona_columns(
    names: list[str], labels: np.ndarray, scores: np.ndarray, active: np.ndarray
) -> dict[str, np.ndarray]:
    """persona, persona_affinity and persona_scores of every row, null where `active` is False; `labels`
    and `scores` hold the active rows only."""
    persona = np.full(len(active), np.nan, dtype=object)
    persona[active] = np.asarray(names, dtype=object)[labels]
    affinity = np.full(len(active), np.nan)
    affinity[active] = scores[np.arange(len(labels)), labels]
    everyone = np.full(len(active), np.nan, dtype=object)
    everyone[active] = persona_scores_json(names, scores)
    return {"persona": persona, "persona_affinity": affinity, "persona_scores": everyone}


def _predict(estimator: Any, x: pd.DataFrame) -> np.ndarray:
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(x)[:, 1]
    return np.maximum(estimator.predict(x), 0)


def rescore(
    run: PredictionRun, scoring: pd.DataFrame, timings: dict[str, float] | None = None
) -> pd.DataFrame:
    """Score other profiles' features with a run's fitted models and personas (what the run itself
    does for its scoring frame): published columns only, indexed by profile_id, in the frame's order.
    Scored in batches of SCORE_BATCH rows into numpy columns; `timings`, when given, receives the
    seconds spent per stage (features, each column, personas, frame)."""
    fitted = [(c, e) for o in run.outcomes if o.published for c, e in o.estimators.items()]
    personas = run.personas if run.personas is not None and run.persona_outcome.published else None
    size = len(scoring)
    columns: dict[str, np.ndarray] = {column: np.empty(size) for column, _ in fitted}
    labels = np.zeros(size, dtype=np.intp)
    affinity = np.zeros((size, len(personas.names))) if personas else None
    spent = dict.fromkeys(["features", *columns, "personas", "frame"], 0.0)
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        spent[stage] += now - clock
        clock = now

    with threadpool_limits(limits=1):
        for start in range(0, size, SCORE_BATCH):
            rows = slice(start, min(start + SCORE_BATCH, size))
            x = model_matrix(scoring.iloc[rows])
            lap("features")
            for column, estimator in fitted:
                columns[column][rows] = _predict(estimator, x)
                lap(column)
            if personas:
                labels[rows], affinity[rows] = personas.assign(persona_matrix(x))
                lap("personas")
    if personas:
        active = scoring["events_total"].to_numpy() > 0
        columns.update(persona_columns(personas.names, labels[active], affinity[active], active))
        lap("personas")
    scores = pd.DataFrame(columns, index=pd.Index(scoring["profile_id"].to_numpy(), name="profile_id"))
    lap("frame")
    if timings is not None:
        timings.update(spent)
    return scores
