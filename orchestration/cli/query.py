"""`cdp sql`: ask the warehouse anything."""

from __future__ import annotations

import json
import sys

import duckdb
import typer
from rich.console import Console
from rich.table import Table

from orchestration.cli.app import app
from orchestration.settings import engine, warehouse_path
from orchestration.warehouse import connect_warehouse

# The connection reads the warehouse's own tables and touches nothing else: no `copy ... to` over the
# warehouse file, no read_text('/etc/passwd'), no ATTACH, INSTALL or LOAD. Locking the configuration keeps a
# query from switching external access back on (`set enable_external_access = true` is refused).
READ_ONLY_CONFIG = {"enable_external_access": False, "lock_configuration": True}


def _only_selects(query: str) -> None:
    """On Spark the connection may read the Parquet files of Spark's tables, so it must write none of them:
    only queries pass (a COPY TO could otherwise overwrite one)."""
    for statement in duckdb.extract_statements(query):
        if statement.type not in (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN):
            raise duckdb.PermissionException(f"only queries are allowed, not {statement.type.name}")


@app.command()
def sql(
    query: str = typer.Argument(..., help="SQL to run against the warehouse (read-only)."),
    csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array of objects."),
    max_rows: int = typer.Option(100, help="Rows shown in the table view."),
) -> None:
    """Run SQL against the warehouse and print the result."""
    path = warehouse_path()
    if not path.exists():
        typer.echo(f"No warehouse at {path} yet: run `cdp ingest` or `cdp demo` first.", err=True)
        raise typer.Exit(1)
    with connect_warehouse(path, read_only=True, config=READ_ONLY_CONFIG) as con:
        try:
            if engine() == "spark":
                _only_selects(query)
            relation = con.sql(query)
        except duckdb.PermissionException as error:
            typer.echo(
                f"SQL error: {error} (cdp sql reads the warehouse's tables only: no files, "
                "other databases or extensions)",
                err=True,
            )
            raise typer.Exit(1) from error
        except duckdb.Error as error:
            hint = " (cdp sql is read-only)" if "read-only mode" in str(error) else ""
            typer.echo(f"SQL error: {error}{hint}", err=True)
            raise typer.Exit(1) from error
        if relation is None:
            return
        columns, rows = relation.columns, relation.fetchall()
    if csv:
        import csv as csv_module

        writer = csv_module.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    elif as_json:
        typer.echo(json.dumps([dict(zip(columns, row, strict=True)) for row in rows], default=str, indent=2))
    else:
        table = Table(*columns)
        for row in rows[:max_rows]:
            table.add_row(*("NULL" if v is None else str(v) for v in row))
        console = Console()
        console.print(table)
        if len(rows) > max_rows:
            console.print(f"{len(rows)} rows, first {max_rows} shown (use --csv or --json for all)")
