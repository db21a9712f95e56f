"""Bad-row isolation scenario shared by the test and the benchmark: N rows, a few of them refused.

Each destination runs a first mirror sync of `rows` members at its documented batch size, against its
contract server (or a real PostgreSQL), with `bad` of them refused by the destination as invalid. Measured:
requests sent, which rows ended in `sync_failures`, and how often each good row was applied.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
import psycopg

from reverse_etl.config import DestinationConfig, SyncConfig, build_destination
from reverse_etl.engine import run_sync
from tests.reverse_etl.conftest import AUDIENCE, create_audience
from tests.reverse_etl.harnesses import HARNESSES

# The shapes a destination can answer a batch with a few bad rows in it.
WEBHOOK_MODES = {
    "webhook": "partial",  # 207 + rejected[]: the rest applied
    "webhook_400_named": "refuse_named",  # 400 + rejected[]: nothing applied, the cause named
    "webhook_400_unnamed": "refuse",  # 400 naming nothing: the client has to isolate by itself
}
DESTINATIONS = [*WEBHOOK_MODES, "segment", "hubspot", "salesforce", "meta", "braze", "postgres"]
FAST = {"initial_backoff_seconds": 0.01, "max_backoff_seconds": 0.05, "timeout_seconds": 10}


@dataclass
class Outcome:
    destination: str
    rows: int
    bad: set[str]
    requests: int
    batches: int | None  # requests a clean run of the same rows needs
    rejected: set[str]  # keys in sync_failures, permanent
    delivered: int
    applied_once: bool  # every good row applied exactly once, no bad row applied
    held_ok: bool  # the destination holds exactly the good rows


def bad_keys(rows: int, bad: int, seed: int = 10) -> set[str]:
    return {f"p{i:06d}" for i in random.Random(seed).sample(range(rows), bad)}


def run(
    con: duckdb.DuckDBPyConnection,
    name: str,
    rows: int,
    bad: int,
    postgres_dsn: str | None = None,
    tune: Callable[[Any], None] | None = None,
) -> Outcome:
    """`tune(server)` adjusts the contract server before the sync (e.g. how many entries Meta names)."""
    create_audience(con, rows)
    refused = bad_keys(rows, bad)
    if name == "postgres":
        return _run_postgres(con, rows, refused, postgres_dsn)
    harness = next(h for h in HARNESSES if h.name == name.split("_")[0])
    with harness.server() as server:
        if name in WEBHOOK_MODES and hasattr(server, "reject_mode"):
            server.reject_mode = WEBHOOK_MODES[name]
        harness.reject(server, refused)
        if tune is not None:
            tune(server)
        settings = {**harness.settings(server), **FAST}
        if name == "hubspot":
            settings["rate_limit_per_second"] = 1000  # the contract server has no quota
        destination = build_destination("dest", DestinationConfig.model_validate(settings))
        try:
            result = _sync(con, destination)
            batches = _clean_requests(destination, rows)
        finally:
            destination.close()
        held = harness.held(server)
        expected = harness.expected(con)
        good_count = rows - len(refused)
        if isinstance(held, set):
            held_ok = len(held) == good_count and held <= expected
        else:
            held_ok = len(held) == good_count and all(expected.get(k) == v for k, v in held.items())
        applications = getattr(server, "applications", None)
        if applications is not None:  # the webhook server counts per row
            applied_once = set(applications) == {f"p{i:06d}" for i in range(rows)} - refused and all(
                n == 1 for n in applications.values()
            )
        else:
            applied_once = server.records_applied == good_count * (
                2 if name == "segment" else 1
            )  # identify + track
    return _outcome(con, name, rows, refused, result, batches, applied_once, held_ok)


def _sync(con: duckdb.DuckDBPyConnection, destination: Any):
    return run_sync(con, SyncConfig(audience=AUDIENCE, destination="dest", mode="mirror"), destination)


def _clean_requests(destination: Any, rows: int) -> int | None:
    """Requests the same rows take without bad ones (None where a byte limit decides: Segment)."""
    return None if destination.max_batch_bytes else -(-rows // destination.batch_size)


def _outcome(con, name, rows, refused, result, batches, applied_once, held_ok) -> Outcome:
    rejected = {
        k
        for (k,) in con.execute(
            "select record_key from sync_failures where permanent and run_id = ?", [result.run_id]
        ).fetchall()
    }
    return Outcome(
        destination=name,
        rows=rows,
        bad=refused,
        requests=result.requests,
        batches=batches,
        rejected=rejected,
        delivered=result.delivered["add"],
        applied_once=applied_once,
        held_ok=held_ok,
    )


def _run_postgres(con: duckdb.DuckDBPyConnection, rows: int, refused: set[str], dsn: str | None) -> Outcome:
    """A check constraint refuses the bad rows; a trigger counts how often each row is written."""
    assert dsn, "postgres needs a DSN"
    table = "isolation_members"
    con.execute(
        "update audience_membership set plan = 'refused' where profile_id in (select unnest(?))",
        [list(refused)],
    )
    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute(f"drop table if exists {table}, {table}_writes, _cdp_applied_batches")
        pg.execute(
            f"create table {table} (profile_id text primary key, email text, user_id text, plan text, "
            "_synced_at timestamptz, check (plan <> 'refused'))"
        )
        pg.execute(f"create table {table}_writes (profile_id text)")
        pg.execute(
            f"create or replace function {table}_count() returns trigger language plpgsql as $$ "
            f"begin insert into {table}_writes values (new.profile_id); return new; end $$"
        )
        pg.execute(
            f"create trigger {table}_count after insert or update on {table} "
            f"for each row execute function {table}_count()"
        )
    destination = build_destination(
        "dest", DestinationConfig.model_validate({"type": "postgres", "dsn": dsn, "table": table, **FAST})
    )
    try:
        result = _sync(con, destination)
        batches = _clean_requests(destination, rows)
    finally:
        destination.close()
    with psycopg.connect(dsn) as pg:
        held = {k for (k,) in pg.execute(f"select profile_id from {table}").fetchall()}
        writes = pg.execute(f"select profile_id, count(*) from {table}_writes group by 1").fetchall()
    good = {f"p{i:06d}" for i in range(rows)} - refused
    applied_once = {k for k, _ in writes} == good and all(n == 1 for _, n in writes)
    return _outcome(con, "postgres", rows, refused, result, batches, applied_once, held == good)
