"""The change set between an audience now and its last delivered snapshot, computed inside DuckDB.

Everything here is set-based SQL: the audience's rows are mapped to payloads and hashed, then compared with
`sync_snapshots` in one pass. Python only ever sees the rows that changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from reverse_etl.config import ConfigError, SyncConfig
from reverse_etl.redaction import redact

CHANGES_TABLE = "_sync_changes"
AUDIENCE_TABLE = "audience_membership"
TRAITS_TABLE = "profile_traits"
# Columns of audience_membership that describe membership rather than the person.
MEMBERSHIP_COLUMNS = ("audience", "entered_at")
# The JSON column holding what the audience model selects beyond the membership columns.
PAYLOAD_COLUMN = "payload"
OPERATIONS = ("add", "change", "remove")


class AudienceDataError(ConfigError):
    """The audience's rows cannot be synced as they are (missing key column, duplicate or null keys...)."""


@dataclass(frozen=True)
class AudienceSource:
    """How to read one audience's payload: the SQL expressions for the key, the payload and the stay marker."""

    audience: str
    key_column: str
    payload_sql: str
    entered_at_sql: str

    joins_traits: bool = False

    def rows_sql(self) -> str:
        traits = (
            f" left join {TRAITS_TABLE} as traits on traits.profile_id = members.profile_id"
            if self.joins_traits
            else ""
        )
        return (
            f'select cast(members."{self.key_column}" as varchar) as record_key, {self.payload_sql} as payload, '
            f"{self.entered_at_sql} as entered_at "
            f"from {AUDIENCE_TABLE} as members{traits} where members.audience = '{self.audience}'"
        )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def audience_source(con: duckdb.DuckDBPyConnection, sync: SyncConfig) -> AudienceSource:
    """Check the audience's table, key and field mapping; refuse with a message a person understands."""
    try:
        described = con.execute(f"describe {AUDIENCE_TABLE}").fetchall()
    except duckdb.CatalogException as error:
        raise AudienceDataError(
            f"table {AUDIENCE_TABLE} does not exist in the warehouse yet: build the audiences first (cdp run)"
        ) from error
    columns = [row[0] for row in described]
    if sync.key not in columns:
        raise AudienceDataError(
            f"audience {sync.audience!r} has no key column {sync.key!r} "
            f"(columns of {AUDIENCE_TABLE}: {', '.join(columns)})"
        )
    # What a field can name: a column of audience_membership, a key of the audience's payload (the
    # columns its model selects) or any column of profile_traits (every trait of the member).
    expressions = {c: f"members.{_quote(c)}" for c in columns if c != PAYLOAD_COLUMN}
    payload_keys: list[str] = []
    if PAYLOAD_COLUMN in columns:
        payload_keys = [
            key
            for (key,) in con.execute(
                f"select distinct unnest(json_keys({PAYLOAD_COLUMN})) as key from {AUDIENCE_TABLE} "
                "where audience = ? order by key",
                [sync.audience],
            ).fetchall()
        ]
        for key in payload_keys:
            expressions.setdefault(key, f"json_extract(members.{PAYLOAD_COLUMN}, '$.\"{key}\"')")
    trait_columns = _trait_columns(con)
    if sync.fields:
        missing = {target: column for target, column in sync.fields.items() if column not in expressions}
        missing = {target: column for target, column in missing.items() if column not in trait_columns}
        if missing:
            named = ", ".join(f"{target} <- {column}" for target, column in missing.items())
            available = list(expressions) + [c for c in trait_columns if c not in expressions]
            raise AudienceDataError(
                f"field mapping for {sync.audience!r} -> {sync.destination!r} names missing column(s): "
                f"{named} (available: {', '.join(available)})"
            )
        chosen = {
            target: expressions.get(column, f"traits.{_quote(column)}")
            for target, column in sync.fields.items()
        }
        joins_traits = any(column not in expressions for column in sync.fields.values())
    else:
        keep = [c for c in expressions if c not in MEMBERSHIP_COLUMNS]
        chosen = {c: expressions[c] for c in keep}
        joins_traits = False
    payload = "{" + ", ".join(f"'{t}': {e}" for t, e in chosen.items()) + "}"
    entered_at = "cast(members.entered_at as varchar)" if "entered_at" in columns else "cast(null as varchar)"
    source = AudienceSource(sync.audience, sync.key, f"to_json({payload})", entered_at, joins_traits)
    _check_keys(con, source)
    return source


def _trait_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    try:
        return [row[0] for row in con.execute(f"describe {TRAITS_TABLE}").fetchall()]
    except duckdb.CatalogException:
        return []


def _check_keys(con: duckdb.DuckDBPyConnection, source: AudienceSource) -> None:
    """Duplicate or null keys would make the destination's state ambiguous: refuse, naming the keys."""
    key = _quote(source.key_column)
    nulls, duplicates, samples = con.execute(
        f"""
        with keyed as (
            select {key} as record_key from {AUDIENCE_TABLE} where audience = $audience
        ),
        repeated as (
            select record_key, count(*) as copies from keyed where record_key is not null
            group by record_key having count(*) > 1
        )
        select
            (select count(*) from keyed where record_key is null),
            (select count(*) from repeated),
            (select list(cast(record_key as varchar) || ' (x' || copies || ')' order by copies desc, record_key)[1:10]
             from repeated)
        """,
        {"audience": source.audience},
    ).fetchone()
    problems = []
    if duplicates:
        shown = ", ".join(redact(s) for s in samples or [])
        problems.append(f"{duplicates} duplicate key value(s) in column {source.key_column!r}, e.g. {shown}")
    if nulls:
        problems.append(f"{nulls} row(s) with a null {source.key_column!r}")
    if problems:
        raise AudienceDataError(
            f"NON_UNIQUE_PRIMARY_KEY: audience {source.audience!r} cannot be synced: "
            + "; ".join(problems)
            + ". Every row needs a unique, non-null key; nothing was sent."
        )


def build_change_set(
    con: duckdb.DuckDBPyConnection,
    source: AudienceSource,
    *,
    destination: str,
    full_resync: bool = False,
) -> dict[str, int]:
    """Materialise `_sync_changes` (seq, operation, record_key, payload, payload_hash, entered_at).

    `change` = the payload hash differs from the acknowledged one. Rows the destination rejected
    permanently are left out until their payload changes (or a full resync is asked for).
    `seq` orders rows by operation then key, so the engine can read the set in ranges.
    """
    con.execute(
        f"""
        create or replace temp table {CHANGES_TABLE} as
        with current_rows as (
            select record_key, payload, md5(cast(payload as varchar)) as payload_hash, entered_at
            from ({source.rows_sql()})
        ),
        snapshot as (
            select record_key, payload_hash, payload, entered_at, synced_at
            from sync_snapshots
            where audience = $audience and destination = $destination
        ),
        rejected as (
            -- the latest permanent rejection per record and operation
            select record_key, operation, payload_hash, max(failed_at) as failed_at
            from sync_failures
            where audience = $audience and destination = $destination and permanent
            group by all
        ),
        upserts as (
            -- a snapshot hash 'resync:<run>:<hash>' marks a row a full resync has not re-sent yet
            select
                case
                    when snapshot.record_key is null or $full_resync or snapshot.payload_hash like 'resync:%'
                        then 'add'
                    else 'change'
                end as operation,
                current_rows.*,
                snapshot.synced_at,
                split_part(snapshot.payload_hash, ':', 2) as resync,
                snapshot.payload as previous
            from current_rows
            left join snapshot using (record_key)
            where snapshot.record_key is null
                or snapshot.payload_hash <> current_rows.payload_hash
                or $full_resync
        ),
        removes as (
            select
                'remove' as operation, record_key, payload, payload_hash, entered_at, synced_at,
                split_part(payload_hash, ':', 2) as resync,
                cast(null as json) as previous
            from snapshot
            anti join current_rows using (record_key)
        ),
        changes as (
            select * from upserts
            union all
            select * from removes
        ),
        pending as (
            select changes.*
            from changes
            left join rejected
                on rejected.record_key = changes.record_key
                and rejected.operation = changes.operation
                and rejected.payload_hash = changes.payload_hash
                and (changes.synced_at is null or rejected.failed_at > changes.synced_at)
            where rejected.record_key is null or $full_resync
        )
        select
            row_number() over (order by case operation when 'add' then 0 when 'change' then 1 else 2 end,
                record_key) as seq,
            operation,
            record_key,
            payload,
            payload_hash,
            entered_at,
            resync,
            previous,  -- for changes: the payload the destination holds now (identifiers may have moved)
            synced_at as acked_at  -- when that version was acknowledged: part of idempotency keys
        from pending
        order by seq
        """,
        {"audience": source.audience, "destination": destination, "full_resync": full_resync},
    )
    counts = dict(
        con.execute(f"select operation, count(*) from {CHANGES_TABLE} group by operation").fetchall()
    )
    return {op: int(counts.get(op, 0)) for op in OPERATIONS}


def seq_range(con: duckdb.DuckDBPyConnection, operation: str) -> tuple[int, int]:
    """First and last `seq` of one operation in the change set (0, -1 when there is none)."""
    low, high = con.execute(
        f"select min(seq), max(seq) from {CHANGES_TABLE} where operation = ?", [operation]
    ).fetchone()
    return (0, -1) if low is None else (int(low), int(high))


def mark_for_resync(con: duckdb.DuckDBPyConnection, audience: str, destination: str, run_id: str) -> None:
    """Start a full resync: every acknowledged row becomes due again, durably (a crash mid-resync resumes).

    The run id becomes part of the rows' idempotency keys, so destinations do not discard the resends.
    """
    con.execute(
        """
        update sync_snapshots set payload_hash = 'resync:' || $run_id || ':' || payload_hash
        where audience = $audience and destination = $destination and payload_hash not like 'resync:%'
        """,
        {"audience": audience, "destination": destination, "run_id": run_id},
    )


def read_changes(
    con: duckdb.DuckDBPyConnection, low: int, high: int
) -> list[tuple[str, str, str, str | None, str | None, int, str | None, str | None]]:
    """(record_key, payload, payload_hash, entered_at, resync, seq, previous, acked_at) for seq in [low, high]."""
    return con.execute(
        f"select record_key, cast(payload as varchar), payload_hash, entered_at, nullif(resync, ''), seq, "
        "cast(previous as varchar), cast(acked_at as varchar) "
        f"from {CHANGES_TABLE} "
        "where seq between ? and ? order by seq",
        [low, high],
    ).fetchall()
