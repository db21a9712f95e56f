"""Landing files rewritten without a person's lines, each atomically (temp file, fsync, rename).

A line is the person's when an identifier field hashes to one of theirs (see `suppression`), or, while
their values are still known, when it mentions one of them anywhere as a whole token (a property, a
broken line the loader rejected). DuckDB reads each file into a temp table (file order kept, so the row
id is the line) and writes the kept lines back with COPY, gzipped again when the file was; Parquet
files are rewritten as Parquet. A file DuckDB cannot read (truncated gzip, invalid UTF-8) is decoded by
`formats.salvage` and written back with only its readable lines. JSON documents (`{"batch": [...]}`,
arrays) are small request bodies and are filtered item by item.

Files a live collector still appends to (`.open`) cannot be rewritten: their matching lines are
counted as waiting, and a rerun of `cdp forget` finishes once the collector has sealed them.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa

from orchestration.ingestion.formats import FileFormat, is_gzip, salvage, sniff_format
from orchestration.ingestion.landing import event_files
from orchestration.privacy.matching import PersonMatcher
from orchestration.privacy.suppression import EVENT_JSON_PATHS

# One line a row, exactly as the loader's exact path reads it.
_LINE_OPTIONS = (
    "columns = {'raw': 'VARCHAR'}, header = false, delim = chr(1), quote = '', escape = '', "
    "auto_detect = false, strict_mode = true"
)
_READ_LINES = f"select raw from read_csv($file, {_LINE_OPTIONS})"
_SCAN_LINES = f"select filename, raw from read_csv($files, {_LINE_OPTIONS}, filename = true)"
# Parquet exports spell the ids in snake_case.
_PARQUET_PATHS = ("$.user_id", "$.anonymous_id", "$.previous_id")
_UNREADABLE = (duckdb.IOException, duckdb.InvalidInputException, duckdb.ConversionException)


@dataclass
class LandingResult:
    files_rewritten: int = 0
    lines_dropped: int = 0
    lines_waiting: int = 0  # in files a collector still has open
    dropped: list[tuple[str, int]] = field(default_factory=list)  # (file, line number)


def _durable_replace(tmp: Path, target: Path) -> None:
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, target)
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.forget.tmp")


def _load_lines(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """`_forget_lines(raw)` in file order; the salvaged lines when DuckDB cannot read the file."""
    try:
        con.execute(f"create or replace temp table _forget_lines as {_READ_LINES}", {"file": str(path)})
    except _UNREADABLE:
        lines = salvage(path).lines
        con.register("_forget_salvaged", pa.table({"raw": pa.array(lines, pa.string())}))
        try:
            con.execute("create or replace temp table _forget_lines as select raw from _forget_salvaged")
        finally:
            con.unregister("_forget_salvaged")


Rewrite = tuple[list[int], Path | None]  # dropped line numbers, and the new file written beside it


def _candidates(con: duckdb.DuckDBPyConnection, files: list[Path], matcher: PersonMatcher) -> list[Path]:
    """The JSON-lines files holding at least one of the person's lines, in one scan over all of them.

    Only those are read into a table and rewritten; a file DuckDB cannot read makes every file a
    candidate, each then read on its own (and salvaged if need be).
    """
    if not files:
        return []
    where = matcher.text_sql("raw")
    try:
        found = con.execute(
            f"select distinct filename from ({_SCAN_LINES}) where {where}",
            {"files": [str(f) for f in files], **matcher.used(where)},
        ).fetchall()
    except _UNREADABLE:
        return files
    hits = {name for (name,) in found}
    return [f for f in files if str(f) in hits]


def _rewrite_json_lines(con: duckdb.DuckDBPyConnection, path: Path, matcher: PersonMatcher) -> Rewrite:
    _load_lines(con, path)
    where = matcher.text_sql("raw")
    (dropped,) = con.execute(
        f"select coalesce(list(rowid + 1 order by rowid), []) from _forget_lines where {where}",
        matcher.used(where),
    ).fetchone()
    if dropped:
        tmp = _temp_path(path)
        compression = ", compression gzip" if is_gzip(path) else ""
        con.execute(
            f"copy (select raw from _forget_lines where not list_contains($dropped, rowid + 1) order by rowid) "
            f"to '{_sql_path(tmp)}' (format csv, header false, quote '', escape '', delimiter chr(1){compression})",
            {"dropped": dropped},
        )
    con.execute("drop table if exists _forget_lines")
    return list(dropped), tmp if dropped else None


def _rewrite_parquet(con: duckdb.DuckDBPyConnection, path: Path, matcher: PersonMatcher) -> Rewrite:
    con.execute(
        "create or replace temp table _forget_rows as select * from read_parquet($file)", {"file": str(path)}
    )
    where = matcher.text_sql("to_json(_forget_rows)::varchar", EVENT_JSON_PATHS + _PARQUET_PATHS)
    (dropped,) = con.execute(
        f"select coalesce(list(rowid + 1 order by rowid), []) from _forget_rows where {where}",
        matcher.used(where),
    ).fetchone()
    if dropped:
        tmp = _temp_path(path)
        con.execute(
            "copy (select * from _forget_rows where not list_contains($dropped, rowid + 1) order by rowid) "
            f"to '{_sql_path(tmp)}' (format parquet)",
            {"dropped": dropped},
        )
    con.execute("drop table if exists _forget_rows")
    return list(dropped), tmp if dropped else None


def _rewrite_document(path: Path, matcher: PersonMatcher) -> Rewrite:
    """A `{"batch": [...]}` body, an array of events, or one event: the person's items left out."""
    zipped = is_gzip(path)
    data = gzip.decompress(path.read_bytes()) if zipped else path.read_bytes()
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("batch"), list):
        items, wrap = document["batch"], lambda kept: {**document, "batch": kept}
    elif isinstance(document, list):
        items, wrap = document, lambda kept: kept
    else:
        # One event (or text that is not JSON): the whole file is one record.
        if not matcher.matches_event(document, data.decode("utf-8", "replace")):
            return [], None
        tmp = _temp_path(path)
        tmp.write_bytes(gzip.compress(b"") if zipped else b"")
        return [1], tmp
    dropped = [
        n for n, item in enumerate(items, 1) if matcher.matches_event(item, orjson.dumps(item).decode())
    ]
    if dropped:
        drop = set(dropped)
        kept = [item for n, item in enumerate(items, 1) if n not in drop]
        out = orjson.dumps(wrap(kept))
        tmp = _temp_path(path)
        tmp.write_bytes(gzip.compress(out) if zipped else out)
        return dropped, tmp
    return [], None


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _open_segment_matches(con: duckdb.DuckDBPyConnection, landing: Path, matcher: PersonMatcher) -> int:
    waiting = 0
    for path in sorted(landing.glob("*/*/.collector-*.open")):
        try:
            _load_lines(con, path)
        except FileNotFoundError:
            continue  # sealed meanwhile: the sealed file is rewritten by the rerun
        where = matcher.text_sql("raw")
        (found,) = con.execute(
            f"select count(*) from _forget_lines where {where}", matcher.used(where)
        ).fetchone()
        waiting += found
    con.execute("drop table if exists _forget_lines")
    return waiting


def rewrite_landing(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    matcher: PersonMatcher,
    journal: Callable[[Path, list[int]], None],
) -> LandingResult:
    """Rewrite every landing file holding the person's lines; the dropped lines by file.

    `journal(path, dropped)` records the lines durably before the new file replaces the old one, so an
    interruption between the two is finished by a rerun.
    """
    result = LandingResult()
    if not landing.is_dir():
        return result
    by_format: dict[FileFormat, list[Path]] = {fmt: [] for fmt in FileFormat}
    for path in event_files([landing]):
        by_format[sniff_format(path)].append(path)
    lines = set(_candidates(con, by_format[FileFormat.JSON_LINES], matcher))
    for path in sorted({*lines, *by_format[FileFormat.PARQUET], *by_format[FileFormat.JSON_DOCUMENT]}):
        if path in lines:
            dropped, tmp = _rewrite_json_lines(con, path, matcher)
        elif path in by_format[FileFormat.PARQUET]:
            dropped, tmp = _rewrite_parquet(con, path, matcher)
        else:
            dropped, tmp = _rewrite_document(path, matcher)
        if tmp is not None:
            journal(path, dropped)
            _durable_replace(tmp, path)
            result.files_rewritten += 1
            result.lines_dropped += len(dropped)
            result.dropped.extend((str(path), n) for n in dropped)
    result.lines_waiting = _open_segment_matches(con, landing, matcher)
    return result
