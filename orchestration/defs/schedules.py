"""Schedules: the whole pipeline hourly, and a nightly full rebuild; operators add more in the UI or here."""

import dagster as dg


def _downstream_of_raw_events() -> dg.AssetSelection:
    return dg.AssetSelection.all() - dg.AssetSelection.assets("raw_events")


def build_schedules(dbt_ops: list[str] | None = None) -> list[dg.ScheduleDefinition]:
    """`dbt_ops`: the names of the dbt ops, whose config the nightly rebuild sets to `full_refresh`."""
    refresh_everything = dg.define_asset_job(
        "refresh_profiles_and_syncs",
        selection=_downstream_of_raw_events(),
        description="Rebuild identity, traits and audiences, then sync every audience.",
    )
    full_rebuild = dg.define_asset_job(
        "nightly_full_rebuild",
        selection=_downstream_of_raw_events(),
        description="Rebuild every dbt model from scratch (--full-refresh), then sync every audience.",
        config={"ops": {op: {"config": {"full_refresh": True}} for op in dbt_ops or []}},
    )
    return [
        dg.ScheduleDefinition(
            job=refresh_everything,
            cron_schedule="0 * * * *",
            name="hourly_refresh",
            default_status=dg.DefaultScheduleStatus.STOPPED,
        ),
        dg.ScheduleDefinition(
            job=full_rebuild,
            cron_schedule="30 2 * * *",
            name="nightly_full_rebuild",
            default_status=dg.DefaultScheduleStatus.STOPPED,
        ),
    ]


def ingestion_job():
    return dg.define_asset_job("load_raw_events", selection=dg.AssetSelection.assets("raw_events"))
