"""Declarative automation: what rebuilds by itself after new events load, and the sensor that evaluates it."""

from __future__ import annotations

import dagster as dg

AUTOMATION_SENSOR = "cdp_automation"


def downstream_of_new_data() -> dg.AutomationCondition:
    """Request the asset once after an upstream asset (any `raw_events` day) materialises, when nothing
    upstream is still running; everything downstream of one load joins the same request, so one load
    means one run. Unlike `eager()` it does not wait for every daily partition of `raw_events` to exist:
    days without data are normal."""
    return dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())


def automation_sensor() -> dg.AutomationConditionSensorDefinition:
    return dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR,
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
        description="Evaluates every asset's automation condition: identity, traits, audiences and syncs "
        "rebuild after new events load.",
    )
