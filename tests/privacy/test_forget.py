"""`cdp forget` on a copy of the demo: every table, every landing file and every destination loses the person.

One module-scoped scenario (the rebuild and syncs are the slow part): four destinations hold the
audience (the demo webhook in mirror mode, a webhook and PostgreSQL in upsert mode, files in mirror
mode); the person is forgotten with the CLI, then `cdp run` rebuilds every model and runs every sync.
"""

from __future__ import annotations

import gzip
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import orjson
import psycopg
import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from reverse_etl.demo_server import DemoDestination, WebhookServer
from tests.conftest import DemoRuns, cdp_home
from tests.reverse_etl.conftest import postgres_dsn  # noqa: F401  (session fixture)

AUDIENCE = "trial_support_inactive"
runner = CliRunner()

DESTINATIONS = """\
destinations:
  demo_webhook:
    type: webhook
    url: ${CDP_DEMO_WEBHOOK_URL}
    secret: ${CDP_DEMO_WEBHOOK_SECRET}
  crm:
    type: webhook
    url: ${FORGET_CRM_URL}
  reporting:
    type: postgres
    dsn: ${FORGET_PG_DSN}
    table: forget_members
  exports:
    type: files
    path: %(exports)s
    format: csv
syncs:
  - {audience: trial_support_inactive, destination: demo_webhook, mode: mirror}
  - {audience: trial_support_inactive, destination: crm, mode: upsert}
  - {audience: trial_support_inactive, destination: reporting, mode: upsert}
  - {audience: trial_support_inactive, destination: exports, mode: mirror}
"""


@dataclass
class Scenario:
    home: Path
    person: dict[str, object]
    values: list[str]  # every identifier value and profile id of the person, lower-cased
    before: dict[str, int]
    lines_before: dict[str, int]
    forget_output: str
    second_output: str
    demo_state: dict
    crm_state: dict
    pg_keys: set[str]
    pg_dsn: str

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"


def _invoke(home: Path, *args: str) -> str:
    with cdp_home(home):
        result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def _landing_lines(home: Path) -> dict[str, list[str]]:
    files = {}
    for path in sorted((home / "landing").rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            data = path.read_bytes()
            text = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
            files[str(path)] = text.decode().splitlines()
    return files


def _counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE'"
    ).fetchall()
    return {f"{s}.{t}": con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0] for s, t in tables}


@pytest.fixture(scope="module")
def scenario(
    demo_runs: DemoRuns,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_dsn: str,  # noqa: F811 (the imported fixture)
) -> Iterator[Scenario]:
    from orchestration.defs.runner import run_all

    home = tmp_path_factory.mktemp("forget") / "home"
    shutil.copytree(demo_runs.home, home, ignore=shutil.ignore_patterns("demo_input", "logs", "dagster*"))
    (home / "destinations.yml").write_text(DESTINATIONS % {"exports": home / "exports"})
    with psycopg.connect(postgres_dsn, autocommit=True) as pg:
        pg.execute("drop table if exists forget_members")
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        # The copy's files live under its own landing folder.
        for table in ("raw_events", "rejected_events", "loaded_files"):
            con.execute(
                f"update {table} set source_file = replace(source_file, ?, ?)",
                [str(demo_runs.home), str(home)],
            )
        # Someone whose identifiers are theirs alone (a shared tablet's id also belongs to the family).
        profile_id, email = con.execute(
            """
            select p.profile_id, p.email from audience_membership a join profiles p using (profile_id)
            where a.audience = ? and p.email is not null
                and (select count(*) from identity_graph g where g.profile_id = p.profile_id) > 2
                and not exists (
                    select 1 from identity_graph g
                    join intermediate.int_identifiers_extracted x using (id_type, id_value)
                    join intermediate.int_events_resolved e using (event_id)
                    where g.profile_id = p.profile_id and e.profile_id <> p.profile_id
                )
            order by p.profile_id limit 1
            """,
            [AUDIENCE],
        ).fetchone()
        values = [
            v
            for (v,) in con.execute(
                "select id_value from identity_graph where profile_id = ?", [profile_id]
            ).fetchall()
        ]
        before = _counts(con)
        # The rebuild evaluates at the demo's moment: later, time alone moves people (a checkout becomes
        # abandoned when its window ends), which would hide whether forgetting touched anyone else.
        (demo_as_of,) = con.execute("select max(evaluated_at) from audience_sizes").fetchone()
        # There are several audiences: the person's own memberships, and the synced audience's size.
        ((before["person memberships"], before["audience members"]),) = con.execute(
            "select count(*) filter (where profile_id = ?), count(*) filter (where audience = ?) "
            "from audience_membership",
            [profile_id, AUDIENCE],
        ).fetchall()
    person = {"profile_id": profile_id, "email": email}
    env = {
        "CDP_DEMO_WEBHOOK_SECRET": "forget-test-secret",
        "FORGET_PG_DSN": postgres_dsn,
    }
    previous = {k: os.environ.get(k) for k in (*env, "CDP_DEMO_WEBHOOK_URL", "FORGET_CRM_URL")}
    os.environ.update(env)
    try:
        with (
            DemoDestination(home / "demo_destination", secret=env["CDP_DEMO_WEBHOOK_SECRET"]) as demo,
            WebhookServer() as crm,
        ):
            os.environ["CDP_DEMO_WEBHOOK_URL"] = demo.url
            os.environ["FORGET_CRM_URL"] = crm.url
            _invoke(home, "sync")  # the new destinations get the whole audience, the person included
            assert profile_id in demo.members(AUDIENCE) and profile_id in crm.members(AUDIENCE)
            lines_before = {f: len(lines) for f, lines in _landing_lines(home).items()}
            forget_output = _invoke(home, "forget", f"  {email.upper()} ")
            with cdp_home(home):
                run_all(as_of=demo_as_of.isoformat())  # rebuild from what is left, then every sync
            second_output = _invoke(home, "forget", email)
            demo_state, crm_state = demo.state, crm.state
        with psycopg.connect(postgres_dsn) as pg:
            pg_keys = {k for (k,) in pg.execute("select profile_id from forget_members").fetchall()}
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    yield Scenario(
        home,
        person,
        sorted({v.lower() for v in (*values, profile_id, email)}),
        before,
        lines_before,
        forget_output,
        second_output,
        demo_state,
        crm_state,
        pg_keys,
        postgres_dsn,
    )


def test_no_table_holds_any_identifier_or_the_profile_id(scenario: Scenario) -> None:
    with duckdb.connect(str(scenario.warehouse), read_only=True) as con:
        columns = con.execute(
            """
            select c.table_schema, c.table_name, c.column_name from information_schema.columns c
            join information_schema.tables t using (table_schema, table_name)
            where t.table_type = 'BASE TABLE'
            """
        ).fetchall()
        found = []
        for schema, table, column in columns:
            (hits,) = con.execute(
                f'select count(*) from "{schema}"."{table}" where len(list_filter(?::varchar[], '
                f'lambda v: contains(lower(cast("{column}" as varchar)), v))) > 0',
                [scenario.values],
            ).fetchone()
            if hits:
                found.append((schema, table, column, hits))
        # Tables that were built, still there after the rebuild, with the rest of the people in them.
        after = _counts(con)
    assert found == []
    # values: each identifier once, plus the profile id
    assert scenario.before["main.identity_graph"] - after["main.identity_graph"] == len(scenario.values) - 1
    assert after["main.profiles"] == scenario.before["main.profiles"] - 1
    assert (
        after["main.audience_membership"]
        == scenario.before["main.audience_membership"] - scenario.before["person memberships"]
    )


def test_rebuild_does_not_bring_the_person_back_and_keeps_everyone_else(scenario: Scenario) -> None:
    with duckdb.connect(str(scenario.warehouse), read_only=True) as con:
        (members,) = con.execute(
            "select count(*) from audience_membership where audience = ?", [AUDIENCE]
        ).fetchone()
        (history,) = con.execute(
            "select count(*) from audience_membership_history where profile_id = ?",
            [scenario.person["profile_id"]],
        ).fetchone()
        loaded, in_raw, rejected, in_rejected = con.execute(
            "select (select sum(events_loaded) from loaded_files), (select count(*) from raw_events), "
            "(select sum(events_rejected) from loaded_files), (select count(*) from rejected_events)"
        ).fetchone()
    assert history == 0
    assert members == scenario.before["audience members"] - 1
    # loaded_files still says what each file put where: nothing is reloaded or counted twice.
    assert (loaded, rejected) == (in_raw, in_rejected)


def test_landing_files_are_rewritten_without_their_lines(scenario: Scenario) -> None:
    after = _landing_lines(scenario.home)
    assert set(after) == set(scenario.lines_before)
    mentions = [
        line for lines in after.values() for line in lines if any(v in line.lower() for v in scenario.values)
    ]
    assert mentions == []
    dropped = sum(scenario.lines_before[f] - len(lines) for f, lines in after.items())
    with duckdb.connect(str(scenario.warehouse), read_only=True) as con:
        (deleted,) = con.execute("select deleted_rows ->> '$.raw_events' from deletion_requests").fetchone()
        rows = con.execute(
            "select source_file, line_number, message_id from raw_events where line_number is not null"
        ).fetchall()
    assert dropped >= int(deleted) > 0
    # Line numbers of the rows after a dropped line were shifted: each still points at its own line.
    wrong = [
        (f, n) for f, n, message_id in rows if orjson.loads(after[f][n - 1]).get("messageId") != message_id
    ]
    assert wrong == []


def test_every_destination_lost_the_person_and_kept_the_others(scenario: Scenario) -> None:
    key = scenario.person["profile_id"]
    demo, crm = scenario.demo_state[AUDIENCE], scenario.crm_state[AUDIENCE]
    assert key not in demo and key not in crm and key not in scenario.pg_keys
    with duckdb.connect(str(scenario.warehouse), read_only=True) as con:
        members = {
            k
            for (k,) in con.execute(
                "select profile_id from audience_membership where audience = ?", [AUDIENCE]
            ).fetchall()
        }
        (snapshots,) = con.execute(
            "select count(*) from sync_snapshots where record_key = ?", [key]
        ).fetchone()
        # The removals went out before each sync's diff, so no sync planned them: a guard on the share of
        # removals in a run never stands in the way of a forget.
        (planned_removes,) = con.execute(
            "select sum(cast(planned ->> '$.remove' as integer)) from sync_runs "
            "where started_at > (select min(requested_at) from deletion_requests)"
        ).fetchone()
    assert set(demo) == members and set(crm) >= members and scenario.pg_keys >= members
    assert snapshots == 0 and planned_removes == 0
    latest = max((scenario.home / "exports" / AUDIENCE / "full").glob("*.csv"))
    assert len(latest.read_text().splitlines()) == len(members) + 1  # a header and everyone else
    # Every export, the ones written before the forget included, was rewritten without them.
    exports = sorted((scenario.home / "exports").rglob("*.csv"))
    assert len(exports) >= 4
    assert [p for p in exports if any(v in p.read_text().lower() for v in scenario.values)] == []


def test_request_is_recorded_by_hash_with_each_step_completed(scenario: Scenario) -> None:
    with duckdb.connect(str(scenario.warehouse), read_only=True) as con:
        rows = con.execute(
            "select identifier_hash, suppress, warehouse_completed_at, landing_completed_at, "
            "destinations_completed_at, requested_at from deletion_requests order by requested_at"
        ).fetchall()
        (left,) = con.execute("select count(*) from deletion_request_identifiers").fetchone()
        (pending,) = con.execute("select count(*) from deletion_pending_removals").fetchone()
    # The rerun after completion is a second, empty request: forgetting twice is fine.
    assert len(rows) == 2
    identifier_hash, suppress, warehouse, landing, destinations, requested = rows[0]
    assert len(identifier_hash) == 64 and not suppress
    assert requested <= warehouse <= landing and destinations >= landing
    assert all(row[2] and row[3] and row[4] for row in rows)
    assert left == 0 and pending == 0


def test_cli_prints_counts_never_values(scenario: Scenario) -> None:
    for output in (scenario.forget_output, scenario.second_output):
        assert len(output.strip().splitlines()) == 1
        assert not any(v in output.lower() for v in scenario.values)
    assert "raw_events" in scenario.forget_output and "identity_graph" in scenario.forget_output
    assert "deleted: no rows" in scenario.second_output
