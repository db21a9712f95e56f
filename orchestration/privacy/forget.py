"""`cdp forget`: delete a person from the warehouse, the landing zone and every destination.

The identifier is resolved to the whole profile the way `cdp profile` does (explorer), including the
profiles merged into it, and every identifier of the person is hashed (`suppression.identifier_hash`).
Only the hashes are stored, never the values, so a request interrupted after the warehouse forgot the
values resumes from them (`matching.PersonMatcher` compares values while it knows them, else hashes):

1. request: a `deletion_requests` row, the person's hashes and the destination rows to remove
   (`deletion_pending_removals`: snapshot rows whose key or a payload value is theirs), one transaction;
   with `--suppress` the hashes join the suppression list first, so nothing new comes in meanwhile.
2. warehouse, one transaction: their events (an identifier field is theirs, one of their values is
   mentioned, or the last build attributed the event to their profile) leave `raw_events`; rejected lines that carry or mention
   them leave `rejected_events`; every other table is found by its columns (`profile_id` or
   `*_profile_id`, identifier columns such as `id_value`, `user_id`, `email`, event and identity-node
   ids) and loses the matching rows, so a model added later is covered without a list to update.
   `loaded_files` counts drop by what left each file.
3. landing: each file holding their lines is rewritten without them (atomically), the dropped lines are
   journalled first, and the warehouse's line numbers of the remaining rows are shifted to match.
4. destinations: the next sync sends a remove for each pending row (`reverse_etl.erasure`), then drops
   the snapshot row; the step completes when none is left.

Every step is idempotent and its completion time is recorded, so a rerun after an interruption (or
forgetting twice) finishes what is left and changes nothing else. Nothing here logs a value.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import orjson

from orchestration.explorer import ExplorerError, ProfileNotFound, resolve_identifier
from orchestration.ingestion.landing import content_hash
from orchestration.ingestion.schema import ensure_ingestion_tables
from orchestration.privacy.landing_rewrite import rewrite_landing
from orchestration.privacy.matching import PersonMatcher
from orchestration.privacy.requests import PRIVACY_TABLES, close_completed, ensure_request_tables
from orchestration.privacy.suppression import (
    RAW_EVENTS_IDENTIFIERS,
    apply_suppression,
    ensure_privacy_tables,
    identifier_hash,
    mark_files_checked,
    mention_pattern,
    normalise,
    privacy_salt,
    suppress,
    write_suppression_file,
)
from reverse_etl.state import ensure_state_tables

# Columns whose values are identifiers or profile ids, events, or identity nodes.
IDENTIFIER_COLUMNS = frozenset(
    {
        "profile_id",
        "user_id",
        "anonymous_id",
        "previous_id",
        "email",
        "phone",
        "id_value",
        "id_value_a",
        "id_value_b",
        "linked_by_id_value",
    }
)
# Identifiers of a device, not a person: a family tablet's id also names the rest of the family, so
# they are never searched for. The person's rows that carry them go by profile, event or node instead.
SHARED_TYPES = ("device_id", "advertising_id")
EVENT_COLUMNS = frozenset({"event_id", "message_id", "first_event_id"})
NODE_COLUMNS = frozenset({"node_id", "node_a", "node_b"})
# Handled step by step (raw_events, rejected_events, loaded_files), or the destinations' state, which
# must keep the person until each destination acknowledged the removal.
SPECIAL_TABLES = frozenset(
    {"raw_events", "rejected_events", "loaded_files", "sync_snapshots", "sync_runs", "sync_failures"}
)
# Values this short (a user id "42") would match other people's text; they are matched by field only.
MIN_MENTION_LENGTH = 6


@dataclass
class ForgetReport:
    request_id: str
    resumed: bool
    profiles: int
    identifiers: int
    suppressed: int = 0  # hashes added to the suppression list
    deleted: dict[str, int] = field(default_factory=dict)  # table -> rows removed
    landing_files: int = 0
    landing_lines: int = 0
    landing_waiting: int = 0
    pending_removals: int = 0
    steps: dict[str, dt.datetime | None] = field(default_factory=dict)

    def summary(self) -> str:
        """One line, counts only."""
        tables = ", ".join(f"{t} {n}" for t, n in sorted(self.deleted.items()) if n) or "no rows"
        parts = [
            f"request {self.request_id}{' (resumed)' if self.resumed else ''}",
            f"{self.profiles} profile(s), {self.identifiers} identifier(s)",
            f"deleted: {tables}",
            f"landing: {self.landing_lines} line(s) in {self.landing_files} file(s)",
        ]
        if self.landing_waiting:
            parts.append(
                f"{self.landing_waiting} line(s) wait in open collector files (rerun after they seal)"
            )
        parts.append(f"destinations: {self.pending_removals} removal(s) pending for the next sync")
        if self.suppressed:
            parts.append(f"suppressed {self.suppressed} identifier hash(es)")
        return "; ".join(parts)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _person(
    con: duckdb.DuckDBPyConnection, identifier: str, id_type: str | None
) -> tuple[list[str], list[str]]:
    """(profile ids, identifier values) of the person behind `identifier`; empty when unknown."""
    try:
        match = resolve_identifier(con, identifier, id_type)
    except ProfileNotFound:
        return [], []
    except ExplorerError as error:
        if "no profiles yet" in str(error):
            return [], []
        raise
    tables = {name for (name,) in con.execute("select table_name from information_schema.tables").fetchall()}
    merges = "profile_merges" in tables
    # The survivor and every profile merged into it (directly or through a chain).
    (profiles,) = con.execute(
        f"""
        with recursive absorbed(profile_id) as (
            select ?::varchar
            {"union select m.from_profile_id from profile_merges m join absorbed a on m.to_profile_id = a.profile_id" if merges else ""}
        )
        select list(distinct profile_id) from absorbed
        """,
        [match.profile_id],
    ).fetchone()
    (values,) = con.execute(
        f"""
        select coalesce(list(distinct id_value), []) from identity_graph
        where list_contains(?, profile_id) and id_type not in ({", ".join(f"'{t}'" for t in SHARED_TYPES)})
        """,
        [profiles],
    ).fetchone()
    return list(profiles), list(values)


def _columns(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[str]]:
    """Every base table's columns, by (schema, table)."""
    rows = con.execute(
        """
        select c.table_schema, c.table_name, list(c.column_name order by c.ordinal_position)
        from information_schema.columns c
        join information_schema.tables t using (table_catalog, table_schema, table_name)
        where t.table_type = 'BASE TABLE' and c.table_catalog = current_database()
        group by all
        """
    ).fetchall()
    return {(schema, table): columns for schema, table, columns in rows}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _open_request(
    con: duckdb.DuckDBPyConnection,
    typed_hash: str,
    hashes: list[str],
    suppress_flag: bool,
    counts: tuple[int, int],
) -> tuple[str, bool]:
    """The unfinished request for this identifier, or a new one; its hashes stored either way."""
    # Any identifier of the person finds their unfinished request, not only the one first typed.
    found = con.execute(
        """
        select request_id from deletion_requests
        where (identifier_hash = $typed or request_id in (
                select request_id from deletion_request_identifiers where id_hash = $typed
            ))
            and (warehouse_completed_at is null or landing_completed_at is null
                or destinations_completed_at is null)
        order by requested_at desc limit 1
        """,
        {"typed": typed_hash},
    ).fetchone()
    resumed = found is not None
    request_id = found[0] if found else uuid.uuid4().hex
    if not resumed:
        con.execute(
            "insert into deletion_requests (request_id, identifier_hash, requested_at, suppress, profiles, "
            "identifiers) values (?, ?, ?, ?, ?, ?)",
            [request_id, typed_hash, _now(), suppress_flag, *counts],
        )
    elif suppress_flag:
        con.execute("update deletion_requests set suppress = true where request_id = ?", [request_id])
    con.execute(
        "insert or ignore into deletion_request_identifiers select ?, unnest(?::varchar[])",
        [request_id, hashes],
    )
    return request_id, resumed


def _capture_pending_removals(
    con: duckdb.DuckDBPyConnection, request_id: str, matcher: PersonMatcher
) -> None:
    """Snapshot rows whose key or any top-level payload value is one of the person's identifiers."""
    values = "map_values(try(json_transform(s.payload, '\"MAP(VARCHAR, VARCHAR)\"')))"
    where = f"{matcher.value_sql('s.record_key')} or {matcher.list_sql(values)}"
    con.execute(
        f"""
        insert or ignore into deletion_pending_removals
        select distinct $request, s.audience, s.destination, s.record_key
        from sync_snapshots s
        where {where}
        """,
        {"request": request_id, **matcher.used(where)},
    )


# The text of a raw_events row a landing line's mention check sees, as far as the warehouse keeps it.
_RAW_EVENT_TEXT = (
    "concat_ws(' ', message_id, event, name, user_id, anonymous_id, previous_id, group_id, "
    "cast(properties as varchar), cast(traits as varchar), cast(context as varchar))"
)


def _run(con: duckdb.DuckDBPyConnection, sql: str, matcher: PersonMatcher) -> duckdb.DuckDBPyConnection:
    return con.execute(sql, matcher.used(sql))


def _delete_warehouse(con: duckdb.DuckDBPyConnection, matcher: PersonMatcher) -> dict[str, int]:
    """Step 2: the person's rows out of every table (caller holds the transaction)."""
    deleted: dict[str, int] = {}
    columns = _columns(con)
    resolved = ("intermediate", "int_events_resolved") in columns
    by_profile = (
        f"union select event_id from intermediate.int_events_resolved where {matcher.value_sql('profile_id')}"
        if resolved
        else ""
    )
    _run(
        con,
        f"""
        create or replace temp table _forget_events as
        select message_id as event_id from raw_events
        where {matcher.any_sql(RAW_EVENTS_IDENTIFIERS)} or {matcher.mention_sql(_RAW_EVENT_TEXT)}
        {by_profile}
        """,
        matcher,
    )
    # Identity nodes: the person's identifiers, and every node (a device's too) assigned to their profile.
    node_queries = [
        f"select node_id from {_quote(s)}.{_quote(t)} where {matcher.value_sql(column)}"
        for (s, t), cols in sorted(columns.items())
        if "node_id" in cols and t not in PRIVACY_TABLES
        for column in ("id_value", "profile_id")
        if column in cols
    ]
    node_union = " union ".join(node_queries)
    _run(
        con,
        "create or replace temp table _forget_nodes as "
        + (node_union or "select null::bigint as node_id where false"),
        matcher,
    )

    # raw_events and rejected_events, keeping loaded_files equal to what each file holds.
    con.execute(
        "create or replace temp table _forget_raw as select rowid as rid, source_file from raw_events "
        "where message_id in (select event_id from _forget_events)"
    )
    deleted["raw_events"] = _delete_rows(con, "raw_events", "_forget_raw", "events_loaded")
    _run(
        con,
        "create or replace temp table _forget_rejected as select rowid as rid, source_file from rejected_events "
        f"where {matcher.text_sql('raw')}",
        matcher,
    )
    deleted["rejected_events"] = _delete_rows(con, "rejected_events", "_forget_rejected", "events_rejected")
    # The failure log is not needed to remove them from a destination (the snapshot row is).
    (failures,) = _run(
        con, f"delete from sync_failures where {matcher.value_sql('record_key')}", matcher
    ).fetchone()
    deleted["sync_failures"] = int(failures)

    for (schema, table), cols in sorted(columns.items()):
        if table in SPECIAL_TABLES or table in PRIVACY_TABLES or table.startswith("_forget"):
            continue
        conditions = []
        for column in cols:
            name = column.lower()
            if name in IDENTIFIER_COLUMNS or name.endswith("_profile_id"):
                conditions.append(matcher.value_sql(_quote(column)))
            elif name in EVENT_COLUMNS:
                conditions.append(f"{_quote(column)} in (select event_id from _forget_events)")
            elif name in NODE_COLUMNS:
                conditions.append(f"{_quote(column)} in (select node_id from _forget_nodes)")
        if not conditions:
            continue
        relation = f"{_quote(schema)}.{_quote(table)}"
        (count,) = _run(con, f"delete from {relation} where {' or '.join(conditions)}", matcher).fetchone()
        label = table if schema == "main" else f"{schema}.{table}"
        deleted[label] = int(count)
    for temp in ("_forget_events", "_forget_nodes", "_forget_raw", "_forget_rejected"):
        con.execute(f"drop table if exists {temp}")
    return deleted


def _delete_rows(con: duckdb.DuckDBPyConnection, table: str, selected: str, counter: str) -> int:
    con.execute(
        f"""
        update loaded_files set {counter} = {counter} - d.removed
        from (select source_file, count(*) as removed from {selected} group by all) d
        where loaded_files.source_file = d.source_file
        """
    )
    (count,) = con.execute(f"delete from {table} where rowid in (select rid from {selected})").fetchone()
    return int(count)


def _renumber(con: duckdb.DuckDBPyConnection, request_id: str, landing: Path) -> None:
    """Shift the line numbers of rows after dropped lines, and record the files' new sizes."""
    con.execute(
        "create or replace temp table _forget_journal as "
        "select source_file, line_number from deletion_landing_lines where request_id = ?",
        [request_id],
    )
    for table in ("raw_events", "rejected_events"):
        con.execute(
            f"""
            update {table} set line_number = {table}.line_number - shift.before
            from (
                select t.rowid as rid, count(*) as before
                from {table} t
                join _forget_journal j on j.source_file = t.source_file and j.line_number < t.line_number
                group by t.rowid
            ) shift
            where {table}.rowid = shift.rid
            """
        )
    files = [f for (f,) in con.execute("select distinct source_file from _forget_journal").fetchall()]
    sizes = [Path(f).stat().st_size if Path(f).exists() else 0 for f in files]
    con.execute(
        "update loaded_files set size_bytes = s.size from (select unnest(?::varchar[]) as f, unnest(?::bigint[]) "
        "as size) s where loaded_files.source_file = s.f",
        [files, sizes],
    )
    # Landing identifies a file by its content: the rewritten file is what it now holds.
    if files:
        digests = [content_hash(Path(f)) if Path(f).exists() else None for f in files]
        con.execute(
            "update loaded_files set content_hash = s.digest from (select unnest(?::varchar[]) as f, "
            "unnest(?::varchar[]) as digest) s where loaded_files.source_file = s.f",
            [files, digests],
        )
    con.execute("delete from deletion_landing_lines where request_id = ?", [request_id])
    con.execute("drop table if exists _forget_journal")


def _in_transaction(con: duckdb.DuckDBPyConnection, work) -> object:
    con.execute("begin transaction")
    try:
        result = work()
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return result


def forget(
    con: duckdb.DuckDBPyConnection,
    home: Path,
    identifier: str,
    *,
    suppress_future: bool = False,
    id_type: str | None = None,
) -> ForgetReport:
    """Forget the person behind `identifier` (see the module docstring); safe to rerun."""
    ensure_ingestion_tables(con)
    ensure_state_tables(con)
    ensure_privacy_tables(con)
    ensure_request_tables(con)
    salt = privacy_salt(con)
    profiles, values = _person(con, identifier, id_type)
    typed_hash = identifier_hash(salt, identifier)
    known = {typed_hash, *(identifier_hash(salt, v) for v in (*values, *profiles))}
    mentions = mention_pattern(v for v in (identifier, *values) if len(v.strip()) >= MIN_MENTION_LENGTH)

    def open_request() -> tuple[str, bool, PersonMatcher]:
        request_id, resumed = _open_request(
            con, typed_hash, sorted(known), suppress_future, (len(profiles), len(values))
        )
        stored = [
            h
            for (h,) in con.execute(
                "select id_hash from deletion_request_identifiers where request_id = ? order by 1",
                [request_id],
            ).fetchall()
        ]
        # The values are compared directly while every stored hash's value is known, else by hash.
        plain = (
            sorted({normalise(v) for v in (identifier, *values, *profiles)}) if set(stored) <= known else None
        )
        matcher = PersonMatcher(salt, stored, plain, mentions)
        _capture_pending_removals(con, request_id, matcher)
        return request_id, resumed, matcher

    request_id, resumed, matcher = _in_transaction(con, open_request)
    report = ForgetReport(request_id, resumed, len(profiles), len(values))
    # A load interrupted before its suppression check is checked now (for those suppressed before this
    # request), since the warehouse step marks every loaded file as checked.
    apply_suppression(con)
    if suppress_future:
        report.suppressed = _in_transaction(con, lambda: suppress(con, matcher.hashes, request_id))
        write_suppression_file(con, home)

    def warehouse_step() -> dict[str, int]:
        deleted = _delete_warehouse(con, matcher)
        mark_files_checked(con)  # what was loaded so far no longer holds them
        (before,) = con.execute(
            "select deleted_rows from deletion_requests where request_id = ?", [request_id]
        ).fetchone()
        totals = orjson.loads(before) if before else {}
        for table, count in deleted.items():
            totals[table] = totals.get(table, 0) + count
        con.execute(
            "update deletion_requests set warehouse_completed_at = coalesce(warehouse_completed_at, ?), "
            "deleted_rows = ? where request_id = ?",
            [_now(), orjson.dumps(totals).decode(), request_id],
        )
        return deleted

    report.deleted = _in_transaction(con, warehouse_step)

    def journal(path: Path, dropped: list[int]) -> None:
        con.execute(
            "insert or ignore into deletion_landing_lines select ?, ?, unnest(?::bigint[])",
            [request_id, str(path), dropped],
        )

    landing = home / "landing"
    result = rewrite_landing(con, landing, matcher, journal)
    report.landing_files, report.landing_lines, report.landing_waiting = (
        result.files_rewritten,
        result.lines_dropped,
        result.lines_waiting,
    )

    def landing_step() -> None:
        _renumber(con, request_id, landing)
        if not result.lines_waiting:
            con.execute(
                "update deletion_requests set landing_completed_at = coalesce(landing_completed_at, ?) "
                "where request_id = ?",
                [_now(), request_id],
            )
        (pending,) = con.execute(
            "select count(*) from deletion_pending_removals where request_id = ?", [request_id]
        ).fetchone()
        report.pending_removals = int(pending)
        # Pending rows again (a sync re-added them before the warehouse step ran): not complete any more.
        con.execute(
            "update deletion_requests set destinations_completed_at = "
            "case when ? then coalesce(destinations_completed_at, ?) end where request_id = ?",
            [not pending, _now(), request_id],
        )
        close_completed(con)

    _in_transaction(con, landing_step)
    row = con.execute(
        "select warehouse_completed_at, landing_completed_at, destinations_completed_at from deletion_requests "
        "where request_id = ?",
        [request_id],
    ).fetchone()
    report.steps = dict(zip(("warehouse", "landing", "destinations"), row, strict=True))
    return report
