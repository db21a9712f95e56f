"""Asset checks beside dbt's tests: freshness, audience size swings, syncs whose rows keep failing."""

import datetime as dt
import os

import dagster as dg
import duckdb

from orchestration.defs.assets.ingestion import RAW_EVENTS
from orchestration.defs.resources import WarehouseResource

# Defaults, each overridable by its environment variable (and the size check also by run config).
RAW_EVENTS_FRESH_HOURS = 26.0  # CDP_FRESHNESS_RAW_EVENTS_HOURS: a day's files plus slack
AUDIENCE_FRESH_HOURS = 3.0  # CDP_FRESHNESS_AUDIENCE_HOURS: rebuilt hourly by the schedule
AUDIENCE_SIZE_CHANGE_SHARE = 0.5  # CDP_AUDIENCE_SIZE_CHANGE_SHARE: warn past this move between builds
SYNC_FAILING_RUNS = 3  # CDP_SYNC_FAILING_RUNS: a row failing in this many consecutive runs fails the check


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None


def freshness_checks(audience_keys: list[dg.AssetKey]) -> list[dg.AssetChecksDefinition]:
    raw = dg.build_last_update_freshness_checks(
        assets=[RAW_EVENTS],
        lower_bound_delta=dt.timedelta(
            hours=_env_float("CDP_FRESHNESS_RAW_EVENTS_HOURS", RAW_EVENTS_FRESH_HOURS)
        ),
    )
    audiences = (
        dg.build_last_update_freshness_checks(
            assets=audience_keys,
            lower_bound_delta=dt.timedelta(
                hours=_env_float("CDP_FRESHNESS_AUDIENCE_HOURS", AUDIENCE_FRESH_HOURS)
            ),
        )
        if audience_keys
        else []
    )
    return [*raw, *audiences]


def freshness_sensor(checks: list[dg.AssetChecksDefinition]) -> dg.SensorDefinition:
    return dg.build_sensor_for_freshness_checks(
        freshness_checks=checks, default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=60
    )


class AudienceSizeCheckConfig(dg.Config):
    # None: CDP_AUDIENCE_SIZE_CHANGE_SHARE, else 0.5
    max_change_share: float | None = None


def audience_size_change(con: duckdb.DuckDBPyConnection, audience: str) -> tuple[int | None, int | None]:
    """Members at the latest build and at the build before (None where there is no such build)."""
    rows = con.execute(
        "select members from audience_sizes where audience = ? order by built_at desc limit 2", [audience]
    ).fetchall()
    now = rows[0][0] if rows else None
    before = rows[1][0] if len(rows) > 1 else None
    return now, before


def audience_size_check(audience_key: dg.AssetKey) -> dg.AssetChecksDefinition:
    audience = audience_key.path[-1]

    @dg.asset_check(
        asset=audience_key,
        name="size_moved_less_than_share",
        description="Warns when the audience's size moved by more than a share (default 50%, "
        "CDP_AUDIENCE_SIZE_CHANGE_SHARE or run config) since the build before: a rule or data change.",
        automation_condition=dg.AutomationCondition.eager(),
    )
    def _check(warehouse: WarehouseResource, config: AudienceSizeCheckConfig) -> dg.AssetCheckResult:
        limit = config.max_change_share
        if limit is None:
            limit = _env_float("CDP_AUDIENCE_SIZE_CHANGE_SHARE", AUDIENCE_SIZE_CHANGE_SHARE)
        with warehouse.connect(read_only=True) as con:
            now, before = audience_size_change(con, audience)
        if now is None or before is None:
            return dg.AssetCheckResult(passed=True, metadata={"members": now or 0, "note": "first build"})
        share = abs(now - before) / max(before, 1)
        return dg.AssetCheckResult(
            passed=share <= limit,
            severity=dg.AssetCheckSeverity.WARN,
            description=None if share <= limit else f"size moved {share:.0%} ({before} -> {now})",
            metadata={
                "members": now,
                "members_before": before,
                "change_share": dg.FloatMetadataValue(round(share, 4)),
                "max_change_share": dg.FloatMetadataValue(limit),
            },
        )

    return _check


def failing_rows(con: duckdb.DuckDBPyConnection, audience: str, destination: str, runs: int) -> list[str]:
    """Record keys that failed in each of the sync's last `runs` runs (a row stuck, not a passing blip)."""
    try:
        return [
            row[0]
            for row in con.execute(
                """
                with recent as (
                    select run_id from sync_runs where audience = $a and destination = $d
                    order by started_at desc limit $n
                )
                select record_key from sync_failures
                where audience = $a and destination = $d and run_id in (select run_id from recent)
                group by record_key
                having count(distinct run_id) >= $n and (select count(*) from recent) >= $n
                order by record_key
                """,
                {"a": audience, "d": destination, "n": runs},
            ).fetchall()
        ]
    except duckdb.CatalogException:  # no sync ever ran
        return []


def sync_failures_check(sync_key: dg.AssetKey, audience: str, destination: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=sync_key,
        name="no_rows_keep_failing",
        description="Fails when rows failed in each of the last runs (CDP_SYNC_FAILING_RUNS, default 3): "
        'the destination keeps refusing them; see `cdp sql "select * from sync_failures"`.',
        automation_condition=dg.AutomationCondition.eager(),
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        runs = int(_env_float("CDP_SYNC_FAILING_RUNS", SYNC_FAILING_RUNS))
        with warehouse.connect(read_only=True) as con:
            stuck = failing_rows(con, audience, destination, runs)
        return dg.AssetCheckResult(
            passed=not stuck,
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"{len(stuck)} rows failed in each of the last {runs} runs" if stuck else None,
            # Counts only: record keys may be emails.
            metadata={"rows_failing_repeatedly": len(stuck), "runs_considered": runs},
        )

    return _check
