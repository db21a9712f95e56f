"""PostgreSQL destination against a real server: upsert on the key, delete on remove, transaction per batch."""

from __future__ import annotations

import psycopg
import pytest

from reverse_etl.config import SyncConfig
from reverse_etl.engine import run_sync
from tests.reverse_etl.conftest import AUDIENCE, create_audience, expected_members


@pytest.fixture
def table(postgres_dsn, request):
    name = f"vip_{request.node.name[-40:].lower().replace('[', '_').replace(']', '')}"
    name = "".join(c for c in name if c.isalnum() or c == "_")
    with psycopg.connect(postgres_dsn, autocommit=True) as con:
        con.execute(f"drop table if exists {name}")
    return name


def held(dsn: str, table: str) -> dict[str, dict]:
    with psycopg.connect(dsn) as con:
        rows = con.execute(f"select profile_id, email, user_id, plan from {table}").fetchall()
    return {r[0]: {"profile_id": r[0], "email": r[1], "user_id": r[2], "plan": r[3]} for r in rows}


def sync(con, destination):
    return run_sync(con, SyncConfig(audience=AUDIENCE, destination="pg", mode="mirror"), destination)


def test_postgres_table_mirrors_the_audience_through_adds_changes_and_removes(
    warehouse, postgres_dsn, table, make_destination
):
    destination = make_destination("pg", type="postgres", dsn=postgres_dsn, table=table, batch_size=100)
    create_audience(warehouse, 250)
    assert sync(warehouse, destination).delivered["add"] == 250
    assert held(postgres_dsn, table) == expected_members(warehouse)
    warehouse.execute("delete from audience_membership where profile_id < 'p000020'")
    warehouse.execute("update audience_membership set plan = 'gold' where profile_id like 'p00003%'")
    result = sync(warehouse, destination)
    assert result.delivered == {"add": 0, "change": 10, "remove": 20}
    assert held(postgres_dsn, table) == expected_members(warehouse)


def test_bad_value_is_isolated_and_rejected_while_the_rest_of_its_batch_lands(
    warehouse, postgres_dsn, table, make_destination
):
    # A check constraint stands in for any value the table refuses (type, length, constraint).
    with psycopg.connect(postgres_dsn, autocommit=True) as con:
        con.execute(
            f"create table {table} (profile_id text primary key, email text, user_id text, plan text, "
            "_synced_at timestamptz, check (user_id <> 'u7'))"
        )
    create_audience(warehouse, 30)
    destination = make_destination("pg", type="postgres", dsn=postgres_dsn, table=table, batch_size=30)
    result = sync(warehouse, destination)
    assert result.rejected == 1 and result.delivered["add"] == 29
    (reason,) = warehouse.execute("select error from sync_failures where permanent").fetchone()
    assert "check constraint" in reason
    assert set(held(postgres_dsn, table)) == set(expected_members(warehouse)) - {"p000007"}


def test_unreachable_server_leaves_everything_pending(warehouse, make_destination):
    create_audience(warehouse, 10)
    destination = make_destination(
        "pg", type="postgres", dsn="postgresql://postgres@127.0.0.1:1/postgres", table="vip", max_attempts=2
    )
    result = sync(warehouse, destination)
    assert result.status == "failed" and result.failed == 10
    assert warehouse.execute("select count(*) from sync_snapshots").fetchone() == (0,)
