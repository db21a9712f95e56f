"""`cdp why` on the demo warehouse for every condition kind: the value that decided each condition,
checked against SQL written here independently, and the stays from history."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
from typer.testing import CliRunner

from orchestration.cli import app
from tests.conftest import DemoRuns, cdp_home


def why(home: Path, audience: str, identifier: str) -> dict[str, Any]:
    with cdp_home(home):
        result = CliRunner().invoke(app, ["why", audience, identifier, "--json"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    row = con.execute(sql, params or []).fetchone()
    assert row is not None, sql
    return row[0] if len(row) == 1 else row


def test_event_count_funnel_window_and_membership_values_of_a_vip_winback_member(demo_runs: DemoRuns) -> None:
    with duckdb.connect(str(demo_runs.warehouse), read_only=True) as con:
        member = _one(
            con, "select profile_id from audience_membership where audience = 'vip_winback' order by 1"
        )
        big_orders = _one(
            con,
            "select count(*) from intermediate.int_events_resolved where profile_id = ? "
            "and event_name = 'Order Completed' and try_cast(properties->>'revenue' as double) >= 100",
            [member],
        )
    explanation = why(demo_runs.home, "vip_winback", member)
    assert explanation["is_member"] and explanation["qualifies"]
    assert all(check["passed"] for check in explanation["checks"])
    by_label = {check["label"]: check["values"] for check in explanation["checks"]}
    assert by_label["performed Order Completed at least 3 times where revenue"] == {
        "events counted": big_orders
    }
    funnel = by_label["Product Viewed then Order Completed within 7 days"]
    viewed = dt.datetime.fromisoformat(funnel["Product Viewed at (latest)"])
    ordered = dt.datetime.fromisoformat(funnel["Order Completed at (next)"])
    assert dt.timedelta(0) <= ordered - viewed <= dt.timedelta(days=7)
    memberships = {c["label"]: c["values"] for c in explanation["checks"] if c["kind"] == "audience"}
    assert memberships["in audience big_past_purchasers"] == {"member of big_past_purchasers": True}
    assert memberships["not in audience abandoned_checkout"] == {"member of abandoned_checkout": False}
    assert [stay["exited_at"] for stay in explanation["stays"]] == [None]


def test_a_non_member_sees_which_condition_failed(demo_runs: DemoRuns) -> None:
    with duckdb.connect(str(demo_runs.warehouse), read_only=True) as con:
        outsider = _one(
            con,
            "select profile_id from audience_membership where audience = 'big_past_purchasers' "
            "and profile_id not in (select profile_id from audience_membership where audience = 'vip_winback') "
            "order by 1",
        )
    explanation = why(demo_runs.home, "vip_winback", outsider)
    assert not explanation["is_member"] and not explanation["qualifies"]
    by_label = {c["label"]: c["passed"] for c in explanation["checks"]}
    assert by_label["in audience big_past_purchasers"] is True
    assert not all(by_label.values())
    assert explanation["stays"] == []


def test_aggregate_and_absence_values_of_a_big_past_purchaser(demo_runs: DemoRuns) -> None:
    with duckdb.connect(str(demo_runs.warehouse), read_only=True) as con:
        member = _one(
            con,
            "select profile_id from audience_membership where audience = 'big_past_purchasers' order by 1",
        )
        largest = _one(
            con,
            "select max(try_cast(properties->>'revenue' as decimal(18, 3))) from intermediate.int_events_resolved "
            "where profile_id = ? and event_name = 'Order Completed'",
            [member],
        )
    explanation = why(demo_runs.home, "big_past_purchasers", member)
    values = {c["label"]: c["values"] for c in explanation["checks"]}
    (aggregate,) = [v for label, v in values.items() if label.startswith("max of revenue")]
    assert float(aggregate["max of revenue"]) == float(largest)
    (absent,) = [v for label, v in values.items() if label.startswith("did not perform Page Viewed")]
    assert absent == {"events counted": 0}


def test_account_and_reachability_values(demo_runs: DemoRuns) -> None:
    with duckdb.connect(str(demo_runs.warehouse), read_only=True) as con:
        profile_id, account_id, tickets = con.execute(
            "select links.profile_id, links.account_id, traits.support_tickets_30d from profile_accounts as links "
            "inner join account_traits as traits using (account_id) "
            "where links.profile_id in (select profile_id from profile_accounts group by 1 having count(*) = 1) "
            "order by 1 limit 1"
        ).fetchone()
        has_email = _one(con, "select email is not null from profiles where profile_id = ?", [profile_id])
    explanation = why(demo_runs.home, "at_risk_key_accounts", profile_id)
    (account,) = explanation["checks"]
    assert account["kind"] == "account"
    assert account["values"]["account support_tickets_30d"] == f"{account_id}={tickets}"
    reachable = [
        c
        for c in why(demo_runs.home, "abandoned_checkout", profile_id)["checks"]
        if c["kind"] == "reachability"
    ]
    assert reachable[0]["values"] == {"has email": has_email}


def test_a_hand_written_audience_says_so_and_shows_the_row(demo_runs: DemoRuns) -> None:
    with duckdb.connect(str(demo_runs.warehouse), read_only=True) as con:
        member = _one(
            con, "select profile_id from audience_membership where audience = 'top_spenders' order by 1"
        )
    explanation = why(demo_runs.home, "top_spenders", member)
    assert explanation["checks"] == [] and "no per-condition breakdown" in explanation["note"]
    assert explanation["is_member"] and explanation["qualifies"]
    assert set(json.loads(explanation["row"]["payload"])) == {"lifetime_value", "favorite_brand"}
