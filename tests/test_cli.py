"""The `cdp` commands on the demo warehouse, as a person would call them."""

from __future__ import annotations

import csv
import io
import json

from typer.testing import CliRunner

from orchestration.cli import app
from tests.conftest import DemoRuns, cdp_home

runner = CliRunner()


def test_sql_prints_csv_and_json_that_agree(demo_runs: DemoRuns) -> None:
    query = "select audience, count(*) as members from audience_membership group by 1 order by 1"
    with cdp_home(demo_runs.home):
        as_csv = runner.invoke(app, ["sql", query, "--csv"])
        as_json = runner.invoke(app, ["sql", query, "--json"])
    assert as_csv.exit_code == 0, as_csv.output
    assert as_json.exit_code == 0, as_json.output
    csv_rows = list(csv.DictReader(io.StringIO(as_csv.output)))
    json_rows = json.loads(as_json.output)
    assert [(r["audience"], int(r["members"])) for r in csv_rows] == [
        (r["audience"], r["members"]) for r in json_rows
    ]
    assert json_rows[0]["members"] == demo_runs.first.audience_sizes[json_rows[0]["audience"]]


def test_sql_error_is_reported_with_exit_code_1(demo_runs: DemoRuns) -> None:
    with cdp_home(demo_runs.home):
        result = runner.invoke(app, ["sql", "select * from no_such_table"])
    assert result.exit_code == 1
    assert "no_such_table" in result.output


def test_sql_refuses_to_write(demo_runs: DemoRuns) -> None:
    with cdp_home(demo_runs.home):
        result = runner.invoke(app, ["sql", "delete from profiles"])
        after = runner.invoke(app, ["sql", "select count(*) as profiles from profiles", "--json"])
    assert result.exit_code == 1
    assert "SQL error" in result.output and "read-only" in result.output
    assert after.exit_code == 0, after.output
    assert json.loads(after.output) == [{"profiles": demo_runs.first.profiles}]
