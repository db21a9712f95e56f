"""Schedules: the whole pipeline hourly; operators add more in the UI or here."""

import dagster as dg


def build_schedules() -> list[dg.ScheduleDefinition]:
    refresh_everything = dg.define_asset_job(
        "refresh_profiles_and_syncs",
        selection=dg.AssetSelection.all() - dg.AssetSelection.assets("raw_events"),
        description="Rebuild identity, traits and audiences, then sync every audience.",
    )
    return [dg.ScheduleDefinition(job=refresh_everything, cron_schedule="0 * * * *", name="hourly_refresh")]


def ingestion_job():
    return dg.define_asset_job("load_raw_events", selection=dg.AssetSelection.assets("raw_events"))
