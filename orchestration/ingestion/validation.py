"""Segment-spec validation as SQL: one staged row per record, with a reason a person understands when bad.

Two paths share the rules:

- `FAST_PATH_SELECT`: DuckDB's JSON reader parses clean files with typed columns. It only accepts; the
  first line it cannot accept (bad JSON, wrong type, missing id, duplicate...) raises, and the file
  takes the exact path instead. Most files are clean, so most events never pay for the exact path.
- `staging_select(fields_from_raw(lines))`: every record as raw text with its line number, each
  field's JSON text extracted (`f_<field>`), every rule a column expression giving a reason a person
  understands. A value's JSON kind is read from its first character, exact for valid JSON.
"""

from __future__ import annotations

from orchestration.ingestion.formats import INVALID_BYTE_MARK

MAX_EVENT_BYTES = 32 * 1024
# Events stamped further ahead than this are kept but flagged, and their timestamp is not trusted.
FUTURE_TOLERANCE = "1 day"
SEGMENT_TYPES = ("track", "identify", "page", "screen", "group", "alias")

FIELDS = (
    "messageId",
    "type",
    "event",
    "name",
    "userId",
    "anonymousId",
    "previousId",
    "groupId",
    "timestamp",
    "originalTimestamp",
    "sentAt",
    "receivedAt",
    "properties",
    "traits",
    "context",
)
# Not `type not in (...)`: DuckDB plans a list of six as a join, and a join loses the file order that
# line numbers are counted in.
_UNKNOWN_TYPE = "case type " + " ".join(f"when '{t}' then false" for t in SEGMENT_TYPES) + " else true end"
_AT = {field: i + 1 for i, field in enumerate(FIELDS)}
_PATHS = "[" + ", ".join(f"'$.\"{f}\"'" for f in FIELDS) + "]"
_KIND_NAMES = """case {k} when '"' then 'a string' when '{{' then 'an object' when '[' then 'an array'
    when 't' then 'a boolean' when 'f' then 'a boolean' else 'a number' end"""


def _kind(field: str) -> str:
    """The JSON kind of a field as its first character: '"', '{', '[', 't', 'f', 'n', a digit, or null."""
    return f"left(f_{field}, 1)"


def _string(field: str) -> str:
    return f"(f_{field} ->> '$')"


def _text(field: str) -> str:
    # Kept as sent; an empty or blank string counts as absent, as Segment treats it.
    return f"case when trim({_string(field)}) <> '' then {_string(field)} end"


def _present(field: str) -> str:
    return f"coalesce(k_{field}, 'n') <> 'n'"


def _not_kind(field: str, allowed: str, expected: str) -> str:
    """A reason when the field is present with a kind not in `allowed` (a string of first characters)."""
    kind = f"k_{field}"
    got = _KIND_NAMES.format(k=kind)
    allowed_list = ", ".join(f"'{c}'" for c in allowed)
    numbers = "or regexp_matches(" + kind + ", '[-0-9]')" if "0" in allowed else ""
    return (
        f"when {_present(field)} and not ({kind} in ({allowed_list}) {numbers}) "
        f"then '''{field}'' must be {expected}, got ' || {got}"
    )


def _bad_time(field: str, column: str) -> str:
    return (
        f"when {_present(field)} and (k_{field} <> '\"' or {column} is null) "
        f"then '''{field}'' is not an ISO-8601 date-time: ' || left(f_{field}, 60)"
    )


STAGE_COLUMNS = """
    source_file varchar,
    line_number bigint,
    raw varchar,
    blank boolean,
    message_id varchar,
    type varchar,
    event varchar,
    name varchar,
    user_id varchar,
    anonymous_id varchar,
    previous_id varchar,
    group_id varchar,
    "timestamp" timestamp,
    original_timestamp timestamp,
    sent_at timestamp,
    received_at timestamp,
    properties json,
    traits json,
    context json,
    reason varchar
"""

_REASON = f"""
    case
        when blank then null
        when repaired and contains(raw, '{INVALID_BYTE_MARK}')
            then 'not valid UTF-8 (the invalid bytes are shown as U+FFFD)'
        when raw_bytes > {MAX_EVENT_BYTES}
            then 'event is ' || raw_bytes || ' bytes, over the Segment limit of 32 KB ({MAX_EVENT_BYTES} bytes)'
        when not is_json then 'not valid JSON (a broken, truncated or multi-line record)'
        when not is_object
            then 'not a JSON object: an event must be {{...}}, this line is ' || {_KIND_NAMES.format(k="left(ltrim(raw, ' ' || chr(9) || chr(13)), 1)")}
        when not {_present("type")} then 'missing ''type'' (one of {", ".join(SEGMENT_TYPES)})'
        {_not_kind("type", '"', "a string")}
        when {_UNKNOWN_TYPE}
            then 'unknown type ''' || coalesce(left(type, 40), '') || ''' (expected one of {", ".join(SEGMENT_TYPES)})'
        {_not_kind("messageId", '"0', "a string")}
        {_not_kind("userId", '"0', "a string or a number")}
        {_not_kind("anonymousId", '"0', "a string or a number")}
        when user_id is null and anonymous_id is null
            then 'neither ''userId'' nor ''anonymousId'' is set; every event needs one'
        {_not_kind("event", '"', "a string")}
        when type = 'track' and event is null then 'track call without an ''event'' name'
        {_not_kind("previousId", '"0', "a string or a number")}
        when type = 'alias' and previous_id is null then 'alias call without ''previousId'''
        {_not_kind("groupId", '"0', "a string or a number")}
        when type = 'group' and group_id is null then 'group call without ''groupId'''
        {_not_kind("name", '"', "a string")}
        {_bad_time("timestamp", "ts")}
        {_bad_time("originalTimestamp", "original_ts")}
        when {_present("sentAt")} and (k_sentAt <> '"' or sent_at_raw is null)
            then '''sentAt'' is not an ISO-8601 date-time: ' || left(f_sentAt, 60)
        when batch_sent_at is not null and k_sentAt is null and sent_at is null
            then 'the batch''s ''sentAt'' is not an ISO-8601 date-time: ' || left(batch_sent_at, 60)
        {_bad_time("receivedAt", "received_at")}
        {_not_kind("properties", "{", "an object")}
        {_not_kind("traits", "{", "an object")}
        {_not_kind("context", "{", "an object")}
        when coalesce(ts, original_ts, received_at) is null
            then 'no ''timestamp'', ''originalTimestamp'' or ''receivedAt'' to date the event'
    end
"""


def fields_from_raw(lines_sql: str) -> str:
    """A fields relation from raw text records (`source_file, line_number, raw, repaired, batch_...`)."""
    columns = ",\n        ".join(f"j[{_AT[f]}] as f_{f}" for f in FIELDS)
    return f"""
with lines as ({lines_sql}),
parsed as (
    select
        *,
        strlen(raw) as raw_bytes,
        case
            when strlen(raw) <= {MAX_EVENT_BYTES} and not (repaired and contains(raw, '{INVALID_BYTE_MARK}'))
                then try(json_extract(raw, {_PATHS}))
        end as j
    from lines
)
select
    source_file, line_number, raw, raw_bytes, repaired, batch_sent_at, batch_context,
    j is not null as is_json,
    starts_with(ltrim(raw, ' ' || chr(9) || chr(13)), '{{') as is_object,
    {columns}
from parsed
"""


def staging_select(fields_sql: str) -> str:
    """A SELECT producing `STAGE_COLUMNS` rows from a fields relation given as SQL."""
    kinds = ",\n        ".join(f"{_kind(f)} as k_{f}" for f in FIELDS)
    return f"""
with fields_in as ({fields_sql}),
kinds as (
    select
        *,
        raw is null and not is_json or coalesce(trim(raw, ' ' || chr(9) || chr(13)) = '', false) as blank,
        {kinds}
    from fields_in
),
fields as (
    select
        source_file,
        line_number,
        raw,
        repaired,
        blank,
        raw_bytes,
        is_json,
        is_object,
        batch_sent_at,
        batch_context,
        f_timestamp, f_originalTimestamp, f_sentAt, f_receivedAt,
        k_type, k_messageId, k_userId, k_anonymousId, k_event, k_previousId, k_groupId, k_name,
        k_timestamp, k_originalTimestamp, k_sentAt, k_receivedAt, k_properties, k_traits, k_context,
        -- Without a messageId the record's own content identifies it, so reloading it adds nothing.
        coalesce(
            {_text("messageId")},
            'md5-' || md5(coalesce(raw, concat_ws(chr(31), {", ".join(f"f_{f}" for f in FIELDS)})))
        ) as message_id,
        lower({_text("type")}) as type,
        {_text("event")} as event,
        {_string("name")} as name,
        {_text("userId")} as user_id,
        {_text("anonymousId")} as anonymous_id,
        {_text("previousId")} as previous_id,
        {_text("groupId")} as group_id,
        timezone('UTC', try_cast({_string("timestamp")} as timestamptz)) as ts,
        timezone('UTC', try_cast({_string("originalTimestamp")} as timestamptz)) as original_ts,
        timezone('UTC', try_cast({_string("sentAt")} as timestamptz)) as sent_at_raw,
        timezone('UTC', try_cast(coalesce({_string("sentAt")}, batch_sent_at) as timestamptz)) as sent_at,
        timezone('UTC', try_cast({_string("receivedAt")} as timestamptz)) as received_at,
        f_properties as properties,
        f_traits as traits,
        coalesce(f_context, batch_context) as context
    from kinds
),
checked as (
    select *, {_REASON} as reason from fields
)
select
    source_file,
    line_number,
    raw,
    blank,
    message_id,
    type,
    event,
    name,
    user_id,
    anonymous_id,
    previous_id,
    group_id,
    ts,
    original_ts,
    sent_at,
    received_at,
    case when k_properties = '{{' then properties end as properties,
    case when k_traits = '{{' then traits end as traits,
    case when k_context = '{{' or batch_context is not null then context end as context,
    reason
from checked
"""


_TYPED_COLUMNS = (
    "{messageId: 'VARCHAR', type: 'VARCHAR', event: 'VARCHAR', name: 'VARCHAR', userId: 'VARCHAR', "
    "anonymousId: 'VARCHAR', previousId: 'VARCHAR', groupId: 'VARCHAR', timestamp: 'TIMESTAMPTZ', "
    "originalTimestamp: 'TIMESTAMPTZ', sentAt: 'TIMESTAMPTZ', receivedAt: 'TIMESTAMPTZ', "
    "properties: 'JSON', traits: 'JSON', context: 'JSON'}"
)
_STRING_FIELDS = ("messageId", "type", "event", "name", "userId", "anonymousId", "previousId", "groupId")
_JSON_FIELDS = ("properties", "traits", "context")

_APPROX_BYTES = " + ".join(f'coalesce(strlen("{f}"), 0)' for f in _STRING_FIELDS + _JSON_FIELDS)
# Range comparisons on the first character are what DuckDB does fastest (they use the string prefix):
# an id or name that is empty or starts with whitespace or a control character (below '!'), or that
# is a JSON object or array read as text (starts with '{' or '['), and a JSON field that is not an
# object (does not start with '{').
_ODD_STRING = " or ".join(
    f"\"{f}\" < '!' or (\"{f}\" >= '[' and \"{f}\" < '\\') or (\"{f}\" >= '{{' and \"{f}\" < '|')"
    for f in _STRING_FIELDS
)
# A boolean read as text ('true', 'false'), and for string-only fields a number read as text (starts
# with a digit or '-'): the JSON kind is lost, so the exact path decides (a real string passes there).
_MAYBE_NOT_STRING = " or ".join(
    [f"\"{f}\" = 'true' or \"{f}\" = 'false'" for f in _STRING_FIELDS]
    + [f"({f} >= '-' and {f} < '.') or ({f} >= '0' and {f} < ':')" for f in ("event", "name")]
)
_NOT_OBJECT = " or ".join(f"{f}::varchar < '{{' or {f}::varchar >= '|'" for f in _JSON_FIELDS)

# The fast path accepts a record only when the exact path would, and stores it exactly as the exact
# path would; anything else raises (`error()`), which sends the file to the exact path. No values go
# into the message (no PII in logs).
FAST_PATH_SELECT = f"""
with events as (
    select * from read_ndjson(
        $files, columns = {_TYPED_COLUMNS}, filename = true, maximum_object_size = 67108864
    )
)
select
    filename as source_file,
    "messageId" as message_id,
    type,
    event,
    name,
    "userId" as user_id,
    "anonymousId" as anonymous_id,
    "previousId" as previous_id,
    "groupId" as group_id,
    timezone('UTC', "timestamp") as "timestamp",
    timezone('UTC', "originalTimestamp") as original_timestamp,
    timezone('UTC', "sentAt") as sent_at,
    timezone('UTC', "receivedAt") as received_at,
    properties,
    traits,
    context
from events
where case
    when "messageId" is null
        or {_UNKNOWN_TYPE}
        or ("userId" is null and "anonymousId" is null)
        or (type = 'track' and event is null)
        or (type = 'alias' and "previousId" is null)
        or (type = 'group' and "groupId" is null)
        or coalesce({_ODD_STRING}, false)
        or coalesce({_MAYBE_NOT_STRING}, false)
        or coalesce({_NOT_OBJECT}, false)
        or coalesce("timestamp", "originalTimestamp", "receivedAt") is null
        or {_APPROX_BYTES} + 300 > {MAX_EVENT_BYTES}
        then error('a record needs the exact path')
    else true
end
"""


# Clock-skew correction as Segment does it, then distrust of far-future stamps (see `FUTURE_TOLERANCE`).
CORRECTED_TIMESTAMP = """
    case
        when sent_at is not null and received_at is not null and coalesce(original_timestamp, "timestamp") is not null
            then received_at - (sent_at - coalesce(original_timestamp, "timestamp"))
        else coalesce("timestamp", original_timestamp, received_at)
    end
"""
