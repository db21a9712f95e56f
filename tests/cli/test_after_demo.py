"""After `cdp demo`, every command of the README works as written, in a new shell (issue 10, defect 3).

The demo used to write a destinations.yml naming `${CDP_DEMO_WEBHOOK_URL}`, a variable that existed only
while the demo ran: afterwards `cdp sync --dry-run` exited 1 and `cdp run` hung.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.cli.conftest import run_cdp
from tests.conftest import DemoRuns

AUDIENCE = "trial_support_inactive"


@pytest.fixture(scope="module")
def home_after_demo(demo_runs: DemoRuns, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo's CDP_HOME (the session's demo stays as the other tests expect it)."""
    home = tmp_path_factory.mktemp("after_demo") / "home"
    shutil.copytree(demo_runs.home, home, ignore=shutil.ignore_patterns("logs"))
    config = home / "destinations.yml"
    config.write_text(config.read_text().replace(str(demo_runs.home), str(home)))
    return home


def members(home: Path) -> set[str]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("select profile_id from audience_membership where audience = ?", [AUDIENCE])
        return {profile_id for (profile_id,) in rows.fetchall()}


def held_by_destination(home: Path) -> set[str]:
    return set(json.loads((home / "demo_destination" / "state.json").read_text())[AUDIENCE])


def a_member_email(home: Path) -> str:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        (email,) = con.execute(
            "select min(g.id_value) from identity_graph g join audience_membership m using (profile_id) "
            "where g.id_type = 'email' and m.audience = ?",
            [AUDIENCE],
        ).fetchone()
    assert email, "the demo audience has no member with an email"
    return email


def test_demo_configuration_needs_nothing_from_the_demo_process(demo_runs: DemoRuns) -> None:
    text = (demo_runs.home / "destinations.yml").read_text()
    settings = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    assert not any("${" in line for line in settings), text


def test_readme_commands_work_after_the_demo(home_after_demo: Path) -> None:
    home = home_after_demo
    audience = members(home)
    assert audience and held_by_destination(home) == audience

    dry_run = run_cdp(home, "sync", "--dry-run")
    assert dry_run.returncode == 0, dry_run.stdout + dry_run.stderr
    assert "dry run" in dry_run.stdout and "demo_webhook" in dry_run.stdout

    count = run_cdp(home, "sql", "select count(*) from profiles")
    assert count.returncode == 0, count.stderr
    as_csv = run_cdp(home, "sql", "select * from audience_membership limit 5", "--csv")
    assert as_csv.returncode == 0, as_csv.stderr
    assert len(list(csv.DictReader(io.StringIO(as_csv.stdout)))) == min(5, len(audience))
    as_json = run_cdp(home, "sql", "select audience, count(*) from audience_membership group by 1", "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert {row["audience"]: row["count_star()"] for row in json.loads(as_json.stdout)}[AUDIENCE] == len(
        audience
    )

    email = a_member_email(home)
    explored = run_cdp(home, "profile", email, "--json")
    assert explored.returncode == 0, explored.stderr
    assert AUDIENCE in {row["audience"] for row in json.loads(explored.stdout)["audiences"]}
    why = run_cdp(home, "why", AUDIENCE, email)
    assert why.returncode == 0, why.stderr
    assert f"is in {AUDIENCE}" in why.stdout

    ingested = run_cdp(home, "ingest", str(home / "demo_input"), timeout=300)
    assert ingested.returncode == 0, ingested.stdout + ingested.stderr
    ran = run_cdp(home, "run", timeout=600)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert f"sync/{AUDIENCE}/demo_webhook" in ran.stdout.replace("\n", "")
    synced = run_cdp(home, "sync")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert held_by_destination(home) == members(home)
