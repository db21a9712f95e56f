"""audience_membership_history records every stay, across rebuilds at different evaluation moments."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from orchestration.settings import DBT_PROJECT_DIR
from tests.conftest import DemoRuns

# Other audiences have their own stays; this test follows the demo's audience.
AUDIENCE = "audience = 'trial_support_inactive'"


def _build_at(home: Path, as_of: dt.datetime) -> None:
    dbt = Path(sys.executable).parent / "dbt"
    result = subprocess.run(
        [
            str(dbt),
            "build",
            "--select",
            "+audience_membership",
            "--exclude",
            "resource_type:unit_test",  # unit tests run in tests/traits' build; this test is about the data
        ],
        cwd=DBT_PROJECT_DIR,
        env={
            "PATH": str(dbt.parent),
            "CDP_HOME": str(home),
            "HOME": str(home),
            "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
            "CDP_AS_OF": as_of.isoformat(),  # as Dagster passes it: one partial parse for every build
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:]


def test_leaving_closes_the_stay_and_coming_back_opens_a_new_one(demo_runs: DemoRuns, tmp_path: Path) -> None:
    shutil.copy(demo_runs.warehouse, tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        # Just after the moment the demo evaluated the audience at: nobody crosses a day boundary by itself.
        (evaluated_at,) = con.execute("select max(entered_at) from audience_membership").fetchone()
    now = evaluated_at + dt.timedelta(seconds=1)
    earlier = now - dt.timedelta(days=20)

    # Moving the clock back 20 days makes recently-quiet members "active" again, so they leave the audience.
    _build_at(tmp_path, earlier)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        members_then = set(
            con.execute(f"select profile_id from audience_membership where {AUDIENCE}").fetchall()
        )
        closed = con.execute(
            f"select profile_id, exited_at from audience_membership_history where exited_at is not null and {AUDIENCE}"
        ).fetchall()
    assert closed, "some members should have left when the clock moved back"
    assert all(exited == earlier for _, exited in closed)
    assert not {(pid,) for pid, _ in closed} & members_then

    _build_at(tmp_path, now)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        open_stays = set(
            con.execute(
                f"select profile_id from audience_membership_history where exited_at is null and {AUDIENCE}"
            ).fetchall()
        )
        members_now = set(
            con.execute(f"select profile_id from audience_membership where {AUDIENCE}").fetchall()
        )
        returned = con.execute(
            "select count(*) from audience_membership_history where exited_at is null and entered_at = ? "
            f"and {AUDIENCE}",
            [now],
        ).fetchone()[0]
        stays = con.execute(f"select count(*) from audience_membership_history where {AUDIENCE}").fetchone()[
            0
        ]
    assert open_stays == members_now
    assert returned == len(closed)  # everyone who left came back, with a new stay starting now
    assert stays == len(members_now) + len(closed)
