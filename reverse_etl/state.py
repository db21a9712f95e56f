"""Sync state kept in the warehouse: what each destination has acknowledged, and a log of every run."""

from __future__ import annotations

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


def ensure_state_tables(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in STATE_DDL:
        con.execute(ddl)
