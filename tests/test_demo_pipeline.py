"""The walking skeleton end to end: generated events -> warehouse -> profiles -> audience -> destination."""

from __future__ import annotations

import json

import duckdb

from tests.conftest import DemoRuns

# The skeleton's identity resolution must land within this share of the true number of people.
PROFILE_COUNT_TOLERANCE = 0.10


def test_every_generated_line_is_loaded_or_quarantined(demo_runs: DemoRuns) -> None:
    with duckdb.connect(str(demo_runs.warehouse), read_only=True) as con:
        (lines,) = con.execute(
            "select count(*) from read_csv(?, columns = {'raw': 'VARCHAR'}, header = false, delim = chr(1), "
            "quote = '', escape = '', auto_detect = false)",
            [str(demo_runs.home / "landing" / "*" / "*" / "*.jsonl.gz")],
        ).fetchone()
    assert demo_runs.first.events_loaded > 0
    assert demo_runs.first.events_loaded + demo_runs.first.events_rejected == lines


def test_profile_count_is_close_to_the_true_number_of_people(demo_runs: DemoRuns) -> None:
    with duckdb.connect(str(demo_runs.warehouse), read_only=True) as con:
        (people,) = con.execute(
            "select count(distinct person_id) from read_parquet(?) where person_id is not null",
            [str(demo_runs.ground_truth / "identifiers.parquet")],
        ).fetchone()
    profiles = demo_runs.first.profiles
    assert abs(profiles - people) / people <= PROFILE_COUNT_TOLERANCE, (profiles, people)


def test_destination_holds_exactly_the_audience(demo_runs: DemoRuns) -> None:
    state = json.loads((demo_runs.home / "demo_destination" / "state.json").read_text())
    with duckdb.connect(str(demo_runs.warehouse), read_only=True) as con:
        members = {
            row[0]
            for row in con.execute(
                "select profile_id from audience_membership where audience = 'trial_support_inactive'"
            ).fetchall()
        }
    assert members, "the demo audience should not be empty"
    assert set(state["trial_support_inactive"]) == members
    assert demo_runs.first.audience_sizes["trial_support_inactive"] == len(members)
    assert sum(demo_runs.first.rows_synced.values()) == len(members)


def test_second_demo_run_sends_nothing(demo_runs: DemoRuns) -> None:
    assert demo_runs.second.rows_synced, "the second run should still run the sync"
    assert all(rows == 0 for rows in demo_runs.second.rows_synced.values()), demo_runs.second.rows_synced
    assert demo_runs.second.events_loaded == demo_runs.first.events_loaded
    assert demo_runs.second.destination_members == demo_runs.first.destination_members
