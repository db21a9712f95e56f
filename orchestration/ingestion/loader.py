"""Set-based loading of landed event files into `raw_events`, every bad record quarantined with a reason.

DuckDB reads, parses and validates the files; Python only lists files and picks a path for each.

- Fast path (JSON lines): one `read_ndjson` statement over all the files inserts straight into
  `raw_events`, in one transaction. It accepts only what the exact path would accept; the first record
  it is not sure of (bad JSON, a wrong type, a missing id) raises, the transaction rolls back, and the
  files are retried one by one, so only the files holding such a record leave it. Duplicate
  messageIds found after the insert are moved to `rejected_events` in the same transaction.
- Exact path: every record as text with its physical line number (`read_csv` lines, `{"batch": [...]}`
  items via `read_json_objects`, Parquet rows via `read_parquet`), staged in a temp table with a reason
  per bad record, then accepted rows to `raw_events` and the rest to `rejected_events`. A file DuckDB
  cannot read at all (a truncated gzip, invalid UTF-8) has its readable part decoded in bulk in Python
  (`formats.salvage`) and the damage recorded.

Each transaction also writes the files it covers to `loaded_files`, with their content hash, so
loading a file twice adds nothing (nor does the same content under another name), and a load killed
half-way is rerun from the first file not committed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from orchestration.ingestion.formats import FileFormat, salvage, sniff_format
from orchestration.ingestion.landing import content_hash
from orchestration.ingestion.layouts import source_of
from orchestration.ingestion.schema import ensure_ingestion_tables
from orchestration.ingestion.validation import (
    CORRECTED_TIMESTAMP,
    FAST_PATH_SELECT,
    FUTURE_TOLERANCE,
    STAGE_COLUMNS,
    fields_from_raw,
    staging_select,
)
from orchestration.privacy.suppression import apply_suppression

__all__ = ["LoadResult", "load_files", "load_partitions"]

# What DuckDB raises for a file it cannot take (I/O, gzip, encoding, JSON, `error()`), as opposed to
# our own bugs (binder errors), which must surface.
_UNREADABLE = (duckdb.IOException, duckdb.InvalidInputException, duckdb.ConversionException)

# Strict: a line DuckDB cannot take whole (too long, invalid UTF-8, a stray \x01) fails the read and
# sends the file to the salvage path, rather than being cut or dropped.
_READ_LINES = """
select filename as source_file, null::bigint as line_number, raw, false as repaired,
    null::varchar as batch_sent_at, null::json as batch_context
from read_csv(
    $files, columns = {'raw': 'VARCHAR'}, header = false, delim = chr(1), quote = '', escape = '',
    auto_detect = false, filename = true, strict_mode = true
)
"""

_READ_DOCUMENT = """
with documents as (
    select filename as source_file, json as document
    from read_json_objects($files, format = 'unstructured', filename = true, maximum_object_size = 1073741824)
),
shaped as (
    select
        source_file,
        json_type(document -> 'batch') = 'ARRAY' as is_batch,
        case
            when json_type(document) = 'ARRAY' then document
            when json_type(document -> 'batch') = 'ARRAY' then document -> 'batch'
            else json_array(document)
        end as records,
        case when is_batch then document ->> 'sentAt' end as batch_sent_at,
        case when is_batch and json_type(document -> 'context') = 'OBJECT' then document -> 'context' end
            as batch_context
    from documents
),
items as (
    select *, json_transform(records, '["JSON"]') as record_list from shaped
)
select
    source_file,
    generate_subscripts(record_list, 1) as line_number,
    unnest(record_list)::varchar as raw,
    false as repaired,
    batch_sent_at,
    batch_context
from items
"""

_READ_SALVAGED = """
select source_file, line_number, raw, true as repaired, null::varchar as batch_sent_at, null::json as batch_context
from _salvaged
"""

# Warehouse column names (snake_case) that Segment-spec JSON spells in camelCase.
_PARQUET_RENAMES = {
    "message_id": "messageId",
    "user_id": "userId",
    "anonymous_id": "anonymousId",
    "previous_id": "previousId",
    "group_id": "groupId",
    "original_timestamp": "originalTimestamp",
    "sent_at": "sentAt",
    "received_at": "receivedAt",
}
_JSON_COLUMNS = ("properties", "traits", "context")


def _raw_events_insert(
    accepted_sql: str, source_sql: str | None = None, event_date_sql: str = "f.partition_date"
) -> str:
    """INSERT into `raw_events` from validated records (staging column names).

    Each file's source and partition day are joined from `_file_sources` unless `source_sql` and
    `event_date_sql` give them without a join.
    """
    return f"""
insert into raw_events
with accepted as (
    select a.*, {CORRECTED_TIMESTAMP} as corrected from ({accepted_sql}) a
)
select
    message_id,
    type,
    event,
    name,
    user_id,
    anonymous_id,
    previous_id,
    group_id,
    -- A far-future stamp is not trusted: the time the event reached us stands in for it.
    case
        when corrected > $now + interval '{FUTURE_TOLERANCE}'
            then case when received_at <= $now + interval '{FUTURE_TOLERANCE}' then received_at else $now end
        else corrected
    end as "timestamp",
    coalesce(original_timestamp, "timestamp") as original_timestamp,
    sent_at,
    received_at,
    properties,
    traits,
    context,
    {source_sql or "f.source"} as source,
    {event_date_sql} as event_date,
    corrected > $now + interval '{FUTURE_TOLERANCE}' as is_future_timestamp,
    source_file,
    line_number,
    $now as loaded_at
from accepted
{"" if source_sql else "join _file_sources f using (source_file)"}
"""


def _fast_insert(files: list[str], days: dict[str, dt.date]) -> tuple[str, dict[str, object]]:
    """The fast path's INSERT and the parameters naming each file's source and partition day.

    No join: DuckDB does not keep insertion order through one, and fast-path line numbers and "the first
    copy" follow insertion order. One CASE on the file name gives the file's place in the lists of
    sources and days (the name is constant within a chunk of rows), cheaper than a MAP lookup.
    """
    whens = " ".join(f"when $file_{n} then {n + 1}" for n in range(len(files)))
    params: dict[str, object] = {f"file_{n}": file for n, file in enumerate(files)}
    params["sources"] = [source_of(Path(file)) for file in files]
    params["days"] = [days[file] for file in files]
    accepted = (
        f"select *, null::bigint as line_number, case source_file {whens} end as file_index "
        f"from ({FAST_PATH_SELECT})"
    )
    return _raw_events_insert(accepted, "$sources[file_index]", "$days[file_index]"), params


# The rows being settled: from files whose fast load is committed but not yet settled (`_settling`).
# A file is loaded once, so its name identifies its rows; the `loaded_at` range lets DuckDB skip
# older row groups.
_THIS_LOAD = (
    "loaded_at between $first_loaded and $last_loaded and source_file in (select source_file from _settling)"
)

# Records were appended in file order, so a record's place in its file follows from its row id.
# (The JSON reader skips blank lines, so in a file with blank lines this counts records, not lines.)
_FAST_LINE_NUMBERS = f"""
update raw_events
set line_number = raw_events.rowid - firsts.first_rid + 1
from (
    select source_file, min(rowid) as first_rid from raw_events where {_THIS_LOAD} group by source_file
) firsts
where raw_events.loaded_at between $first_loaded and $last_loaded
    and raw_events.source_file = firsts.source_file
"""

# Duplicates among the rows just inserted: a messageId loaded before, or repeated within this load
# (the first copy in file order stays).
_FAST_DUPLICATES = f"""
create or replace temp table _fast_duplicates as
with this_load as (
    select rowid as rid, message_id, source_file, line_number from raw_events where {_THIS_LOAD}
),
earlier as (
    select t.rid, any_value(r.source_file || coalesce(' line ' || r.line_number, '')) as loaded_from
    from this_load t
    join raw_events r on r.message_id = t.message_id
    where r.source_file not in (select source_file from _settling)
    group by t.rid
),
repeats as (
    select message_id, min(rid) as first_rid from this_load group by message_id having count(*) > 1
)
select
    t.rid,
    t.source_file,
    t.line_number as record_number,
    case
        when e.loaded_from is not null then 'duplicate messageId: already loaded from ' || e.loaded_from
        else 'duplicate messageId: first seen in ' || f.source_file || ' line ' || f.line_number
    end as reason
from this_load t
left join earlier e using (rid)
left join repeats p using (message_id)
left join this_load f on f.rid = p.first_rid
where e.rid is not null or t.rid <> p.first_rid
"""

# The JSON reader keeps no raw text, and reading whole files back to find a few duplicates would cost
# more than the load, so a duplicate's text is rebuilt from its parsed fields (nulls dropped); its line
# is its record number (blank lines not counted).
_ISO = "'%Y-%m-%dT%H:%M:%S.%gZ'"
_FAST_REJECT_DUPLICATES = f"""
insert into rejected_events (raw, reason, source_file, line_number, rejected_at)
select
    json_merge_patch('{{}}', json_object(
        'messageId', r.message_id, 'type', r.type, 'event', r.event, 'name', r.name,
        'userId', r.user_id, 'anonymousId', r.anonymous_id, 'previousId', r.previous_id,
        'groupId', r.group_id, 'timestamp', strftime(r.original_timestamp, {_ISO}),
        'sentAt', strftime(r.sent_at, {_ISO}), 'receivedAt', strftime(r.received_at, {_ISO}),
        'properties', r.properties, 'traits', r.traits, 'context', r.context
    ))::varchar,
    d.reason,
    d.source_file,
    d.record_number,
    $now
from _fast_duplicates d
join raw_events r on r.rowid = d.rid
"""

# Committed with the rows; `events_rejected` stays null until the file's duplicates are settled.
_FAST_LOADED_FILES = """
insert into loaded_files
    (source_file, partition_date, size_bytes, events_loaded, events_rejected, loaded_at, content_hash)
select
    f.source_file, f.partition_date, f.size_bytes,
    (select count(*) from raw_events r where r.loaded_at = $now and r.source_file = f.source_file),
    null,
    $now,
    f.content_hash
from _file_sources f
"""

_SETTLED_FILES = """
update loaded_files
set events_loaded = events_loaded - coalesce(d.duplicates, 0), events_rejected = coalesce(d.duplicates, 0)
from _settling s
left join (select source_file, count(*) as duplicates from _fast_duplicates group by all) d using (source_file)
where loaded_files.source_file = s.source_file
"""

_WHOLE_FILE = -1  # the staged line number of a rejection that concerns a whole file

_STARTS = """
create or replace temp table _starts as
select source_file, min(rowid) as first_rid from _incoming where line_number is null group by source_file
"""

# Lines read by `read_csv` have no number: their row order is file order, so it follows from the row id.
_STAGED_VIEW = f"""
create or replace temp view _staged as
select
    i.rowid as rid,
    i.* exclude (line_number),
    nullif(coalesce(i.line_number, i.rowid - s.first_rid + 1), {_WHOLE_FILE}) as line_number
from _incoming i
left join _starts s on i.line_number is null and i.source_file = s.source_file
"""

_DUPLICATES = """
create or replace temp table _duplicates as
with candidates as (
    select rowid as rid, message_id from _incoming where reason is null and not blank
),
already_loaded as (
    select c.rid, null::bigint as first_rid,
        any_value(r.source_file || coalesce(' line ' || r.line_number, '')) as loaded_from
    from candidates c join raw_events r on c.message_id = r.message_id
    group by c.rid
),
repeats as (
    select message_id, min(rid) as first_rid from candidates group by message_id having count(*) > 1
)
select * from already_loaded
union all
select c.rid, p.first_rid, null
from candidates c join repeats p using (message_id)
where c.rid <> p.first_rid and c.rid not in (select rid from already_loaded)
"""

_EXACT_INSERT = _raw_events_insert(
    """
    select * rename (ts as "timestamp", original_ts as original_timestamp)
    from _staged
    where reason is null and not blank and rid not in (select rid from _duplicates)
    """
)

# Every staged record that is not accepted, with its reason.
_REJECTIONS = """
select replace(raw, chr(64976), chr(65533)) as raw, reason, source_file, line_number
from _staged where reason is not null
union all
select
    s.raw,
    case
        when d.loaded_from is not null then 'duplicate messageId: already loaded from ' || d.loaded_from
        else 'duplicate messageId: first seen in ' || f.source_file || ' line ' || f.line_number
    end,
    s.source_file,
    s.line_number
from _duplicates d
join _staged s on s.rid = d.rid
left join _staged f on f.rid = d.first_rid
"""

_EXACT_REJECTED = f"""
insert into rejected_events (raw, reason, source_file, line_number, rejected_at)
select raw, reason, source_file, line_number, $now from ({_REJECTIONS})
"""

_EXACT_LOADED_FILES = """
insert into loaded_files
    (source_file, partition_date, size_bytes, events_loaded, events_rejected, loaded_at, content_hash)
select f.source_file, f.partition_date, f.size_bytes,
    count(*) filter (where i.reason is null and not i.blank and d.rid is null),
    count(*) filter (where i.reason is not null or d.rid is not null),
    $now,
    f.content_hash
from _file_sources f
left join _incoming i using (source_file)
left join _duplicates d on d.rid = i.rowid
group by all
"""


@dataclass(frozen=True)
class LoadResult:
    files: int
    accepted: int
    rejected: int

    def __add__(self, other: LoadResult) -> LoadResult:
        return LoadResult(
            self.files + other.files, self.accepted + other.accepted, self.rejected + other.rejected
        )


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__


def _set_file_sources(
    con: duckdb.DuckDBPyConnection, files: list[str], hashes: dict[str, str], days: dict[str, dt.date]
) -> None:
    con.execute(
        "create or replace temp table _file_sources as "
        "select unnest($files) as source_file, unnest($sources) as source, unnest($sizes) as size_bytes, "
        "unnest($hashes) as content_hash, unnest($days) as partition_date",
        {
            "files": files,
            "sources": [source_of(Path(f)) for f in files],
            "sizes": [Path(f).stat().st_size for f in files],
            "hashes": [hashes[f] for f in files],
            "days": [days[f] for f in files],
        },
    )


def _totals(con: duckdb.DuckDBPyConnection, files: list[str]) -> LoadResult:
    accepted, rejected = con.execute(
        "select sum(events_loaded), sum(events_rejected) from loaded_files where source_file in "
        "(select unnest($files))",
        {"files": files},
    ).fetchone()
    return LoadResult(files=len(files), accepted=int(accepted or 0), rejected=int(rejected or 0))


# -- fast path ------------------------------------------------------------------------------------


def _load_fast(con: duckdb.DuckDBPyConnection, files: list[str], params: dict) -> bool:
    """Load JSON-lines files in one transaction; False (nothing written) if a record needs the exact path.

    Duplicates do not: they are settled right after, in a second transaction (`_settle_fast_loads`).
    """
    _set_file_sources(con, files, params["hashes"], params["days"])
    insert, sources = _fast_insert(files, params["days"])
    con.execute("begin transaction")
    try:
        con.execute(insert, {**_sql_params(params), **sources, "files": files})
        con.execute(_FAST_LOADED_FILES, _sql_params(params))
        con.execute("commit")
    except _UNREADABLE:
        con.execute("rollback")
        return False
    except BaseException:
        con.execute("rollback")
        raise
    _settle_fast_loads(con, params["now"])
    return True


def _settle_fast_loads(con: duckdb.DuckDBPyConnection, now: dt.datetime) -> None:
    """Number the lines of fast-loaded files and move their duplicates to `rejected_events`.

    A separate transaction because deleting rows inserted in the same transaction makes DuckDB's commit
    rewrite them. Files whose settlement was interrupted (`events_rejected` still null) are settled by
    the next load, so a kill between the two transactions leaves no duplicate behind.
    """
    con.execute(
        "create or replace temp table _settling as "
        "select source_file, loaded_at from loaded_files where events_rejected is null"
    )
    first, last = con.execute("select min(loaded_at), max(loaded_at) from _settling").fetchone()
    if first is None:
        return
    window = {"first_loaded": first, "last_loaded": last}
    con.execute("begin transaction")
    try:
        con.execute(_FAST_LINE_NUMBERS, window)
        con.execute(_FAST_DUPLICATES, window)
        con.execute(_FAST_REJECT_DUPLICATES, {"now": now})
        con.execute("delete from raw_events where rowid in (select rid from _fast_duplicates)")
        con.execute(_SETTLED_FILES)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.execute("drop table if exists _fast_duplicates")
        con.execute("drop table if exists _settling")


# -- exact path -----------------------------------------------------------------------------------


def _stage(con: duckdb.DuckDBPyConnection, lines_sql: str, files: list[str]) -> None:
    con.execute(f"insert into _incoming {staging_select(fields_from_raw(lines_sql))}", {"files": files})


def _quarantine_file(
    con: duckdb.DuckDBPyConnection, file: str, reason: str, raw: str | None, line: int | None
) -> None:
    """A file-level problem: one rejected row for what could not be read (no line: the whole file)."""
    con.execute(
        "insert into _incoming (source_file, line_number, raw, blank, reason) values ($f, $line, $raw, false, $r)",
        {"f": file, "line": _WHOLE_FILE if line is None else line, "raw": raw, "r": reason},
    )


def _stage_salvaged(con: duckdb.DuckDBPyConnection, file: str) -> None:
    """The readable lines of a file DuckDB could not read, and a record of the damage."""
    salvaged = salvage(Path(file))
    count = len(salvaged.lines)
    _salvaged = pa.table(  # noqa: F841  (read by DuckDB's replacement scan)
        {
            "source_file": pa.array([file] * count, pa.string()),
            "line_number": pa.array(np.arange(1, count + 1, dtype=np.int64)),
            "raw": pa.array(salvaged.lines, pa.string()),
        }
    )
    con.register("_salvaged", _salvaged)
    try:
        con.execute(f"insert into _incoming {staging_select(fields_from_raw(_READ_SALVAGED))}")
    finally:
        con.unregister("_salvaged")
    if salvaged.damage:
        _quarantine_file(
            con,
            file,
            f"{salvaged.damage}: the events after line {count} could not be read",
            salvaged.partial_line,
            count + 1,
        )


def _stage_json_lines(con: duckdb.DuckDBPyConnection, files: list[str]) -> None:
    if not files:
        return
    try:
        _stage(con, _READ_LINES, files)
        return
    except _UNREADABLE:
        pass  # one unreadable file fails the statement: read them one by one
    for file in files:
        try:
            _stage(con, _READ_LINES, [file])
        except _UNREADABLE:
            _stage_salvaged(con, file)


def _stage_documents(con: duckdb.DuckDBPyConnection, files: list[str]) -> None:
    for file in files:
        try:
            _stage(con, _READ_DOCUMENT, [file])
        except _UNREADABLE as error:
            text = salvage(Path(file))
            _quarantine_file(
                con,
                file,
                f"the file is neither JSON lines nor one valid JSON document: {_first_line(error)}",
                "\n".join(text.lines),
                None,
            )


def _parquet_lines_sql(con: duckdb.DuckDBPyConnection, files: list[str]) -> str:
    described = con.execute(
        "select column_name, column_type from (describe select * from read_parquet($files, union_by_name = true))",
        {"files": files},
    ).fetchall()
    members = []
    for column, column_type in described:
        key = _PARQUET_RENAMES.get(column, column).replace("'", "''")
        value = '"' + column.replace('"', '""') + '"'
        if column in _JSON_COLUMNS and column_type == "VARCHAR":
            value = f"try_cast({value} as json)"  # JSON kept as text in the Parquet file
        members.append(f"'{key}': {value}")
    return f"""
        select filename as source_file, file_row_number + 1 as line_number,
            to_json({{{", ".join(members)}}})::varchar as raw, false as repaired,
            null::varchar as batch_sent_at, null::json as batch_context
        from read_parquet($files, union_by_name = true, filename = true, file_row_number = true)
    """


def _stage_parquet(con: duckdb.DuckDBPyConnection, files: list[str]) -> None:
    for file in files:
        try:
            _stage(con, _parquet_lines_sql(con, [file]), [file])
        except _UNREADABLE as error:
            _quarantine_file(con, file, f"not a readable Parquet file: {_first_line(error)}", None, None)


def _sql_params(params: dict) -> dict:
    return {"now": params["now"]}


def _stage_exact(
    con: duckdb.DuckDBPyConnection,
    by_format: dict[FileFormat, list[str]],
    hashes: dict[str, str],
    days: dict[str, dt.date],
) -> list[str]:
    """Every record of the files staged in `_incoming` (seen through `_staged`), with its reason if bad."""
    files = [f for group in by_format.values() for f in group]
    if not files:
        return files
    _set_file_sources(con, files, hashes, days)
    con.execute(f"create or replace temp table _incoming ({STAGE_COLUMNS})")
    # Staging reads files outside the transaction: a file that fails to read costs a retry, not the load.
    _stage_json_lines(con, by_format.get(FileFormat.JSON_LINES, []))
    _stage_documents(con, by_format.get(FileFormat.JSON_DOCUMENT, []))
    _stage_parquet(con, by_format.get(FileFormat.PARQUET, []))
    con.execute(_STARTS)
    con.execute(_STAGED_VIEW)
    return files


def _load_exact(con: duckdb.DuckDBPyConnection, by_format: dict[FileFormat, list[str]], params: dict) -> None:
    if not _stage_exact(con, by_format, params["hashes"], params["days"]):
        return
    con.execute("begin transaction")
    try:
        con.execute(_DUPLICATES)
        con.execute(_EXACT_INSERT, _sql_params(params))
        con.execute(_EXACT_REJECTED, {"now": params["now"]})
        con.execute(_EXACT_LOADED_FILES, _sql_params(params))
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def load_files(
    con: duckdb.DuckDBPyConnection,
    files: Iterable[Path],
    partition_date: dt.date,
    now: dt.datetime | None = None,
) -> LoadResult:
    """Load the files not loaded before, all of partition `partition_date` (see `load_partitions`)."""
    return load_partitions(con, {partition_date: list(files)}, now)


def load_partitions(
    con: duckdb.DuckDBPyConnection,
    files_by_day: Mapping[dt.date, Iterable[Path]],
    now: dt.datetime | None = None,
) -> LoadResult:
    """Load the files not loaded before: good events to `raw_events`, the rest to `rejected_events`.

    Files of every partition day load in one pass (one read, one transaction, one duplicate check),
    each row with its file's day as `event_date`. A file is loaded once by path, and its content once
    whatever the path: a file with the content of one loaded before is recorded in `loaded_files` as
    `duplicate_of` it, and not read.

    A duplicate (a `messageId` already in `raw_events`, or seen earlier in this load) is rejected with
    the place the first copy came from. `now` (naive UTC) is the load time: `loaded_at`, and the line
    past which a timestamp counts as far in the future.
    """
    ensure_ingestion_tables(con)
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    _settle_fast_loads(con, now)  # a previous load killed between its two transactions
    apply_suppression(con, now)  # ... or between its last transaction and the suppression check
    done = {row[0] for row in con.execute("select source_file from loaded_files").fetchall()}
    days: dict[str, dt.date] = {}
    for day, files in sorted(files_by_day.items()):
        for file in files:
            days.setdefault(str(file), day)
    new = [file for file in days if file not in done]
    if not new:
        return LoadResult(files=0, accepted=0, rejected=0)
    hashes = {file: content_hash(Path(file)) for file in new}
    todo, same_content = _distinct_content(con, new, hashes)
    params = {"now": now, "days": days, "hashes": hashes}
    by_format: dict[FileFormat, list[str]] = {fmt: [] for fmt in FileFormat}
    for file in todo:
        by_format[sniff_format(Path(file))].append(file)
    with _utc(con):
        try:
            lines = by_format.pop(FileFormat.JSON_LINES)
            if lines and not _load_fast(con, lines, params):
                refused = [file for file in lines if len(lines) == 1 or not _load_fast(con, [file], params)]
                by_format[FileFormat.JSON_LINES] = refused
            _load_exact(con, by_format, params)
        finally:
            _drop_staging(con)
    apply_suppression(con, now)  # events of people on the suppression list (cdp forget --suppress)
    # Recorded after the loads, so a kill before then leaves the first copy to be loaded next time.
    _record_same_content(con, same_content, hashes, days, now)
    return _totals(con, todo)


@contextlib.contextmanager
def _utc(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Timestamps without an offset are UTC, whatever the machine says."""
    (previous_timezone,) = con.execute("select current_setting('TimeZone')").fetchone()
    con.execute("set TimeZone = 'UTC'")
    try:
        yield
    finally:
        con.execute(f"set TimeZone = '{previous_timezone}'")


def _drop_staging(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("drop view if exists _staged")
    for table in ("_incoming", "_starts", "_duplicates", "_file_sources"):
        con.execute(f"drop table if exists {table}")


def _distinct_content(
    con: duckdb.DuckDBPyConnection, files: list[str], hashes: dict[str, str]
) -> tuple[list[str], dict[str, str]]:
    """The files whose content is new, and the others with the file their content was loaded from."""
    loaded = dict(
        con.execute(
            "select content_hash, min(source_file) from loaded_files "
            "where duplicate_of is null and content_hash in (select unnest($hashes)) group by all",
            {"hashes": sorted(set(hashes.values()))},
        ).fetchall()
    )
    todo: list[str] = []
    same_content: dict[str, str] = {}
    for file in files:  # files, not rows
        first = loaded.setdefault(hashes[file], file)
        if first == file:
            todo.append(file)
        else:
            same_content[file] = first
    return todo, same_content


def _record_same_content(
    con: duckdb.DuckDBPyConnection,
    same_content: dict[str, str],
    hashes: dict[str, str],
    days: dict[str, dt.date],
    now: dt.datetime,
) -> None:
    if not same_content:
        return
    files = list(same_content)
    con.execute(
        """
        insert or ignore into loaded_files (source_file, partition_date, size_bytes, events_loaded,
            events_rejected, loaded_at, content_hash, duplicate_of)
        select unnest($files), unnest($days), unnest($sizes), 0, 0, $now, unnest($hashes), unnest($firsts)
        """,
        {
            "files": files,
            "days": [days[f] for f in files],
            "sizes": [Path(f).stat().st_size for f in files],
            "now": now,
            "hashes": [hashes[f] for f in files],
            "firsts": [same_content[f] for f in files],
        },
    )
