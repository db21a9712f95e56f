"""The warehouse tables ingestion owns (`raw_events`, `rejected_events`), as in DESIGN.md."""

from __future__ import annotations

import duckdb

RAW_EVENTS_DDL = """
create table if not exists raw_events (
    message_id varchar not null,
    type varchar not null,
    event varchar,
    name varchar,
    user_id varchar,
    anonymous_id varchar,
    previous_id varchar,
    group_id varchar,
    "timestamp" timestamp not null,
    original_timestamp timestamp,
    sent_at timestamp,
    received_at timestamp,
    properties json,
    traits json,
    context json,
    source varchar not null,
    event_date date not null,
    is_future_timestamp boolean not null default false,
    source_file varchar not null,
    line_number bigint,
    loaded_at timestamp not null
)
"""

REJECTED_EVENTS_DDL = """
create table if not exists rejected_events (
    raw varchar,
    reason varchar not null,
    source_file varchar not null,
    line_number bigint,
    rejected_at timestamp not null
)
"""

LOADED_FILES_DDL = """
create table if not exists loaded_files (
    source_file varchar primary key,
    partition_date date,
    size_bytes bigint,
    events_loaded bigint,
    events_rejected bigint,
    loaded_at timestamp not null,
    content_hash varchar,  -- SHA-256 of the file: the same content is loaded once, whatever its name
    duplicate_of varchar  -- set when the content was already loaded from this other file
)
"""

# Warehouses made before files were identified by content.
_LOADED_FILES_MIGRATION = (
    "alter table loaded_files add column if not exists content_hash varchar",
    "alter table loaded_files add column if not exists duplicate_of varchar",
)


def ensure_ingestion_tables(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in (RAW_EVENTS_DDL, REJECTED_EVENTS_DDL, LOADED_FILES_DDL, *_LOADED_FILES_MIGRATION):
        con.execute(ddl)
