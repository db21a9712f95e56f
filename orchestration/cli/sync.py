"""`cdp sync`: reverse ETL on its own, outside the full pipeline run."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from orchestration.cli.app import app
from orchestration.warehouse import connect_warehouse

console = Console()


@app.command()
def sync(
    audience: str = typer.Option(None, "--audience", help="Only syncs of this audience."),
    destination: str = typer.Option(None, "--destination", help="Only syncs to this destination."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be sent; send nothing."),
    full_resync: bool = typer.Option(False, "--full-resync", help="Resend every member, not only changes."),
    force: bool = typer.Option(
        False,
        "--force",
        help="Send removals past the max_removal_share guard, and clear a retired audience's members.",
    ),
) -> None:
    """Diff each audience against what its destinations acknowledged and send the changes."""
    import duckdb

    from orchestration.settings import destinations_file, warehouse_path
    from reverse_etl.config import ConfigError, load_destinations
    from reverse_etl.engine import SyncCrashed
    from reverse_etl.redaction import redact
    from reverse_etl.runner import sync_one

    path = destinations_file()
    try:
        config = load_destinations(path)
    except ConfigError as error:
        console.print(f"[red]{redact(str(error))}[/red]")
        raise typer.Exit(2) from None
    selected = config.select(audience, destination)
    if not selected:
        console.print(f"No syncs match in {path} (audience={audience}, destination={destination}).")
        raise typer.Exit(1)
    if not warehouse_path().exists():
        console.print(f"No warehouse at {warehouse_path()} yet: run `cdp run` or `cdp demo` first.")
        raise typer.Exit(1)
    manifest = _audience_manifest()

    table = Table(
        "audience", "destination", "mode", "status", "added", "changed", "removed", "failed", "rejected"
    )
    # On an 80-column terminal rich would cut `succeeded` to `succe…`; the status is the one word that matters.
    table.columns[3].no_wrap = True
    table.columns[3].min_width = len("interrupted")
    problems = 0
    try:
        con = connect_warehouse(warehouse_path())
    except duckdb.IOException as error:  # DuckDB allows one writer: a pipeline run may hold the file
        console.print(
            f"[red]The warehouse is in use by another process; try again when it is done. ({error})[/red]"
        )
        raise typer.Exit(1) from error
    with con:
        for item in selected:
            try:
                result = sync_one(
                    con,
                    item,
                    config,
                    dry_run=dry_run,
                    full_resync=full_resync,
                    force=force,
                    manifest_path=manifest,
                )
            except ConfigError as error:  # bad config or data: refused before sending anything
                console.print(f"[red]{item.audience} -> {item.destination}: {redact(str(error))}[/red]")
                problems += 1
                continue
            except SyncCrashed as error:  # unexpected; recorded as failed in sync_runs, message redacted
                console.print(f"[red]{item.audience} -> {item.destination} failed: {error}[/red]")
                problems += 1
                continue
            counts = result.planned if dry_run else result.delivered
            table.add_row(
                item.audience,
                item.destination,
                item.mode,
                result.status,
                *(str(counts[op]) for op in ("add", "change", "remove")),
                str(result.failed),
                str(result.rejected),
            )
            if result.stopped:
                console.print(
                    f"[yellow]{item.audience} -> {item.destination} stopped: {result.stopped}[/yellow]"
                )
            if result.guard:
                verb = "would stop" if dry_run else "stopped"
                console.print(f"[red]{item.audience} -> {item.destination} {verb}: {result.guard}[/red]")
            problems += result.status in ("failed", "stopped")
            if dry_run and result.sample:
                console.print(
                    f"[bold]{item.audience} -> {item.destination}[/bold]: sample of what would be sent"
                )
                console.print_json(json.dumps(result.sample, default=str))
    if dry_run:
        table.title = "dry run: counts are what would be sent; nothing was sent"
    console.print(table)
    if problems:
        raise typer.Exit(1)


def _audience_manifest() -> Path:
    """The dbt manifest whose models under models/audiences/ are the known audiences (with those in the
    warehouse). Not re-parsed here: `cdp run` and Dagster parse the project before building audiences,
    so the last manifest knows every audience the warehouse can hold, and `cdp sync` stays free of dbt."""
    from orchestration.settings import DBT_PROJECT_DIR

    return DBT_PROJECT_DIR / "target" / "manifest.json"
