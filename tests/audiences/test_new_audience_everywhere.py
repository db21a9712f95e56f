"""Adding an audience is adding one file: a copy of the project with one more audience file, run through
the whole pipeline, has the audience in audience_membership, audience_sizes, `cdp audiences`, the Dagster
asset graph (with size metadata) and a `files` destination's output."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from tests.audiences.project_copy import add_audience, copy_project

NAME = "repeat_buyers_30d"
NEW_AUDIENCE = """\
{{ cdp.audience(
    description='Repeat buyers: two or more completed orders in the last 30 days.',
    conditions={'performed': 'Order Completed', 'times': {'at_least': 2}, 'window_days': 30},
    payload=['order_count'],
) }}
"""
DESTINATIONS = """\
destinations:
  exports: {{type: files, path: '{path}', format: csv}}
syncs:
  - audience: {name}
    destination: exports
    mode: mirror
    # email: a membership column; order_count: the audience's payload; lifetime_value: any trait
    fields: {{email: email, orders: order_count, ltv: lifetime_value}}
"""


@dataclass(frozen=True)
class Pipeline:
    home: Path
    project: Path
    exports: Path
    metadata: dict[str, dict[str, object]]
    asset_keys: set[str]

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    from orchestration.defs.runner import load_definitions, materialization_metadata, run_all
    from orchestration.generator import generate
    from orchestration.ingestion.landing import land_files
    from orchestration.settings import landing_dir

    root = tmp_path_factory.mktemp("new_audience")
    project = copy_project(root / "dbt_project")
    add_audience(project, NAME, NEW_AUDIENCE)
    home, exports = root / "home", root / "exports"
    home.mkdir()
    (home / "destinations.yml").write_text(DESTINATIONS.format(path=exports, name=NAME))
    saved = {key: os.environ.get(key) for key in ("CDP_HOME", "CDP_DBT_PROJECT_DIR")}
    os.environ.update({"CDP_HOME": str(home), "CDP_DBT_PROJECT_DIR": str(project)})
    try:
        generate(events=8000, profiles=800, days=45, seed=11, out=root / "sample")
        land_files([root / "sample"], landing_dir())
        results = run_all()
        keys = {k.to_user_string() for k in load_definitions().resolve_asset_graph().get_all_asset_keys()}
        yield Pipeline(home, project, exports, materialization_metadata(results["pipeline"]), keys)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _members(pipeline: Pipeline) -> set[str]:
    with duckdb.connect(str(pipeline.warehouse), read_only=True) as con:
        rows = con.execute("select profile_id from audience_membership where audience = ?", [NAME]).fetchall()
    return {profile_id for (profile_id,) in rows}


def test_the_new_audience_holds_exactly_the_repeat_buyers(pipeline: Pipeline) -> None:
    with duckdb.connect(str(pipeline.warehouse), read_only=True) as con:
        (evaluated_at,) = con.execute(
            "select max(evaluated_at) from audience_sizes where audience = ?", [NAME]
        ).fetchone()
        expected = {
            profile_id
            for (profile_id,) in con.execute(
                """
                select profile_id from intermediate.int_events_resolved
                where event_name = 'Order Completed' and event_at > ? - interval 30 day and event_at <= ?
                group by profile_id having count(*) >= 2
                """,
                [evaluated_at, evaluated_at],
            ).fetchall()
        }
    assert expected, "the generated data should have repeat buyers"
    assert _members(pipeline) == expected


def test_the_new_audience_has_a_size_row_and_dagster_metadata(pipeline: Pipeline) -> None:
    with duckdb.connect(str(pipeline.warehouse), read_only=True) as con:
        sizes = con.execute(
            "select members, entered, exited from audience_sizes where audience = ?", [NAME]
        ).fetchall()
    members = len(_members(pipeline))
    assert sizes == [(members, members, 0)]
    assert f"audiences/{NAME}" in pipeline.asset_keys  # audience assets are keyed by their schema
    metadata = pipeline.metadata[f"audiences/{NAME}"]
    assert (metadata["audience_members"], metadata["audience_entered"], metadata["audience_exited"]) == (
        members,
        members,
        0,
    )


def test_cdp_audiences_lists_it_with_its_sync(pipeline: Pipeline) -> None:
    from orchestration.cli import app

    os.environ.update({"CDP_HOME": str(pipeline.home), "CDP_DBT_PROJECT_DIR": str(pipeline.project)})
    try:
        result = CliRunner().invoke(app, ["audiences", "--json"])
    finally:
        os.environ.pop("CDP_DBT_PROJECT_DIR")
        os.environ.pop("CDP_HOME")
    assert result.exit_code == 0, result.output
    listed = {row["audience"]: row for row in json.loads(result.output)}
    row = listed[NAME]
    assert row["description"].startswith("Repeat buyers") and not row["retired"]
    assert row["members"] == len(_members(pipeline))
    assert row["syncs"] == [{"destination": "exports", "mode": "mirror", "last_status": "succeeded"}]
    assert "trial_support_inactive" in listed


def test_the_files_destination_holds_the_members_with_payload_and_trait_fields(pipeline: Pipeline) -> None:
    (full,) = sorted((pipeline.exports / NAME / "full").glob("*.csv"))
    with duckdb.connect(str(pipeline.warehouse), read_only=True) as con:
        exported = con.execute(f"select * from read_csv_auto('{full}')").fetchall()
        columns = [c[0] for c in con.execute(f"describe select * from read_csv_auto('{full}')").fetchall()]
        expected = con.execute(
            """
            select members.profile_id, traits.order_count, traits.lifetime_value
            from audience_membership as members
            inner join profile_traits as traits using (profile_id)
            where members.audience = ?
            order by 1
            """,
            [NAME],
        ).fetchall()
    assert {"email", "orders", "ltv"} <= set(columns), columns
    by_key = {row[columns.index("record_key")]: row for row in exported}
    assert sorted(by_key) == [profile_id for profile_id, _, _ in expected]
    for profile_id, orders, ltv in expected:
        row = by_key[profile_id]
        assert row[columns.index("orders")] == orders
        assert float(row[columns.index("ltv")]) == pytest.approx(float(ltv))
