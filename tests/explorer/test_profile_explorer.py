"""`cdp profile` and `cdp why` on the demo warehouse, as a person (or a script) would call them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from tests.conftest import DemoRuns, cdp_home

runner = CliRunner()


def invoke(home: Path, *args: str):
    with cdp_home(home):
        # Wide enough that rich never wraps a UUID inside a table cell.
        return runner.invoke(app, list(args), env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def audience_member(demo_runs: DemoRuns) -> dict[str, object]:
    """A member of the demo audience with an email and more than one identifier, and all its identifiers."""
    with duckdb.connect(str(demo_runs.warehouse), read_only=True) as con:
        profile_id, email = con.execute(
            """
            select profiles.profile_id, profiles.email
            from audience_membership
            inner join profiles using (profile_id)
            where audience_membership.audience = 'trial_support_inactive' and profiles.email is not null
                and (select count(*) from identity_graph where identity_graph.profile_id = profiles.profile_id) > 2
            order by profiles.profile_id
            limit 1
            """
        ).fetchone()
        identifiers = con.execute(
            # The explorer's order: by type, then the first seen first.
            "select id_type, id_value from identity_graph where profile_id = ? order by id_type, first_seen, id_value",
            [profile_id],
        ).fetchall()
    return {"profile_id": profile_id, "email": email, "identifiers": identifiers}


def test_profile_json_holds_identifiers_traits_audiences_and_latest_events(
    demo_runs: DemoRuns, audience_member: dict[str, object]
) -> None:
    result = invoke(demo_runs.home, "profile", str(audience_member["email"]), "--json", "--events", "5")
    assert result.exit_code == 0, result.output
    view = json.loads(result.output)
    assert view["profile_id"] == audience_member["profile_id"]
    assert [(i["id_type"], i["id_value"]) for i in view["identifiers"]] == [
        tuple(i) for i in audience_member["identifiers"]
    ]
    with duckdb.connect(str(demo_runs.warehouse), read_only=True) as con:
        relation = con.execute("select * from profile_traits where profile_id = ?", [view["profile_id"]])
        traits = dict(zip([c[0] for c in relation.description], relation.fetchall()[0], strict=True))
        latest = con.execute(
            "select event_id from intermediate.int_events_resolved where profile_id = ? "
            "order by event_at desc, event_id limit 5",
            [view["profile_id"]],
        ).fetchall()
    assert set(view["traits"]) == set(traits) - {"profile_id"}
    assert view["traits"]["support_ticket_count"] == traits["support_ticket_count"] > 0
    assert view["traits"]["has_started_trial"] is True
    assert {"audience": "trial_support_inactive", "is_member": True}.items() <= view["audiences"][0].items()
    assert [e["event_id"] for e in view["recent_events"]] == [row[0] for row in latest]


def test_every_identifier_of_a_person_finds_the_same_profile(
    demo_runs: DemoRuns, audience_member: dict[str, object]
) -> None:
    lookups = [value for _, value in audience_member["identifiers"]]
    lookups += [audience_member["profile_id"], f"  {str(audience_member['email']).upper()} "]
    for identifier in lookups:
        result = invoke(demo_runs.home, "profile", identifier, "--json", "--events", "0")
        assert result.exit_code == 0, (identifier, result.output)
        assert json.loads(result.output)["profile_id"] == audience_member["profile_id"], identifier


def test_profile_table_shows_each_section(demo_runs: DemoRuns, audience_member: dict[str, object]) -> None:
    result = invoke(demo_runs.home, "profile", str(audience_member["email"]))
    assert result.exit_code == 0, result.output
    for text in (
        "Identifiers",
        "Traits",
        "Audiences",
        "Latest events",
        "trial_support_inactive",
        "lifetime_value",
    ):
        assert text in result.output
    for _, value in audience_member["identifiers"]:
        assert value in result.output


def test_unknown_identifier_is_a_clear_error_with_exit_code_1(demo_runs: DemoRuns) -> None:
    result = invoke(demo_runs.home, "profile", "nobody@nowhere.example")
    assert result.exit_code == 1
    assert "No profile has the identifier 'nobody@nowhere.example'" in result.output


def test_missing_warehouse_is_a_clear_error(tmp_path: Path) -> None:
    result = invoke(tmp_path, "profile", "someone@example.com")
    assert result.exit_code == 1
    assert "No warehouse" in result.output


def test_absorbed_profile_id_leads_to_the_survivor_and_its_merges(
    demo_runs: DemoRuns, audience_member: dict[str, object], tmp_path: Path
) -> None:
    shutil.copy(demo_runs.warehouse, tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        # A merge chain absorbed-1 -> absorbed-2 -> the member, written through the contract columns only.
        con.execute(
            "insert into main.profile_merges (from_profile_id, to_profile_id, merged_at, reason) "
            "values ('absorbed-1', 'absorbed-2', '2026-01-01', 'email'), "
            "('absorbed-2', ?, '2026-01-02', 'user_id')",
            [audience_member["profile_id"]],
        )
    result = invoke(tmp_path, "profile", "absorbed-1", "--json", "--events", "0")
    assert result.exit_code == 0, result.output
    view = json.loads(result.output)
    assert view["profile_id"] == audience_member["profile_id"]
    assert view["match"]["id_type"] == "merged_profile_id"
    assert ("absorbed-2", audience_member["profile_id"]) in [
        (m["from_profile_id"], m["to_profile_id"]) for m in view["merges"]
    ]


def test_why_shows_every_condition_holding_for_a_member(
    demo_runs: DemoRuns, audience_member: dict[str, object]
) -> None:
    result = invoke(demo_runs.home, "why", "trial_support_inactive", str(audience_member["email"]), "--json")
    assert result.exit_code == 0, result.output
    explanation = json.loads(result.output)
    assert explanation["is_member"] and explanation["qualifies"]
    assert [c["trait"] for c in explanation["checks"]] == [
        "has_started_trial",
        "support_ticket_count",
        "has_subscribed",
        "days_since_last_seen",
    ]
    assert all(c["passed"] for c in explanation["checks"])


def test_why_names_the_failing_condition_for_a_non_member(demo_runs: DemoRuns) -> None:
    with duckdb.connect(str(demo_runs.warehouse), read_only=True) as con:
        profile_id, subscribed = con.execute(
            "select profile_id, has_subscribed from profile_traits "
            "where has_subscribed and profile_id not in (select profile_id from audience_membership) "
            "order by profile_id limit 1"
        ).fetchone()
    result = invoke(demo_runs.home, "why", "trial_support_inactive", profile_id, "--json")
    assert result.exit_code == 0, result.output
    explanation = json.loads(result.output)
    assert not explanation["is_member"] and not explanation["qualifies"]
    failing = [(c["trait"], c["actual"]) for c in explanation["checks"] if not c["passed"]]
    assert ("has_subscribed", subscribed) in failing


def test_why_unknown_audience_lists_the_known_ones(
    demo_runs: DemoRuns, audience_member: dict[str, object]
) -> None:
    result = invoke(demo_runs.home, "why", "no_such_audience", str(audience_member["email"]))
    assert result.exit_code == 1
    assert "trial_support_inactive" in result.output


def test_a_phone_typed_as_people_write_it_finds_the_profile_of_its_e164_form(demo_runs: DemoRuns) -> None:
    with duckdb.connect(str(demo_runs.warehouse), read_only=True) as con:
        profile_id, phone = con.execute(
            "select profile_id, id_value from identity_graph where id_type = 'phone' and id_value like '+1%'"
            " and length(id_value) = 12 order by id_value limit 1"
        ).fetchone()
    area, exchange, line = phone[2:5], phone[5:8], phone[8:]
    for typed in (
        f"({area}) {exchange}-{line}",
        f"+1 {area} {exchange} {line}",
        f"{area}.{exchange}.{line}",
        phone,
    ):
        result = invoke(demo_runs.home, "profile", typed, "--json", "--events", "0")
        assert result.exit_code == 0, (typed, result.output)
        assert json.loads(result.output)["profile_id"] == profile_id, typed
    assert invoke(demo_runs.home, "profile", line, "--json").exit_code == 1, "four digits match nobody"
