"""Membership history across builds at two evaluation moments, reruns, `--full-refresh` and a retired
audience, on generated data where people enter and leave audiences."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tests.audiences.project_copy import add_audience, copy_project, run_dbt

RETIRED = "loyal_customers"
# An audience the test adds, then deletes (retiring it).
RETIRED_AUDIENCE = """\
{{ cdp.audience(
    description='Customers with three or more orders.',
    conditions={'trait': 'order_count', 'op': '>=', 'value': 3},
) }}
"""


@dataclass(frozen=True)
class Snapshot:
    membership: list[tuple]
    history: list[tuple]
    sizes: list[tuple]


@dataclass(frozen=True)
class Builds:
    earlier: dt.datetime
    later: dt.datetime
    at_earlier: Snapshot
    at_later: Snapshot
    rerun: Snapshot
    full_refresh: Snapshot
    retired: Snapshot


def _snapshot(warehouse: Path) -> Snapshot:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return Snapshot(
            con.execute(
                "select audience, profile_id, entered_at, payload from audience_membership order by 1, 2"
            ).fetchall(),
            con.execute(
                "select audience, profile_id, entered_at, exited_at from audience_membership_history order by 1, 2, 3"
            ).fetchall(),
            con.execute(
                "select audience, evaluated_at, members, entered, exited from audience_sizes order by built_at, 1"
            ).fetchall(),
        )


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Builds:
    from orchestration.generator import generate

    root = tmp_path_factory.mktemp("history")
    project = copy_project(root / "dbt_project")
    add_audience(project, RETIRED, RETIRED_AUDIENCE)
    home = root / "home"
    home.mkdir()
    generate(events=6000, profiles=600, days=60, seed=5, out=root / "sample")
    cdp = Path(sys.executable).parent / "cdp"
    subprocess.run(
        [str(cdp), "ingest", str(root / "sample")],
        env={"PATH": str(cdp.parent), "CDP_HOME": str(home), "HOME": str(home)},
        check=True,
        capture_output=True,
        timeout=600,
    )
    warehouse = home / "warehouse.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (last_event,) = con.execute("select max(timestamp) from raw_events").fetchone()
    later = last_event.replace(tzinfo=None, microsecond=0) + dt.timedelta(seconds=1)
    earlier = later - dt.timedelta(days=25)

    def build(as_of: dt.datetime, *extra: str) -> Snapshot:
        result = run_dbt(
            project,
            home,
            "build",
            "--exclude",
            "resource_type:unit_test",
            *extra,
            as_of=as_of.isoformat(sep=" "),
        )
        assert result.returncode == 0, result.stdout[-4000:]
        return _snapshot(warehouse)

    at_earlier = build(earlier)
    at_later = build(later)
    rerun = build(later)
    full_refresh = build(later, "--full-refresh")
    (project / "models" / "audiences" / f"{RETIRED}.sql").unlink()
    retired = build(later)
    return Builds(earlier, later, at_earlier, at_later, rerun, full_refresh, retired)


def _open(snapshot: Snapshot) -> set[tuple]:
    return {
        (audience, profile_id) for audience, profile_id, _, exited_at in snapshot.history if exited_at is None
    }


def test_people_enter_and_leave_between_the_two_moments(builds: Builds) -> None:
    before = {(a, p) for a, p, *_ in builds.at_earlier.membership}
    after = {(a, p) for a, p, *_ in builds.at_later.membership}
    left, joined = before - after, after - before
    assert left and joined, "the data should move people in and out of audiences"
    stays = {(a, p, entered, exited) for a, p, entered, exited in builds.at_later.history}
    for audience, profile_id in left:
        assert (audience, profile_id, builds.earlier, builds.later) in stays
    for audience, profile_id in joined:
        assert (audience, profile_id, builds.later, None) in stays
    for audience, profile_id in before & after:  # staying in keeps the first entry time
        assert (audience, profile_id, builds.earlier, None) in stays
    assert _open(builds.at_later) == after
    assert len(builds.at_later.history) == len(before) + len(joined)


def test_membership_entered_at_is_the_open_stay(builds: Builds) -> None:
    open_stays = {(a, p): entered for a, p, entered, exited in builds.at_later.history if exited is None}
    assert {(a, p): entered for a, p, entered, _ in builds.at_later.membership} == open_stays


def test_a_rerun_with_no_new_data_adds_no_history_and_keeps_membership(builds: Builds) -> None:
    assert builds.rerun.history == builds.at_later.history
    assert builds.rerun.membership == builds.at_later.membership
    last_build = builds.rerun.sizes[len(builds.at_later.sizes) :]
    assert last_build and all(entered == exited == 0 for *_, entered, exited in last_build)


def test_full_refresh_keeps_history_and_sizes(builds: Builds) -> None:
    assert builds.full_refresh.history == builds.at_later.history
    assert builds.full_refresh.membership == builds.at_later.membership
    assert builds.full_refresh.sizes[: len(builds.rerun.sizes)] == builds.rerun.sizes


def test_removing_an_audience_file_retires_it(builds: Builds) -> None:
    members = {p for a, p, *_ in builds.full_refresh.membership if a == RETIRED}
    assert members
    assert not [row for row in builds.retired.membership if row[0] == RETIRED]
    ended = {p for a, p, _, exited in builds.retired.history if a == RETIRED and exited == builds.later}
    assert ended == members
    assert not [row for row in builds.retired.history if row[0] == RETIRED and row[3] is None]
    last = [row for row in builds.retired.sizes[len(builds.full_refresh.sizes) :] if row[0] == RETIRED]
    assert last == [(RETIRED, builds.later, 0, 0, len(members))]
    # The other audiences are untouched by the retirement.
    others = [row for row in builds.retired.history if row[0] != RETIRED]
    assert others == [row for row in builds.full_refresh.history if row[0] != RETIRED]
