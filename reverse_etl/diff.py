"""The change set between an audience now and its last delivered snapshot, computed inside DuckDB."""

from __future__ import annotations

import duckdb

CHANGES_TABLE = "_sync_changes"


def build_change_set(
    con: duckdb.DuckDBPyConnection,
    *,
    audience_sql: str,
    key_column: str,
    audience: str,
    destination: str,
    batch_size: int,
    full_resync: bool = False,
) -> dict[str, int]:
    """Materialise `_sync_changes` (operation, record_key, payload, payload_hash, batch_no); return counts.

    `audience_sql` selects the audience's current rows with the key and the mapped payload columns.
    A row is `changed` when the hash of its payload differs from the acknowledged one.
    """
    con.execute(
        f"""
        create or replace temp table {CHANGES_TABLE} as
        with current_rows as (
            select
                cast("{key_column}" as varchar) as record_key,
                to_json(audience_rows) as payload
            from ({audience_sql}) as audience_rows
        ),
        hashed as (
            select record_key, payload, md5(cast(payload as varchar)) as payload_hash from current_rows
        ),
        snapshot as (
            select record_key, payload_hash, payload
            from sync_snapshots
            where audience = $audience and destination = $destination
        ),
        changes as (
            select
                case
                    when snapshot.record_key is null or $full_resync then 'add'
                    else 'change'
                end as operation,
                hashed.record_key,
                hashed.payload,
                hashed.payload_hash
            from hashed
            left join snapshot using (record_key)
            where snapshot.record_key is null or snapshot.payload_hash <> hashed.payload_hash or $full_resync
            union all
            select 'remove', snapshot.record_key, snapshot.payload, snapshot.payload_hash
            from snapshot
            anti join hashed using (record_key)
        )
        select
            *,
            (row_number() over (partition by operation order by record_key) - 1) // $batch_size as batch_no
        from changes
        """,
        {
            "audience": audience,
            "destination": destination,
            "batch_size": batch_size,
            "full_resync": full_resync,
        },
    )
    counts = dict(
        con.execute(f"select operation, count(*) from {CHANGES_TABLE} group by operation").fetchall()
    )
    return {op: counts.get(op, 0) for op in ("add", "change", "remove")}
