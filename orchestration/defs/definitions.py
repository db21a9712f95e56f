"""Assembles the code location; every piece comes from its own module."""

import dagster as dg

from orchestration.defs.assets.dbt import build_dbt_assets
from orchestration.defs.assets.ingestion import raw_events
from orchestration.defs.assets.predictive import build_predictive_assets
from orchestration.defs.assets.reverse_etl import build_sync_assets
from orchestration.defs.project import ensure_manifest
from orchestration.defs.resources import build_resources
from orchestration.defs.schedules import build_schedules, ingestion_job
from orchestration.defs.sensors import build_sensors


@dg.definitions
def defs() -> dg.Definitions:
    ensure_manifest()
    dbt_features, dbt_models = build_dbt_assets()
    load_job = ingestion_job()
    return dg.Definitions(
        assets=[
            raw_events,
            dbt_features,
            *build_predictive_assets(dbt_features),
            dbt_models,
            *build_sync_assets(dbt_models),
        ],
        jobs=[load_job],
        schedules=build_schedules(),
        sensors=build_sensors(load_job),
        resources=build_resources(),
    )
