"""The suppression list: salted hashes of the identifiers of people who asked never to be tracked again.

Only hashes are kept, never the values: `sha256(salt || lower(trim(value)))`, so an email matches
whatever its case and padding. The salt is random per warehouse (`privacy_salt`), so the list is useless
for looking people up elsewhere. The identifiers an event is checked by are the ones that name a person
(user id, anonymous id, alias previous id, the emails of traits / context.traits / properties); device
ids are left out on purpose, because a shared family tablet would suppress the whole family.

Two places apply the list:

- the loader (`apply_suppression`), set-based after each load: rows of files not yet checked that carry
  a suppressed identifier move from `raw_events` to `rejected_events` with reason `suppressed` and no raw
  text (keeping it would keep the person's data);
- the collector (`SuppressionList`), which reads `CDP_HOME/suppressed_identifiers.json` because it never
  opens the warehouse.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import orjson

log = logging.getLogger(__name__)

SUPPRESSION_FILE = "suppressed_identifiers.json"
SUPPRESSED_REASON = "suppressed"

PRIVACY_DDL = (
    "create table if not exists privacy_salt (salt varchar not null)",
    """
    create table if not exists suppressed_identifiers (
        id_hash varchar primary key,
        request_id varchar,
        suppressed_at timestamp not null
    )
    """,
    # Loaded files already checked against the list, so each load checks only its own rows.
    "create table if not exists suppression_checked_files (source_file varchar primary key)",
)

# Where an event names a person, as JSON paths (raw text) and as raw_events columns.
EVENT_JSON_PATHS = (
    "$.userId",
    "$.anonymousId",
    "$.previousId",
    "$.traits.email",
    "$.context.traits.email",
    "$.properties.email",
)
RAW_EVENTS_IDENTIFIERS = (
    "user_id",
    "anonymous_id",
    "previous_id",
    "traits ->> '$.email'",
    "context ->> '$.traits.email'",
    "properties ->> '$.email'",
)


def normalise(value: object) -> str:
    return str(value).strip().lower()


def identifier_hash(salt: str, value: object) -> str:
    return hashlib.sha256((salt + normalise(value)).encode()).hexdigest()


def hash_sql(salt: str, expression: str) -> str:
    """SQL for the hash of a value, equal to `identifier_hash` (the salt is hex: safe as a literal)."""
    if not all(c in "0123456789abcdef" for c in salt):
        raise ValueError("the privacy salt must be lower-case hex")
    return f"sha256('{salt}' || lower(trim(cast({expression} as varchar))))"


def raw_events_hashes_sql(salt: str) -> str:
    """A list of the identifier hashes of a `raw_events` row (nulls where a field is absent)."""
    return "[" + ", ".join(hash_sql(salt, column) for column in RAW_EVENTS_IDENTIFIERS) + "]"


# Characters that continue an identifier: a mention must not have one right before or after it, so
# "carol@example.com" is not found inside "xcarol@example.com", nor "u-42" inside "u-420".
_ID_CHARS = "[^a-z0-9._%+@-]"


def mention_pattern(values: Iterable[str]) -> str | None:
    """A regular expression (RE2 and Python, used case-insensitively) finding any of `values` as a whole
    token."""
    escaped = sorted({re.escape(normalise(v)) for v in values if normalise(v)}, key=len, reverse=True)
    if not escaped:
        return None
    return f"(^|{_ID_CHARS})({'|'.join(escaped)})($|{_ID_CHARS})"


def ensure_privacy_tables(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in PRIVACY_DDL:
        con.execute(ddl)


def privacy_salt(con: duckdb.DuckDBPyConnection) -> str:
    """This warehouse's salt, created on first use."""
    ensure_privacy_tables(con)
    found = con.execute("select salt from privacy_salt limit 1").fetchone()
    if found:
        return found[0]
    salt = secrets.token_hex(16)
    con.execute("insert into privacy_salt values (?)", [salt])
    return salt


def suppressed_hashes(con: duckdb.DuckDBPyConnection) -> list[str]:
    ensure_privacy_tables(con)
    return [h for (h,) in con.execute("select id_hash from suppressed_identifiers").fetchall()]


def suppress(con: duckdb.DuckDBPyConnection, hashes: Iterable[str], request_id: str) -> int:
    """Add hashes to the list; the files loaded so far count as checked (forget deleted their rows)."""
    ensure_privacy_tables(con)
    new = sorted(set(hashes))
    before = con.execute("select count(*) from suppressed_identifiers").fetchone()[0]
    con.execute(
        "insert or ignore into suppressed_identifiers select unnest($hashes), $request, $now",
        {"hashes": new, "request": request_id, "now": _now()},
    )
    return con.execute("select count(*) from suppressed_identifiers").fetchone()[0] - before


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def apply_suppression(con: duckdb.DuckDBPyConnection, now: dt.datetime | None = None) -> int:
    """Move rows of newly loaded files that carry a suppressed identifier to `rejected_events`.

    Keeps `loaded_files` counts equal to what each file put where. Costs nothing while the list is
    empty; otherwise one pass over the rows of files not checked yet.
    """
    # duckdb_tables(), not information_schema: this runs on every load (~1 ms rather than ~7 ms).
    (listed,) = con.execute(
        "select count(*) from duckdb_tables() where table_name = 'suppressed_identifiers' and schema_name = 'main'"
    ).fetchone()
    if not listed:
        return 0  # never used: leave the warehouse as it is
    hashes = suppressed_hashes(con)
    if not hashes:
        return 0
    # Listed first: with the files as a subquery, DuckDB hashes every row before filtering on them.
    files = [
        f
        for (f,) in con.execute(
            "select source_file from loaded_files anti join suppression_checked_files using (source_file) "
            "where events_rejected is not null"  # a fast load not settled yet is checked after settling
        ).fetchall()
    ]
    if not files:
        return 0
    salt = privacy_salt(con)
    params = {"hashes": hashes, "now": now or _now()}
    con.execute("begin transaction")
    try:
        con.execute(
            f"""
            create or replace temp table _suppressed_rows as
            select rid, source_file, line_number, list_intersect(hashes, $hashes)[1] as id_hash
            from (
                select rowid as rid, source_file, line_number, {raw_events_hashes_sql(salt)} as hashes
                from raw_events
                where source_file in (select unnest($files))
            )
            where list_has_any(hashes, $hashes)
            """,
            {"hashes": hashes, "files": files},
        )
        con.execute(
            f"""
            insert into rejected_events (raw, reason, source_file, line_number, rejected_at)
            select null, '{SUPPRESSED_REASON}: identifier hash ' || id_hash || ' is on the suppression list',
                source_file, line_number, $now
            from _suppressed_rows
            """,
            {"now": params["now"]},
        )
        con.execute("delete from raw_events where rowid in (select rid from _suppressed_rows)")
        con.execute(
            """
            update loaded_files
            set events_loaded = events_loaded - s.moved, events_rejected = coalesce(events_rejected, 0) + s.moved
            from (select source_file, count(*) as moved from _suppressed_rows group by all) s
            where loaded_files.source_file = s.source_file
            """
        )
        con.execute("insert or ignore into suppression_checked_files select unnest(?::varchar[])", [files])
        (moved,) = con.execute("select count(*) from _suppressed_rows").fetchone()
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.execute("drop table if exists _suppressed_rows")
    return int(moved)


def mark_files_checked(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "insert or ignore into suppression_checked_files select source_file from loaded_files "
        "where events_rejected is not null"  # a fast load not settled yet is checked after settling
    )


def write_suppression_file(con: duckdb.DuckDBPyConnection, home: Path) -> Path:
    """Publish the salt and hashes for the collector, atomically (temp file, fsync, rename)."""
    path = home / SUPPRESSION_FILE
    data = orjson.dumps({"salt": privacy_salt(con), "hashes": sorted(suppressed_hashes(con))})
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return path


def event_values(event: Mapping[str, Any]) -> list[object]:
    """The identifier values of a Segment event (`EVENT_JSON_PATHS`), as sent."""
    values: list[object] = [event.get("userId"), event.get("anonymousId"), event.get("previousId")]
    context = event.get("context")
    for holder in (
        event.get("traits"),
        context.get("traits") if isinstance(context, Mapping) else None,
        event.get("properties"),
    ):
        values.append(holder.get("email") if isinstance(holder, Mapping) else None)
    return [v for v in values if v is not None and not isinstance(v, dict | list)]


class SuppressionList:
    """The collector's view of the list: re-read when the file changes (checked at most once a second)."""

    def __init__(self, path: Path, check_every: float = 1.0) -> None:
        self.path = path
        self.check_every = check_every
        self._salt = ""
        self._hashes: frozenset[str] = frozenset()
        self._stamp: tuple[int, int] | None = None
        self._checked = float("-inf")
        self._lock = threading.Lock()
        self._refresh()

    @classmethod
    def in_home(cls, home: Path) -> SuppressionList:
        return cls(home / SUPPRESSION_FILE)

    def _refresh(self) -> None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._salt, self._hashes, self._stamp = "", frozenset(), None
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        try:
            data = orjson.loads(self.path.read_bytes())
            salt, hashes = str(data["salt"]), frozenset(data["hashes"])
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
            # Written atomically, so this is a hand-edited file: keep the last good list, say so once.
            log.warning("%s is not a valid suppression list; keeping the previous one", self.path)
            self._stamp = stamp
            return
        self._salt, self._hashes, self._stamp = salt, hashes, stamp

    def _current(self) -> tuple[str, frozenset[str]]:
        if time.monotonic() - self._checked >= self.check_every:
            with self._lock:
                if time.monotonic() - self._checked >= self.check_every:
                    self._refresh()
                    self._checked = time.monotonic()
        return self._salt, self._hashes

    def matches(self, event: Mapping[str, Any]) -> bool:
        salt, hashes = self._current()
        if not hashes:
            return False
        return any(identifier_hash(salt, value) in hashes for value in event_values(event))
