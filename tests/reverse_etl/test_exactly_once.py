"""Exactly-once effect where the destination allows it (issue 10, gaps): the webhook receiver and the
PostgreSQL destination dedupe by idempotency key, so a timeout or a kill -9 never applies a batch twice.

Each row's applications are counted where they happen: by the webhook contract server, and by a trigger on
the PostgreSQL table (every insert or update of a row writes one line).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import duckdb
import psycopg
import pytest

from reverse_etl.config import SyncConfig
from reverse_etl.demo_server import WebhookServer
from reverse_etl.engine import run_sync
from tests.reverse_etl.conftest import AUDIENCE, FAST_RETRIES, create_audience, expected_members
from tests.reverse_etl.harnesses import HARNESSES
from tests.reverse_etl.servers.segment import SegmentServer

MEMBERS = 60
SECRET = "hook-secret"


def _sync(con, destination, mode="mirror"):
    return run_sync(con, SyncConfig(audience=AUDIENCE, destination=destination.name, mode=mode), destination)


def _shift_batches(con) -> None:
    """New members whose keys sort between the old ones: a rerun groups the old rows into other batches."""
    con.execute(
        "insert into audience_membership select audience, profile_id || 'b', entered_at, 'b' || email, "
        "'b' || user_id, plan from audience_membership where profile_id like '%3' or profile_id like '%7'"
    )


# ----- webhook


@pytest.fixture
def webhook_server():
    with WebhookServer(secret=SECRET) as server:
        yield server


def test_webhook_timeout_after_the_receiver_applied_is_retried_without_a_second_application(
    warehouse, webhook_server, make_destination
):
    create_audience(warehouse, MEMBERS)
    webhook_server.hang_seconds = 1.0
    webhook_server.fail_next("apply_then_timeout", times=2)  # applied, then the answer never came in time
    destination = make_destination(
        "hook", type="webhook", url=webhook_server.url, secret=SECRET, batch_size=10, timeout_seconds=0.3
    )
    result = _sync(warehouse, destination, mode="insert")
    assert result.status == "succeeded" and result.retries == 2 and result.delivered["add"] == MEMBERS
    # The retries carried the same Idempotency-Key: answered from the first answer, applied once.
    assert webhook_server.duplicate_deliveries == 2
    assert set(webhook_server.applications) == set(expected_members(warehouse))
    assert set(webhook_server.applications.values()) == {1}
    assert webhook_server.members(AUDIENCE) == expected_members(warehouse)


KILLED_WEBHOOK_SYNC = textwrap.dedent(
    """
    import json, sys
    import duckdb
    from reverse_etl.config import DestinationConfig, SyncConfig, build_destination
    from reverse_etl.engine import run_sync

    destination = build_destination("hook", DestinationConfig.model_validate(json.loads(sys.argv[2])))
    con = duckdb.connect(sys.argv[1])
    run_sync(con, SyncConfig(audience="vip", destination="hook", mode="insert"), destination)
    """
)


@pytest.mark.parametrize("regrouped", [False, True], ids=["same-batches", "regrouped"])
def test_webhook_kill_9_between_apply_and_ack_then_rerun_applies_every_row_once(
    tmp_path, webhook_server, make_destination, regrouped
):
    path = str(tmp_path / "warehouse.duckdb")
    with duckdb.connect(path) as con:
        create_audience(con, MEMBERS)
    settings = {
        "type": "webhook",
        "url": webhook_server.url,
        "secret": SECRET,
        "batch_size": 10,
        **FAST_RETRIES,
    }
    child = subprocess.Popen([sys.executable, "-c", KILLED_WEBHOOK_SYNC, path, json.dumps(settings)])

    def kill_after_third_batch(server):  # applied, not yet answered: the worst moment
        if server.applied_batches == 3:
            os.kill(child.pid, signal.SIGKILL)

    webhook_server.after_apply = kill_after_third_batch
    assert child.wait(timeout=60) == -signal.SIGKILL
    webhook_server.after_apply = None
    with duckdb.connect(path) as con:
        acknowledged = con.execute("select count(*) from sync_snapshots").fetchone()[0]
        assert acknowledged < 3 * 10 <= sum(webhook_server.applications.values())  # landed unrecorded
        if regrouped:  # the audience moved on before the rerun: other batches, other batch keys
            _shift_batches(con)
        result = _sync(con, make_destination("hook", **settings), mode="insert")
        expected = expected_members(con)
    assert result.status == "succeeded"
    assert webhook_server.members(AUDIENCE) == expected
    # Insert mode against an appending receiver: no row twice.
    assert set(webhook_server.applications) == set(expected)
    assert set(webhook_server.applications.values()) == {1}


@pytest.mark.parametrize("name", ["webhook", "segment"])
def test_the_same_change_made_again_later_is_applied_not_dropped_as_a_repeat(
    warehouse, make_destination, name
):
    # -> gold -> silver -> gold: the third change equals the first. A receiver that remembers keys
    # (webhook Idempotency-Key, Segment messageId) must not take the second "-> pro" for a retry.
    harness = next(h for h in HARNESSES if h.name == name)
    with harness.server() as server:
        destination = make_destination(name, **harness.settings(server), batch_size=10)
        create_audience(warehouse, 5)
        _sync(warehouse, destination)
        for plan in ("gold", "silver", "gold"):
            warehouse.execute(f"update audience_membership set plan = '{plan}'")
            assert _sync(warehouse, destination).delivered["change"] == 5
            assert harness.held(server) == harness.expected(warehouse), plan
        if isinstance(server, SegmentServer):
            assert server.dropped == []


# ----- PostgreSQL


@pytest.fixture
def counted_table(postgres_dsn, request):
    """A target table with a trigger that logs every write of a row."""
    table = "once_" + "".join(c for c in request.node.name.lower() if c.isalnum())[-40:]
    with psycopg.connect(postgres_dsn, autocommit=True) as pg:
        pg.execute(f"drop table if exists {table}, {table}_writes, _cdp_applied_batches")
        pg.execute(
            f"create table {table} (profile_id text primary key, email text, user_id text, plan text, "
            "_synced_at timestamptz)"
        )
        pg.execute(f"create table {table}_writes (profile_id text, op text)")
        pg.execute(
            f"create function {table}_log() returns trigger language plpgsql as $$ "
            f"begin insert into {table}_writes values (new.profile_id, tg_op); return new; end $$"
        )
        pg.execute(
            f"create trigger log after insert or update on {table} for each row execute function {table}_log()"
        )
    return table


def _writes(dsn: str, table: str) -> dict[str, int]:
    with psycopg.connect(dsn) as pg:
        return dict(pg.execute(f"select profile_id, count(*) from {table}_writes group by 1").fetchall())


KILLED_PG_SYNC = textwrap.dedent(
    """
    import json, os, signal, sys
    import duckdb
    from reverse_etl.config import DestinationConfig, SyncConfig, build_destination
    from reverse_etl.engine import run_sync

    destination = build_destination("pg", DestinationConfig.model_validate(json.loads(sys.argv[2])))
    upsert, applied = destination.upsert, []

    def upsert_then_die(batch):
        result = upsert(batch)  # committed in PostgreSQL
        applied.append(batch)
        if len(applied) == 3:  # before the warehouse records the acknowledgement
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    destination.upsert = upsert_then_die
    con = duckdb.connect(sys.argv[1])
    run_sync(con, SyncConfig(audience="vip", destination="pg", mode="insert"), destination)
    """
)


@pytest.mark.parametrize("regrouped", [False, True], ids=["same-batches", "regrouped"])
def test_postgres_kill_9_between_commit_and_ack_then_rerun_writes_every_row_once(
    tmp_path, postgres_dsn, counted_table, make_destination, regrouped
):
    path = str(tmp_path / "warehouse.duckdb")
    with duckdb.connect(path) as con:
        create_audience(con, MEMBERS)
    settings = {
        "type": "postgres",
        "dsn": postgres_dsn,
        "table": counted_table,
        "batch_size": 10,
        **FAST_RETRIES,
    }
    child = subprocess.run([sys.executable, "-c", KILLED_PG_SYNC, path, json.dumps(settings)], timeout=60)
    assert child.returncode == -signal.SIGKILL
    assert sum(_writes(postgres_dsn, counted_table).values()) == 30  # three batches committed
    with duckdb.connect(path) as con:
        assert con.execute("select count(*) from sync_snapshots").fetchone()[0] == 20  # two acknowledged
        if regrouped:
            _shift_batches(con)
        result = _sync(con, make_destination("pg", **settings), mode="insert")
        expected = expected_members(con)
    assert result.status == "succeeded" and result.delivered["add"] == len(expected) - 20
    writes = _writes(postgres_dsn, counted_table)
    assert set(writes) == set(expected) and set(writes.values()) == {1}  # no row written twice
    with psycopg.connect(postgres_dsn) as pg:
        rows = pg.execute(f"select count(*), count(distinct profile_id) from {counted_table}").fetchone()
        ledger = pg.execute(
            "select count(*) from _cdp_applied_batches where target = %s", [counted_table]
        ).fetchone()
    assert rows == (len(expected), len(expected))
    # The batch that landed unrecorded is in the ledger once, whether the rerun re-sent it or regrouped it.
    assert ledger[0] >= 3


def test_postgres_batch_sent_twice_is_applied_once(warehouse, postgres_dsn, counted_table, make_destination):
    from reverse_etl.delivery import make_batch
    from reverse_etl.destinations.base import Record

    destination = make_destination("pg", type="postgres", dsn=postgres_dsn, table=counted_table)
    records = [Record(f"k{i}", {"email": f"e{i}@x.io", "plan": "pro"}, f"h{i}") for i in range(5)]
    batch = make_batch(AUDIENCE, "pg", "add", records)
    assert destination.upsert(batch).accepted == [r.key for r in records]
    assert destination.upsert(batch).accepted == [r.key for r in records]  # a retry after a lost answer
    assert _writes(postgres_dsn, counted_table) == {r.key: 1 for r in records}


def test_demo_receiver_remembers_applied_keys_across_a_restart(warehouse, tmp_path, make_destination):
    from reverse_etl.demo_server import DemoDestination

    create_audience(warehouse, 20)
    with DemoDestination(tmp_path / "demo") as receiver:
        receiver.hang_seconds = 0.6
        receiver.fail_next("apply_then_timeout")  # applied, answer lost; the client gives up on this run
        destination = make_destination(
            "hook", type="webhook", url=receiver.url, timeout_seconds=0.3, max_attempts=1
        )
        assert _sync(warehouse, destination).status == "failed"
    with DemoDestination(tmp_path / "demo") as restarted:  # a new process: only its files remember
        result = _sync(warehouse, make_destination("hook", type="webhook", url=restarted.url))
        assert result.delivered["add"] == 20 and restarted.duplicate_deliveries == 1
        assert restarted.records_applied == 0  # the batch landed before the restart: nothing applied again
        assert len(restarted.state[AUDIENCE]) == 20
