"""Replay after a loader fix: reload landed files, and retry quarantined records.

Both go through the loader's own staging, validation and deduplication (`loader`), set-based in DuckDB,
each in one transaction, and both keep "records in = `raw_events` + `rejected_events`":

- `reload_files` reads landed files again. A record already in `raw_events` from the file stays as it
  is (counted like a blank line); the others are decided anew: accepted ones are loaded, and the file's
  `rejected_events` rows are replaced by the current rejections. Reloading an unchanged file changes
  nothing.
- `retry_rejected` re-validates the quarantined records themselves (their raw text, and the batch's
  `sentAt` and `context` for items of a `{"batch": [...]}` file). A record is keyed by its file and
  line, which are unique in `rejected_events`; one that now passes is inserted into `raw_events` and its
  `rejected_events` row deleted in the same transaction, so a retry repeated or killed half-way never
  loads a record twice. Records that still fail keep their row, with the current reason.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.ingestion.formats import FileFormat, sniff_format
from orchestration.ingestion.landing import content_hash, event_files, partition_folder
from orchestration.ingestion.layouts import day_of, source_of
from orchestration.ingestion.loader import (
    _DUPLICATES,
    _EXACT_INSERT,
    _EXACT_REJECTED,
    _READ_DOCUMENT,
    _REJECTIONS,
    _STAGED_VIEW,
    _STARTS,
    _UNREADABLE,
    _drop_staging,
    _raw_events_insert,
    _settle_fast_loads,
    _stage_exact,
    _utc,
    load_files,
)
from orchestration.ingestion.schema import ensure_ingestion_tables
from orchestration.ingestion.validation import STAGE_COLUMNS, fields_from_raw, staging_select

__all__ = ["LandedTargetError", "ReplayResult", "landed_targets", "reload_files", "retry_rejected"]


@dataclass(frozen=True)
class ReplayResult:
    files: int  # files reloaded, or files whose records were retried
    loaded: int  # records moved into raw_events
    rejected_before: int  # rows of rejected_events concerned, before
    rejected_after: int  # and after


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _counts(con: duckdb.DuckDBPyConnection, files: list[str]) -> tuple[int, int]:
    """Rows of `raw_events` and of `rejected_events` from these files."""
    raw, rejected = con.execute(
        """
        select
            (select count(*) from raw_events where source_file in (select unnest($files))),
            (select count(*) from rejected_events where source_file in (select unnest($files)))
        """,
        {"files": files},
    ).fetchone()
    return int(raw), int(rejected)


class LandedTargetError(ValueError):
    """A `--reload` target that names no landed file."""


def _loaded_as(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[str, dt.date] | None:
    """The file whose load holds this landed file's content (itself, or the one it duplicates), and its day."""
    return con.execute(
        """
        select coalesce(o.source_file, l.source_file), coalesce(o.partition_date, l.partition_date)
        from loaded_files l left join loaded_files o on o.source_file = l.duplicate_of
        where l.source_file = $file
        """,
        {"file": str(path)},
    ).fetchone()


def landed_targets(
    con: duckdb.DuckDBPyConnection, landing: Path, targets: Iterable[str]
) -> dict[dt.date, list[Path]]:
    """The landed files that `--reload` targets name, by partition day.

    A target is a day (`YYYY-MM-DD`: every file landed that day), a file in the landing zone, or a file
    elsewhere whose content was landed and loaded (found by its hash).
    """
    ensure_ingestion_tables(con)
    by_day: dict[dt.date, list[Path]] = {}
    for target in targets:
        try:
            day = dt.date.fromisoformat(target)
        except ValueError:
            day = None
        if day is not None:
            folder = partition_folder(landing, day)
            files = event_files([folder]) if folder.is_dir() else []
            if not files:
                raise LandedTargetError(f"nothing landed on {day} (no event files in {folder})")
            by_day.setdefault(day, []).extend(files)
            continue
        path = Path(target).expanduser().resolve()
        if not path.is_file():
            raise LandedTargetError(f"not a day (YYYY-MM-DD) or a file: {target}")
        if path.is_relative_to(landing.resolve()):
            found = _loaded_as(con, path) or (str(path), day_of(path, dt.datetime.now(dt.UTC).date()))
        else:
            found = con.execute(
                "select source_file, partition_date from loaded_files "
                "where content_hash = $hash and duplicate_of is null order by source_file limit 1",
                {"hash": content_hash(path)},
            ).fetchone()
            if found is None:
                raise LandedTargetError(f"{target} was never landed and loaded: ingest it with `cdp ingest`")
        by_day.setdefault(found[1], []).append(Path(found[0]))
    return {day: list(dict.fromkeys(files)) for day, files in by_day.items()}


# The staged copy of each event the file already gave `raw_events`: the first valid copy, else the first.
_KEPT = """
create or replace temp table _kept as
select coalesce(min(s.rid) filter (where s.reason is null), min(s.rid)) as rid
from _staged s
join raw_events r on r.source_file = s.source_file and r.message_id = s.message_id
where not s.blank
group by s.source_file, s.message_id
"""

_RELOADED_FILES = """
update loaded_files
set events_loaded = coalesce(r.n, 0),
    events_rejected = coalesce(j.n, 0),
    size_bytes = f.size_bytes,
    content_hash = f.content_hash
from _file_sources f
left join (
    select source_file, count(*) as n from raw_events
    where source_file in (select source_file from _file_sources) group by all
) r using (source_file)
left join (
    select source_file, count(*) as n from rejected_events
    where source_file in (select source_file from _file_sources) group by all
) j using (source_file)
where loaded_files.source_file = f.source_file
"""


def reload_files(
    con: duckdb.DuckDBPyConnection,
    files: Iterable[Path],
    partition_date: dt.date,
    now: dt.datetime | None = None,
) -> ReplayResult:
    """Load landed files again with the current loader; files never loaded are simply loaded.

    A file whose content was loaded from another file (`loaded_files.duplicate_of`) is left alone.
    """
    ensure_ingestion_tables(con)
    now = _now(now)
    _settle_fast_loads(con, now)
    paths = list(dict.fromkeys(str(f) for f in files))
    before = dict(
        con.execute(
            "select source_file, duplicate_of from loaded_files where source_file in (select unnest($files))",
            {"files": paths},
        ).fetchall()
    )
    again = [f for f in paths if f in before and before[f] is None]
    raw_before, rejected_before = _counts(con, paths)
    load_files(con, [Path(f) for f in paths if f not in before], partition_date, now)
    if again:
        by_format: dict[FileFormat, list[str]] = {fmt: [] for fmt in FileFormat}
        for file in again:
            by_format[sniff_format(Path(file))].append(file)
        hashes = {file: content_hash(Path(file)) for file in again}
        params = {"now": now}
        with _utc(con):
            try:
                _stage_exact(con, by_format, hashes, dict.fromkeys(again, partition_date))
                con.execute(_KEPT)
                # Already loaded: not a record to decide again, like a blank line.
                con.execute(
                    "update _incoming set blank = true, reason = null where rowid in (select rid from _kept)"
                )
                con.execute("begin transaction")
                try:
                    con.execute(_DUPLICATES)
                    con.execute(_EXACT_INSERT, params)
                    con.execute(
                        "delete from rejected_events where source_file in (select source_file from _file_sources)"
                    )
                    con.execute(_EXACT_REJECTED, {"now": now})
                    con.execute(_RELOADED_FILES)
                    con.execute("commit")
                except BaseException:
                    con.execute("rollback")
                    raise
            finally:
                con.execute("drop table if exists _kept")
                _drop_staging(con)
    raw_after, rejected_after = _counts(con, paths)
    return ReplayResult(
        files=len(paths),
        loaded=raw_after - raw_before,
        rejected_before=rejected_before,
        rejected_after=rejected_after,
    )


# Quarantined records that are records (not a whole file, not the damage that cut a file short), keyed
# by file and line; a key held by two rows is ambiguous and left alone.
_RETRYING = """
create or replace temp table _retrying as
select r.source_file, r.line_number, r.raw, r.reason
from rejected_events r
where r.line_number is not null
    and r.raw is not null
    and r.reason not like '%: the events after line % could not be read'
    and ($file::varchar is null or r.source_file = $file::varchar)
qualify count(*) over (partition by r.source_file, r.line_number) = 1
"""

# Invalid bytes were stored as U+FFFD; marking them again keeps such a record rejected for what it is.
_UTF8_REASON = "not valid UTF-8%"
_RETRY_LINES = f"""
select
    r.source_file,
    r.line_number,
    case when r.reason like '{_UTF8_REASON}' then replace(r.raw, chr(65533), chr(64976)) else r.raw end as raw,
    r.reason like '{_UTF8_REASON}' as repaired,
    b.batch_sent_at,
    b.batch_context
from _retrying r
left join _batches b using (source_file, line_number)
order by r.source_file, r.line_number
"""

_RETRY_FILE_SOURCES = """
create or replace temp table _file_sources as
select
    f.source_file,
    f.source,
    coalesce(l.partition_date, f.first_rejected::date) as partition_date
from (
    select unnest($files) as source_file, unnest($sources) as source, unnest($first_rejected) as first_rejected
) f
left join loaded_files l using (source_file)
"""

_RETRY_INSERT = _raw_events_insert(
    """
    select * rename (ts as "timestamp", original_ts as original_timestamp)
    from _staged
    where reason is null and not blank and rid not in (select rid from _duplicates)
    """,
    event_date_sql="f.partition_date",
)

_RETRY_VERDICTS = f"""
create or replace temp table _verdicts as
select
    r.source_file,
    r.line_number,
    v.reason
from _retrying r
left join ({_REJECTIONS}) v using (source_file, line_number)
"""

_RETRY_SETTLE = (
    """
    delete from rejected_events
    using _verdicts v
    where v.reason is null
        and rejected_events.source_file = v.source_file and rejected_events.line_number = v.line_number
    """,
    """
    update rejected_events
    set reason = v.reason
    from _verdicts v
    where v.reason is not null and rejected_events.reason <> v.reason
        -- "first seen in" and "already loaded from" name the same first copy: no churn
        and not (starts_with(v.reason, 'duplicate messageId') and starts_with(rejected_events.reason, 'duplicate messageId'))
        and rejected_events.source_file = v.source_file and rejected_events.line_number = v.line_number
    """,
    """
    update loaded_files
    set events_loaded = events_loaded + m.n, events_rejected = events_rejected - m.n
    from (select source_file, count(*) as n from _verdicts where reason is null group by all) m
    where loaded_files.source_file = m.source_file
    """,
)


def _stage_batches(con: duckdb.DuckDBPyConnection, files: list[str]) -> None:
    """`_batches`: each batch item's `sentAt` and `context` from the `{"batch": [...]}` files still landed."""
    con.execute(
        "create or replace temp table _batches "
        "(source_file varchar, line_number bigint, batch_sent_at varchar, batch_context json)"
    )
    documents = [f for f in files if Path(f).is_file() and sniff_format(Path(f)) == FileFormat.JSON_DOCUMENT]
    for file in documents:
        # An unreadable document is quarantined whole, so none of its records are retried.
        with contextlib.suppress(*_UNREADABLE):
            con.execute(
                f"insert into _batches select source_file, line_number, batch_sent_at, batch_context "
                f"from ({_READ_DOCUMENT}) where batch_sent_at is not null or batch_context is not null",
                {"files": [file]},
            )


def retry_rejected(
    con: duckdb.DuckDBPyConnection, now: dt.datetime | None = None, file: str | None = None
) -> ReplayResult:
    """Re-validate quarantined records (all, or one file's) and load those that now pass."""
    ensure_ingestion_tables(con)
    now = _now(now)
    _settle_fast_loads(con, now)
    try:
        con.execute(_RETRYING, {"file": file})
        files = con.execute(
            "select source_file, min(rejected_at) from rejected_events "
            "where source_file in (select source_file from _retrying) group by all order by 1"
        ).fetchall()
        if not files:
            return ReplayResult(files=0, loaded=0, rejected_before=0, rejected_after=0)
        names = [name for name, _ in files]
        raw_before, rejected_before = _counts(con, names)
        con.execute(
            _RETRY_FILE_SOURCES,
            {
                "files": names,
                "sources": [source_of(Path(name)) for name in names],
                "first_rejected": [first for _, first in files],
            },
        )
        _stage_batches(con, names)
        with _utc(con):
            con.execute(f"create or replace temp table _incoming ({STAGE_COLUMNS})")
            con.execute(f"insert into _incoming {staging_select(fields_from_raw(_RETRY_LINES))}")
            con.execute(_STARTS)
            con.execute(_STAGED_VIEW)
            con.execute("begin transaction")
            try:
                con.execute(_DUPLICATES)
                con.execute(_RETRY_INSERT, {"now": now})
                con.execute(_RETRY_VERDICTS)
                for statement in _RETRY_SETTLE:
                    con.execute(statement)
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise
        raw_after, rejected_after = _counts(con, names)
    finally:
        for table in ("_retrying", "_batches", "_verdicts"):
            con.execute(f"drop table if exists {table}")
        _drop_staging(con)
    return ReplayResult(
        files=len(names),
        loaded=raw_after - raw_before,
        rejected_before=rejected_before,
        rejected_after=rejected_after,
    )
