"""A two-day partition-range backfill through `dagster asset materialize --partition-range` (one run, each
day once), then automation ticks driven by the test: downstream rebuilt once per load, never twice; a new
landing file is found by the sensor, loaded, and the downstream follows with no manual step."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.settings import PROJECT_ROOT
from tests.conftest import cdp_home
from tests.operations.conftest import OperatedHome, copy_home, day_folders


def _definitions() -> dg.Definitions:
    from orchestration.defs.runner import load_definitions

    return load_definitions()


def _execute(defs: dg.Definitions, instance: dg.DagsterInstance, keys: set[dg.AssetKey]):
    """Run what a tick asked for (the assets and their checks), as the daemon would launch it: one run."""
    selection = dg.AssetSelection.assets(*keys)
    graph_assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    result = dg.materialize(
        [*graph_assets, *defs.asset_checks],
        selection=selection,
        resources=defs.resources,
        instance=instance,
        raise_on_error=False,
    )
    assert result.success, [e.event_specific_data for e in result.get_step_failure_events()]
    return result


def _tick(defs, instance, cursor):
    """One evaluation of every automation condition, as the automation sensor's tick does."""
    evaluation = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
    requested = {
        key for key in defs.resolve_asset_graph().get_all_asset_keys() if evaluation.get_num_requested(key)
    }
    return evaluation, requested


@pytest.fixture(scope="module")
def scenario(operated: OperatedHome, tmp_path_factory: pytest.TempPathFactory):
    copy = copy_home(operated, tmp_path_factory.mktemp("backfill"))
    previous = os.environ.pop("DAGSTER_HOME", None)
    try:
        with cdp_home(copy.home):
            yield copy
    finally:
        if previous is not None:
            os.environ["DAGSTER_HOME"] = previous


def test_partition_range_backfill_then_automation_then_a_new_file(scenario: OperatedHome) -> None:
    from orchestration.ingestion.landing import land

    first, second, third = scenario.withheld_days
    instance = dg.DagsterInstance.from_config(str(scenario.dagster_home))
    defs = _definitions()
    # The automation sensor's first tick, before the load (a first tick only starts the cursor).
    evaluation, requested = _tick(defs, instance, None)
    assert not requested, requested
    land(day_folders(scenario.sample, [first, second]), scenario.home / "landing")
    dagster = Path(sys.executable).parent / "dagster"
    env = {**os.environ, "CDP_HOME": str(scenario.home), "DAGSTER_HOME": str(scenario.dagster_home)}
    done = subprocess.run(
        [
            str(dagster), "asset", "materialize", "-m", "orchestration.defs.definitions",
            "--select", "raw_events", "--partition-range", f"{first}...{second}",
        ],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    try:
        records = instance.fetch_materializations(dg.AssetKey("raw_events"), limit=1000).records
        backfilled = [r for r in records if r.partition_key in {first.isoformat(), second.isoformat()}]
        # One run, each day materialised once, with that day's own count.
        assert sorted(r.partition_key for r in backfilled) == [first.isoformat(), second.isoformat()]
        assert len({r.run_id for r in backfilled}) == 1
        with duckdb.connect(str(scenario.warehouse), read_only=True) as con:
            loaded = dict(
                con.execute(
                    "select cast(partition_date as varchar), sum(events_loaded) from loaded_files group by 1"
                ).fetchall()
            )
            (files_twice,) = con.execute(
                "select count(*) from (select source_file from loaded_files group by 1 having count(*) > 1)"
            ).fetchone()
        assert files_twice == 0
        for record in backfilled:
            meta = record.asset_materialization.metadata
            assert meta["events_loaded"].value == loaded[record.partition_key] > 0

        profiles_before = _count(scenario, "select max(last_seen) from profiles")
        evaluation, requested = _tick(defs, instance, evaluation.cursor)
        names = {k.to_user_string() for k in requested}
        assert {"profiles", "profile_traits", "audience_membership"} <= names, names
        assert any(n.startswith("sync/") for n in names), names
        result = _execute(defs, instance, requested)
        # The downstream ran once for the two-day load: one run, each asset materialised once.
        counted = [e.asset_key.to_user_string() for e in result.get_asset_materialization_events()]
        assert counted.count("profiles") == 1
        assert _count(scenario, "select max(last_seen) from profiles") > profiles_before

        # Never twice for one load: the next tick asks for nothing.
        evaluation, requested = _tick(defs, instance, evaluation.cursor)
        assert not requested, requested

        # A new landing file: the sensor finds it and asks for its day only ...
        land(day_folders(scenario.sample, [third]), scenario.home / "landing")
        sensor = defs.get_sensor_def("new_landing_files")
        cursor = _sensor_cursor_after_known_days(scenario, [first, second])
        data = sensor.evaluate_tick(
            dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
        )
        assert [r.partition_key for r in data.run_requests] == [third.isoformat()]
        loaded = dg.materialize(
            [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)],
            selection=dg.AssetSelection.assets("raw_events"),
            partition_key=third.isoformat(),
            resources=defs.resources,
            instance=instance,
        )
        assert loaded.success
        # ... and the downstream follows on the next automation tick, once.
        evaluation, requested = _tick(defs, instance, evaluation.cursor)
        assert "profiles" in {k.to_user_string() for k in requested}
        _execute(defs, instance, requested)
        assert _count(scenario, f"select count(*) from raw_events where event_date = '{third}'") > 0
        assert _count(scenario, "select max(last_seen) from profiles").date() >= third
        evaluation, requested = _tick(defs, instance, evaluation.cursor)
        assert not requested, requested
    finally:
        instance.dispose()


def _sensor_cursor_after_known_days(scenario: OperatedHome, days) -> str:
    """The sensor's cursor as it stood after the days loaded so far (as if it had been running)."""
    import json

    from orchestration.defs.sensors import landing_fingerprints

    third = scenario.withheld_days[-1].isoformat()
    return json.dumps({day: fp for day, fp in landing_fingerprints().items() if day != third})


def _count(scenario: OperatedHome, sql: str):
    with duckdb.connect(str(scenario.warehouse), read_only=True) as con:
        return con.execute(sql).fetchone()[0]
