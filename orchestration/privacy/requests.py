"""`deletion_requests` and the state a forget carries between its steps (visible warehouse tables).

- `deletion_requests`: one row per `cdp forget`, with the hash of the identifier asked for (never the
  value), whether it suppresses, and when each step completed (warehouse, landing, destinations).
- `deletion_request_identifiers`: the hashes of every identifier of the person, so an interrupted
  request resumes after the warehouse no longer knows them. Dropped once the request completes.
- `deletion_pending_removals`: (audience, destination, record_key) a destination still holds for the
  person; the sync removes them, then the row and the snapshot row go.
- `deletion_landing_lines`: landing lines dropped but not yet renumbered in the warehouse (a journal,
  empty unless a forget was interrupted between rewriting files and recording it).
"""

from __future__ import annotations

import duckdb

STEPS = ("warehouse", "landing", "destinations")

REQUESTS_DDL = (
    """
    create table if not exists deletion_requests (
        request_id varchar primary key,
        identifier_hash varchar not null,
        requested_at timestamp not null,
        suppress boolean not null default false,
        profiles integer,
        identifiers integer,
        deleted_rows json,
        warehouse_completed_at timestamp,
        landing_completed_at timestamp,
        destinations_completed_at timestamp
    )
    """,
    """
    create table if not exists deletion_request_identifiers (
        request_id varchar not null,
        id_hash varchar not null,
        primary key (request_id, id_hash)
    )
    """,
    """
    create table if not exists deletion_pending_removals (
        request_id varchar not null,
        audience varchar not null,
        destination varchar not null,
        record_key varchar not null,
        primary key (request_id, audience, destination, record_key)
    )
    """,
    """
    create table if not exists deletion_landing_lines (
        request_id varchar not null,
        source_file varchar not null,
        line_number bigint not null,
        primary key (request_id, source_file, line_number)
    )
    """,
)

# Tables a forget keeps as they are: they hold no person's data, or they are handled step by step.
PRIVACY_TABLES = frozenset(
    {
        "deletion_requests",
        "deletion_request_identifiers",
        "deletion_pending_removals",
        "deletion_landing_lines",
        "suppressed_identifiers",
        "suppression_checked_files",
        "privacy_salt",
    }
)


def ensure_request_tables(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in REQUESTS_DDL:
        con.execute(ddl)


def close_completed(con: duckdb.DuckDBPyConnection) -> None:
    """A request whose three steps are done no longer needs its identifier hashes."""
    con.execute(
        """
        delete from deletion_request_identifiers
        where request_id in (
            select request_id from deletion_requests
            where warehouse_completed_at is not null and landing_completed_at is not null
                and destinations_completed_at is not null
        )
        """
    )
