"""Assembles the code location; every piece comes from its own module."""

import dagster as dg

from orchestration.defs.alerts import alert_resource, alert_sensors
from orchestration.defs.assets.dbt import build_dbt_assets
from orchestration.defs.assets.ingestion import defs_raw_events
from orchestration.defs.assets.predictive import build_predictive_assets
from orchestration.defs.assets.reverse_etl import build_sync_assets
from orchestration.defs.automation import automation_sensor, downstream_of_new_data
from orchestration.defs.checks import (
    audience_size_check,
    freshness_checks,
    freshness_sensor,
    sync_failures_check,
)
from orchestration.defs.project import ensure_manifest
from orchestration.defs.resources import build_resources
from orchestration.defs.schedules import build_schedules, ingestion_job
from orchestration.defs.sensors import build_sensors


def _audience_keys(dbt_models: list[dg.AssetsDefinition]) -> list[dg.AssetKey]:
    return sorted(
        (
            key
            for assets in dbt_models
            for key in assets.keys
            if assets.group_names_by_key.get(key) == "audiences"
        ),
        key=lambda k: k.to_user_string(),
    )


def with_automation(assets: list[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """Every asset below raw_events (predictions too, when an asset module adds them) rebuilds after new
    events load, unless it declares its own automation condition."""
    return list(
        dg.map_asset_specs(
            lambda spec: (
                spec
                if spec.automation_condition is not None
                else spec.replace_attributes(automation_condition=downstream_of_new_data())
            ),
            assets,
        )
    )


@dg.definitions
def defs() -> dg.Definitions:
    ensure_manifest()
    dbt_features, dbt_rest = build_dbt_assets()
    dbt_models = [dbt_features, dbt_rest]
    syncs = build_sync_assets(dbt_rest)
    load_job = ingestion_job()
    audiences = _audience_keys(dbt_models)
    fresh = freshness_checks(audiences)
    checks = [
        *fresh,
        *(audience_size_check(key) for key in audiences),
        *(sync_failures_check(s.key, s.key.path[1], s.key.path[2]) for s in syncs),
    ]
    downstream = [dbt_features, *build_predictive_assets(dbt_features), dbt_rest, *syncs]
    return dg.Definitions(
        assets=[defs_raw_events(), *with_automation(downstream)],
        asset_checks=checks,
        jobs=[load_job],
        schedules=build_schedules([a.op.name for a in dbt_models]),
        sensors=[*build_sensors(load_job), automation_sensor(), freshness_sensor(fresh), *alert_sensors()],
        resources={**build_resources(), "alerts": alert_resource()},
    )
