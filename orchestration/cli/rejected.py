"""`cdp rejected`: the quarantine (rejected_events), by reason and record, and `--retry` after a loader fix."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from orchestration.cli.app import app

console = Console()

# A reason without the parts that vary (values, numbers, the place a duplicate was first seen), so
# records rejected for the same rule count together.
REASON_KIND = """
regexp_replace(
    regexp_replace(
        split_part(regexp_replace(reason, ' \\([^)]*\\)', '', 'g'), ': ', 1),
        '[0-9]+', 'N', 'g'
    ),
    '^unknown type ''.*''$', 'unknown type'
)
"""

_MATCHING = """
from rejected_events
where ($file::varchar is null or source_file = $file::varchar or source_file like '%/' || $file::varchar)
    and ($reason::varchar is null or contains(reason, $reason::varchar))
"""


@contextlib.contextmanager
def warehouse_connection(read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse, or a one-line error and exit 1 (none yet, or another process holds it)."""
    from orchestration.ingestion.schema import ensure_ingestion_tables
    from orchestration.settings import warehouse_path
    from orchestration.warehouse import connect_warehouse

    path = warehouse_path()
    if read_only and not path.exists():
        typer.echo(f"No warehouse at {path} yet: run `cdp ingest` or `cdp demo` first.", err=True)
        raise typer.Exit(1)
    try:
        con = connect_warehouse(path, read_only=read_only)
    except duckdb.IOException as error:
        typer.echo(f"cannot open the warehouse {path}: {str(error).splitlines()[0]}", err=True)
        raise typer.Exit(1) from error
    try:
        if not read_only:
            ensure_ingestion_tables(con)
        yield con
    finally:
        con.close()


def _has_quarantine(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_name = 'rejected_events'"
        ).fetchone()[0]
    )


@app.command()
def rejected(
    retry: bool = typer.Option(
        False, "--retry", help="Re-validate the records with the current loader; load those that now pass."
    ),
    file: str = typer.Option(None, "--file", help="Only records from this file (landed path or file name)."),
    reason: str = typer.Option(None, "--reason", help="Only records whose reason contains this text."),
    limit: int = typer.Option(20, help="Records listed, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (counts by reason and the records)."),
) -> None:
    """Show quarantined records (reason, file, line; counts by reason), or retry them after a fix."""
    if retry:
        _retry(file, as_json)
        return
    params = {"file": file, "reason": reason}
    with warehouse_connection(read_only=True) as con:
        if not _has_quarantine(con):
            typer.echo("No rejected_events table yet: nothing has been loaded.", err=True)
            raise typer.Exit(1)
        (total,) = con.execute(f"select count(*) {_MATCHING}", params).fetchone()
        kinds = con.execute(
            f"select {REASON_KIND} as kind, count(*) as records, count(distinct source_file) as files "
            f"{_MATCHING} group by kind order by records desc, kind",
            params,
        ).fetchall()
        records = con.execute(
            f"select source_file, line_number, reason, raw, rejected_at {_MATCHING} "
            "order by rejected_at desc, source_file, line_number limit $limit",
            {**params, "limit": limit},
        ).fetchall()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "total": total,
                    "by_reason": [{"reason": k, "records": n, "files": f} for k, n, f in kinds],
                    "records": [
                        {"source_file": s, "line_number": ln, "reason": r, "raw": raw, "rejected_at": str(at)}
                        for s, ln, r, raw, at in records
                    ],
                },
                indent=2,
            )
        )
        return
    if not total:
        console.print("No rejected records" + (" match" if file or reason else "") + ".")
        return
    by_reason = Table("reason", "records", "files", title=f"{total} rejected records")
    for kind, count, files in kinds:
        by_reason.add_row(escape(kind), str(count), str(files))
    console.print(by_reason)
    listed = Table("file", "line", "reason", "raw", title=f"newest {len(records)}")
    for source_file, line, why, raw, _ in records:
        shown = "" if raw is None else raw if len(raw) <= 80 else raw[:79] + "…"
        listed.add_row(
            escape(_short(source_file)), "" if line is None else str(line), escape(why), escape(shown)
        )
    console.print(listed)
    console.print("After a loader fix: [bold]cdp rejected --retry[/bold] (or cdp ingest --reload DAY|FILE).")


def _short(source_file: str) -> str:
    """A landed file as `DAY/source/name`."""
    parts = Path(source_file).parts
    return "/".join(parts[-3:]) if "landing" in parts else source_file


def _retry(file: str | None, as_json: bool) -> None:
    from orchestration.ingestion.replay import retry_rejected

    with warehouse_connection(read_only=False) as con:
        if file is not None:
            match = con.execute(
                "select min(source_file), count(distinct source_file) from rejected_events "
                "where source_file = $f or source_file like '%/' || $f",
                {"f": file},
            ).fetchone()
            if match[1] != 1:
                found = "no file" if match[1] == 0 else f"{match[1]} files (give the whole path)"
                typer.echo(f"--file {file}: {found} with rejected records", err=True)
                raise typer.Exit(1)
            file = match[0]
        result = retry_rejected(con, file=file)
    if as_json:
        typer.echo(json.dumps(result.__dict__))
        return
    console.print(
        f"retried the rejected records of {result.files} files: {result.loaded} now loaded into raw_events, "
        f"{result.rejected_after} still rejected (of {result.rejected_before})"
    )
