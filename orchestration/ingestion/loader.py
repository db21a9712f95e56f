"""Set-based loading of landed event files into `raw_events`, with every bad line quarantined.

All work is SQL inside DuckDB: the files are read as lines, parsed and validated in one statement,
and split into accepted and rejected rows. Python only lists files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.ingestion.landing import source_of
from orchestration.ingestion.schema import ensure_ingestion_tables

MAX_EVENT_BYTES = 32 * 1024
# Events stamped further ahead than this are kept but flagged, not trusted.
FUTURE_TOLERANCE = "1 day"
SEGMENT_TYPES = ("track", "identify", "page", "screen", "group", "alias")


@dataclass(frozen=True)
class LoadResult:
    files: int
    accepted: int
    rejected: int


_PARSE_SQL = f"""
create or replace temp table _incoming as
with lines as (
    select
        filename as source_file,
        row_number() over (partition by filename) as line_number,
        raw
    from read_csv(
        $files, columns = {{'raw': 'VARCHAR'}}, header = false, delim = chr(1), quote = '', escape = '',
        auto_detect = false, filename = true, strict_mode = false, null_padding = true
    )
),
parsed as (
    select
        *,
        json_valid(raw) as is_json,
        case when json_valid(raw) then raw::json end as j
    from lines
),
fields as (
    select
        source_file,
        line_number,
        raw,
        is_json,
        j,
        j ->> 'messageId' as message_id,
        lower(j ->> 'type') as type,
        j ->> 'event' as event,
        j ->> 'name' as name,
        nullif(trim(coalesce(j ->> 'userId', j ->> 'user_id')), '') as user_id,
        nullif(trim(coalesce(j ->> 'anonymousId', j ->> 'anonymous_id')), '') as anonymous_id,
        nullif(trim(j ->> 'previousId'), '') as previous_id,
        nullif(trim(j ->> 'groupId'), '') as group_id,
        timezone('UTC', try_cast(j ->> 'timestamp' as timestamptz)) as ts,
        timezone('UTC', try_cast(j ->> 'originalTimestamp' as timestamptz)) as original_ts,
        timezone('UTC', try_cast(j ->> 'sentAt' as timestamptz)) as sent_at,
        timezone('UTC', try_cast(j ->> 'receivedAt' as timestamptz)) as received_at,
        j -> 'properties' as properties,
        j -> 'traits' as traits,
        j -> 'context' as context
    from parsed
),
checked as (
    select
        *,
        case
            when raw is null or trim(raw) = '' then 'empty line'
            when strlen(raw) > {MAX_EVENT_BYTES} then 'event larger than 32 KB'
            when not is_json then 'not valid JSON'
            when json_type(j) <> 'OBJECT' then 'not a JSON object'
            when message_id is null then 'missing messageId'
            when type is null then 'missing type'
            when type not in {SEGMENT_TYPES} then 'unknown type ' || type
            when user_id is null and anonymous_id is null then 'missing userId and anonymousId'
            when type = 'track' and nullif(trim(event), '') is null then 'track without event'
            when type = 'alias' and previous_id is null then 'alias without previousId'
            when type = 'group' and group_id is null then 'group without groupId'
            when coalesce(ts, original_ts, received_at) is null then 'missing or unparseable timestamp'
        end as reason
    from fields
)
select * from checked
"""

_DEDUP_SQL = """
create or replace temp table _incoming_ranked as
select
    *,
    case
        when reason is null and (
            row_number() over (partition by message_id order by source_file, line_number) > 1
            or message_id in (select message_id from raw_events)
        ) then 'duplicate messageId (already loaded)'
        else reason
    end as final_reason
from _incoming
"""

_INSERT_ACCEPTED_SQL = f"""
insert into raw_events
select
    message_id,
    type,
    event,
    name,
    user_id,
    anonymous_id,
    previous_id,
    group_id,
    -- Segment's clock-skew correction: trust the server's receivedAt, shifted by the device's send delay.
    case
        when sent_at is not null and received_at is not null and coalesce(original_ts, ts) is not null
            then received_at - (sent_at - coalesce(original_ts, ts))
        else coalesce(ts, original_ts, received_at)
    end as "timestamp",
    original_ts,
    sent_at,
    received_at,
    properties,
    traits,
    context,
    file_sources.source,
    $partition_date as event_date,
    coalesce(ts, original_ts, received_at) > now()::timestamp + interval '{FUTURE_TOLERANCE}',
    source_file,
    line_number,
    $loaded_at
from _incoming_ranked
join file_sources using (source_file)
where final_reason is null
"""

_INSERT_REJECTED_SQL = """
insert into rejected_events
select raw, final_reason, source_file, line_number, $loaded_at
from _incoming_ranked
where final_reason is not null and not (final_reason = 'empty line' and coalesce(raw, '') = '')
"""


def load_files(con: duckdb.DuckDBPyConnection, files: list[Path], partition_date: dt.date) -> LoadResult:
    """Load files not loaded before; accepted rows go to `raw_events`, bad ones to `rejected_events`.

    One transaction per call: an interrupted load leaves nothing behind and is simply run again.
    """
    ensure_ingestion_tables(con)
    done = {row[0] for row in con.execute("select source_file from loaded_files").fetchall()}
    todo = [str(f) for f in files if str(f) not in done]
    if not todo:
        return LoadResult(files=0, accepted=0, rejected=0)
    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    sources = [source_of(Path(f)) for f in todo]
    con.execute("begin transaction")
    try:
        con.execute(_PARSE_SQL, {"files": todo})
        con.execute(_DEDUP_SQL)
        con.execute(
            "create or replace temp table file_sources as "
            "select unnest($files) as source_file, unnest($sources) as source",
            {"files": todo, "sources": sources},
        )
        con.execute(
            _INSERT_ACCEPTED_SQL,
            {"partition_date": partition_date, "loaded_at": loaded_at},
        )
        con.execute(_INSERT_REJECTED_SQL, {"loaded_at": loaded_at})
        con.execute(
            """
            insert into loaded_files
            select source_file, $partition_date, null,
                count(*) filter (where final_reason is null),
                count(*) filter (where final_reason is not null and coalesce(raw, '') <> ''),
                $loaded_at
            from _incoming_ranked group by source_file
            """,
            {"partition_date": partition_date, "loaded_at": loaded_at},
        )
        accepted, rejected = con.execute(
            "select count(*) filter (where final_reason is null), "
            "count(*) filter (where final_reason is not null and coalesce(raw, '') <> '') from _incoming_ranked"
        ).fetchone()
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return LoadResult(files=len(todo), accepted=accepted, rejected=rejected)
