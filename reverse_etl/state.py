"""Sync state kept in the warehouse (public names, see DESIGN.md).

- `sync_snapshots`: per (audience, destination, record_key), the payload the destination last acknowledged.
  It advances row by row, only after acknowledgement, so it is the ground truth of "what they have".
- `sync_runs`: one row per run, with counts and an error summary. Counts advance with each acknowledged
  batch (same transaction as the snapshot), so a run killed mid-way still shows what it delivered.
- `sync_failures`: one row per record that failed in a run; `permanent` rows (validation rejects) carry the
  destination's reason and are not retried until the record's payload changes.
"""

from __future__ import annotations

import datetime as dt

import duckdb

STATE_DDL = (
    """
    create table if not exists sync_snapshots (
        audience varchar not null,
        destination varchar not null,
        record_key varchar not null,
        payload_hash varchar not null,
        payload json,
        synced_at timestamp not null,
        run_id varchar not null,
        primary key (audience, destination, record_key)
    )
    """,
    """
    create table if not exists sync_runs (
        run_id varchar primary key,
        audience varchar not null,
        destination varchar not null,
        mode varchar not null,
        started_at timestamp not null,
        finished_at timestamp,
        status varchar not null,
        added bigint default 0,
        changed bigint default 0,
        removed bigint default 0,
        failed bigint default 0,
        error_summary varchar
    )
    """,
    """
    create table if not exists sync_failures (
        run_id varchar not null,
        audience varchar not null,
        destination varchar not null,
        record_key varchar not null,
        operation varchar not null,
        error varchar,
        permanent boolean not null default false,
        failed_at timestamp not null
    )
    """,
)

# Columns added after the first release; `add column if not exists` upgrades older warehouses in place.
STATE_MIGRATIONS = (
    "alter table sync_snapshots add column if not exists entered_at varchar",
    "alter table sync_runs add column if not exists rejected bigint default 0",
    "alter table sync_runs add column if not exists planned json",
    "alter table sync_runs add column if not exists dry_run boolean default false",
    "alter table sync_runs add column if not exists full_resync boolean default false",
    "alter table sync_failures add column if not exists payload_hash varchar",
    "alter table sync_runs add column if not exists forced boolean default false",
)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def ensure_state_tables(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in (*STATE_DDL, *STATE_MIGRATIONS):
        con.execute(ddl)


def mark_interrupted_runs(con: duckdb.DuckDBPyConnection, audience: str, destination: str) -> None:
    """Runs still 'running' were killed (only one writer can hold the warehouse): say so."""
    con.execute(
        """
        update sync_runs set status = 'interrupted', finished_at = coalesce(finished_at, $now),
            error_summary = coalesce(error_summary, 'process stopped before the run finished; '
                || 'undelivered changes are sent by the next run')
        where audience = $audience and destination = $destination and status = 'running'
        """,
        {"audience": audience, "destination": destination, "now": now()},
    )


def destination_members(con: duckdb.DuckDBPyConnection, audience: str, destination: str) -> int:
    """How many of the audience's members the destination holds (acknowledged snapshot rows)."""
    (count,) = con.execute(
        "select count(*) from sync_snapshots where audience = ? and destination = ?", [audience, destination]
    ).fetchone()
    return int(count)


def add_run_counts(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    delivered: dict[str, int],
    *,
    failed: int = 0,
    rejected: int = 0,
) -> None:
    """Add one batch's outcome to its run's counts; call inside the transaction that records the batch."""
    con.execute(
        """
        update sync_runs set added = coalesce(added, 0) + $add, changed = coalesce(changed, 0) + $change,
            removed = coalesce(removed, 0) + $remove, failed = coalesce(failed, 0) + $failed,
            rejected = coalesce(rejected, 0) + $rejected
        where run_id = $run_id
        """,
        {
            "run_id": run_id,
            "add": delivered.get("add", 0),
            "change": delivered.get("change", 0),
            "remove": delivered.get("remove", 0),
            "failed": failed,
            "rejected": rejected,
        },
    )


def advance_snapshot(
    con: duckdb.DuckDBPyConnection,
    changes_table: str,
    *,
    run_id: str,
    audience: str,
    destination: str,
    operation: str,
    seq_range: tuple[int, int],
    excluded: list[str],
    fresh: bool = False,
) -> None:
    """Record that the destination acknowledged the change of the rows with seq in `seq_range`, except
    `excluded` keys (rejected, deferred or not part of this batch). Removes drop the snapshot row.
    `fresh`: every row is an add without a snapshot row yet (no resync marker), so a plain insert will do."""
    params = {
        "audience": audience,
        "destination": destination,
        "low": seq_range[0],
        "high": seq_range[1],
        "excluded": excluded,
        "operation": operation,
    }
    acknowledged = (
        f"select * from {changes_table} where seq between $low and $high and operation = $operation "
        "and not list_contains($excluded, record_key)"
    )
    if operation == "remove":
        con.execute(
            f"""
            delete from sync_snapshots
            where audience = $audience and destination = $destination
                and record_key in (select record_key from ({acknowledged}))
            """,
            params,
        )
        return
    columns = "(audience, destination, record_key, payload_hash, payload, synced_at, run_id, entered_at)"
    select = f"""
        select $audience, $destination, record_key, payload_hash, payload, $synced_at, $run_id, entered_at
        from ({acknowledged})
    """
    values = {**params, "synced_at": now(), "run_id": run_id}
    if fresh and operation == "add":
        # New members have no snapshot row: a plain insert is much cheaper than an upsert on the key.
        con.execute(f"insert into sync_snapshots {columns} {select}", values)
        return
    con.execute(f"insert or replace into sync_snapshots {columns} {select}", values)


def record_failures(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    audience: str,
    destination: str,
    operation: str,
    errors: dict[str, str],
    hashes: dict[str, str],
    permanent: bool,
) -> None:
    """Log failed records; error texts must already be redacted."""
    if not errors:
        return
    keys = list(errors)
    con.execute(
        """
        insert into sync_failures
            (run_id, audience, destination, record_key, operation, error, permanent, failed_at, payload_hash)
        select $run_id, $audience, $destination, unnest($keys), $operation, unnest($errors), $permanent,
            $failed_at, unnest($hashes)
        """,
        {
            "run_id": run_id,
            "audience": audience,
            "destination": destination,
            "keys": keys,
            "errors": [errors[k] for k in keys],
            "hashes": [hashes.get(k) for k in keys],
            "operation": operation,
            "permanent": permanent,
            "failed_at": now(),
        },
    )
