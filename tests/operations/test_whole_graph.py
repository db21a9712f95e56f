"""The whole graph in process (`cdp run`'s code path): its metadata agrees with SQL over the warehouse, and
its runs are in the Dagster instance the UI reads."""

from __future__ import annotations

import dagster as dg
import duckdb

from orchestration.defs.runner import materialization_metadata
from tests.operations.conftest import OperatedHome


def _materializations(result: dg.ExecuteInProcessResult) -> list[dg.AssetMaterialization]:
    return [e.event_specific_data.materialization for e in result.get_asset_materialization_events()]


def test_raw_events_reports_each_day_with_its_own_counts(operated: OperatedHome) -> None:
    by_day = {
        m.partition: {k: v.value for k, v in m.metadata.items()}
        for m in _materializations(operated.results["ingestion"])
    }
    assert sorted(by_day) == [d.isoformat() for d in operated.loaded_days]
    with duckdb.connect(str(operated.warehouse), read_only=True) as con:
        per_day = dict(
            con.execute(
                "select cast(partition_date as varchar), sum(events_loaded) from loaded_files group by 1"
            ).fetchall()
        )
        rejected = dict(
            con.execute(
                "select cast(partition_date as varchar), sum(events_rejected) from loaded_files group by 1"
            ).fetchall()
        )
        in_partition = dict(
            con.execute("select cast(event_date as varchar), count(*) from raw_events group by 1").fetchall()
        )
    for day, meta in by_day.items():
        assert meta["events_loaded"] == per_day[day]
        assert meta["events_rejected"] == rejected[day]
        assert meta["events_in_partition"] == in_partition[day]
    # Days differ, so per-day figures differ: not the run's total repeated.
    assert len({meta["events_loaded"] for meta in by_day.values()}) > 1


def test_dbt_assets_carry_row_counts_column_schemas_and_domain_figures(operated: OperatedHome) -> None:
    meta = materialization_metadata(operated.results["pipeline"])
    materialized = {m.asset_key.to_user_string(): m for m in _materializations(operated.results["pipeline"])}
    with duckdb.connect(str(operated.warehouse), read_only=True) as con:
        count = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
        assert meta["profiles"]["dagster/row_count"] == count("select count(*) from profiles")
        assert meta["profile_traits"]["dagster/row_count"] == count("select count(*) from profile_traits")
        assert meta["profile_merges"]["merges"] == count("select count(*) from profile_merges")
        assert meta["identity_graph"]["largest_component"] == count(
            "select max(n) from (select count(*) n from identity_graph group by profile_id)"
        )
        assert meta["profiles"]["largest_profile_identifiers"] == count(
            "select max(identifier_count) from profiles"
        )
        columns = [r[0] for r in con.execute("describe profiles").fetchall()]
        sizes = dict(con.execute("select audience, count(*) from audience_membership group by 1").fetchall())
    schema = materialized["profiles"].metadata["dagster/column_schema"].value
    assert [c.name for c in schema.columns] == columns
    # Column descriptions come from the dbt docs.
    assert any(c.description for c in schema.columns)
    audience = "trial_support_inactive"
    assert meta[f"audiences/{audience}" if f"audiences/{audience}" in meta else audience][
        "audience_members"
    ] == (sizes.get(audience, 0))


def test_sync_node_shows_the_audience_size_and_what_it_sent(operated: OperatedHome) -> None:
    meta = materialization_metadata(operated.results["pipeline"])
    (sync_key,) = [k for k in meta if k.startswith("sync/")]
    with duckdb.connect(str(operated.warehouse), read_only=True) as con:
        (members,) = con.execute(
            "select count(*) from audience_membership where audience = 'trial_support_inactive'"
        ).fetchone()
        (added,) = con.execute("select sum(added) from sync_runs").fetchone()
    assert meta[sync_key]["audience_members"] == members
    assert meta[sync_key]["added"] == added == members
    assert {"changed", "removed", "failed"} <= set(meta[sync_key])


def test_dbt_tests_and_cdp_checks_ran_as_asset_checks(operated: OperatedHome) -> None:
    evaluations = operated.results["pipeline"].get_asset_check_evaluations()
    names = {(e.asset_key.to_user_string(), e.check_name) for e in evaluations}
    assert any(name.startswith("unique_") for _, name in names), names  # dbt tests
    assert any(check == "size_moved_less_than_share" for _, check in names)
    assert any(check == "no_rows_keep_failing" for _, check in names)
    assert all(e.passed for e in evaluations if e.check_name == "no_rows_keep_failing")


def test_cli_runs_are_in_the_instance_the_ui_reads(operated: OperatedHome) -> None:
    instance = dg.DagsterInstance.from_config(str(operated.dagster_home))
    try:
        run_ids = {r.run_id for r in instance.get_runs()}
        assert operated.results["pipeline"].run_id in run_ids
        assert operated.results["ingestion"].run_id in run_ids
        # Loaded days show as materialised partitions of raw_events.
        materialized = instance.get_materialized_partitions(dg.AssetKey("raw_events"))
        assert materialized == {d.isoformat() for d in operated.loaded_days}
    finally:
        instance.dispose()
