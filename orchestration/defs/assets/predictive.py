"""Predictive traits as one Dagster asset, `profile_predictions`: trains every scoring model on the features
at the cutoff, scores every profile at as_of, finds the personas, and publishes the models that beat their
baselines (the others keep their previous scores). One asset check per model says which did."""

import datetime as dt
from typing import Any

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from orchestration.defs.assets.ingestion import WAREHOUSE_WRITERS
from orchestration.defs.resources import WarehouseResource
from orchestration.ingestion.spark_staging import stage_profile_predictions
from orchestration.predictive.models import ModelOutcome
from orchestration.predictive.run import SCORING_MODELS, run_models
from orchestration.predictive.settings import PredictiveSettings, load_settings
from orchestration.predictive.warehouse import previous_personas, publish, read_features
from orchestration.settings import engine

PREDICTIONS_ASSET = "profile_predictions"


class PredictionConfig(dg.Config):
    seed: int = 7  # same data, same seed: same models, scores and personas


def model_names(settings: PredictiveSettings) -> list[str]:
    return [*SCORING_MODELS, *(f"goal_{goal.name}" for goal in settings.goals), "personas"]


def prediction_columns(settings: PredictiveSettings, outcomes: list[ModelOutcome]) -> list[str]:
    """profile_predictions' columns in dbt's order (macro prediction_columns), then any a model adds."""
    columns = ["churn_probability", "purchase_propensity_30d", "predicted_ltv_90d"]
    columns += list(settings.brand_columns.values())
    columns += ["recommended_products", "persona", "persona_affinity", "persona_scores"]
    columns += [goal.column for goal in settings.goals]
    for outcome in outcomes:
        columns += [c for c in outcome.columns if c not in columns]
    return columns


def model_metadata(outcome: ModelOutcome) -> dict[str, Any]:
    """Numeric metadata per model (plotted over runs), its baseline beside it, and why it was skipped."""
    metadata: dict[str, Any] = {f"{outcome.model}/published": dg.BoolMetadataValue(outcome.published)}
    for name, value in outcome.metrics.items():
        key = f"{outcome.model}/{name}"
        metadata[key] = dg.FloatMetadataValue(float(value)) if isinstance(value, int | float) else str(value)
    for name, value in outcome.baseline.items():
        metadata[f"{outcome.model}/baseline_{name}"] = dg.FloatMetadataValue(float(value))
    if outcome.skipped:
        metadata[f"{outcome.model}/skipped"] = outcome.skipped
    return metadata


def check_result(outcome: ModelOutcome) -> dg.AssetCheckResult:
    """Passes when the model beat its baseline and was published; a skip warns, a worse model fails."""
    compared = {
        f"{k}": dg.FloatMetadataValue(float(v))
        for k, v in outcome.metrics.items()
        if isinstance(v, int | float)
    }
    compared |= {f"baseline_{k}": dg.FloatMetadataValue(float(v)) for k, v in outcome.baseline.items()}
    if outcome.skipped:
        return dg.AssetCheckResult(
            check_name=f"{outcome.model}_beats_baseline",
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"skipped: {outcome.skipped}; previous scores kept",
            metadata={"skipped": outcome.skipped},
        )
    return dg.AssetCheckResult(
        check_name=f"{outcome.model}_beats_baseline",
        passed=outcome.published,
        description=None if outcome.published else "no better than its baseline; previous scores kept",
        metadata=compared,
    )


def build_predictive_assets(dbt_features: dg.AssetsDefinition) -> list[dg.AssetsDefinition]:
    settings = load_settings()  # a goal naming an unknown event fails here, at load, naming the goal
    features = get_asset_key_for_model([dbt_features], "int_profile_features")
    checks = [
        dg.AssetCheckSpec(
            f"{name}_beats_baseline",
            asset=PREDICTIONS_ASSET,
            description=f"The {name} model does better than its trivial baseline.",
        )
        for name in model_names(settings)
    ]

    @dg.asset(
        name=PREDICTIONS_ASSET,
        deps=[features],
        check_specs=checks,
        pool=WAREHOUSE_WRITERS,
        group_name="predictive",
        description=(
            "Churn, purchase, 90-day value, brand affinity and custom-goal scores, recommended products and "
            "personas for every profile (scikit-learn on int_profile_features); joined into profile_traits. "
            "Each run appends one row per model to model_runs."
        ),
    )
    def profile_predictions(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, config: PredictionConfig
    ) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            training, scoring = read_features(con)
            run = run_models(
                training, scoring, settings, seed=config.seed, previous_personas=previous_personas(con)
            )
            scored_at = _moment(scoring) or dt.datetime.now(dt.UTC).replace(tzinfo=None)
            publish(
                con,
                run,
                settings,
                context.run.run_id,
                scored_at,
                _moment(training),
                prediction_columns(settings, run.all_outcomes),
            )
            if engine() == "spark":
                staged = stage_profile_predictions(con, warehouse.home_path() / "spark")
                context.log.info(f"staged {staged} predictions as Parquet for Spark")
        metadata: dict[str, Any] = {
            "profiles_scored": dg.IntMetadataValue(len(scoring)),
            "training_profiles": dg.IntMetadataValue(int((training["events_total"] > 0).sum())),
            "models_published": dg.IntMetadataValue(sum(o.published for o in run.all_outcomes)),
        }
        if run.personas is not None:
            metadata["personas"] = ", ".join(f"{name} ({size})" for name, size in run.personas.sizes.items())
        for outcome in run.all_outcomes:
            metadata |= model_metadata(outcome)
        return dg.MaterializeResult(
            metadata=metadata, check_results=[check_result(o) for o in run.all_outcomes]
        )

    return [profile_predictions]


def _moment(frame: Any) -> dt.datetime | None:
    if frame.empty:
        return None
    return frame["features_at"].iloc[0].to_pydatetime()
