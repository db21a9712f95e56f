"""`cdp audiences` (every audience: description, size, last build's entries and exits, syncs) and
`cdp audiences preview FILE` (an audience file evaluated against the warehouse before it is built)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from orchestration.cli.app import app

audiences_app = typer.Typer(help="Audiences: list them, or preview an audience file before building it.")
app.add_typer(audiences_app, name="audiences")

SAMPLE = 10


@audiences_app.callback(invoke_without_command=True)
def audiences(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the list as JSON."),
) -> None:
    """Every audience: description, members now, entered/exited at the last build, its syncs and status."""
    if ctx.invoked_subcommand is not None:
        return
    import json

    from orchestration.audience_listing import list_audiences
    from orchestration.defs.project import ensure_manifest
    from orchestration.explorer import ExplorerError, _json_default, connect_read_only
    from orchestration.settings import destinations_file, warehouse_path
    from reverse_etl.config import ConfigError

    try:
        manifest = ensure_manifest().manifest_path
        with connect_read_only(warehouse_path()) as con:
            rows = list_audiences(con, manifest, destinations_file())
    except (ExplorerError, ConfigError) as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from error
    if as_json:
        typer.echo(json.dumps(rows, default=_json_default, indent=2))
        return
    table = Table("audience", "description", "members", "entered", "exited", "last built", "syncs")
    table.columns[0].no_wrap = True
    table.columns[1].ratio = 2
    for row in rows:
        syncs = "\n".join(
            f"{s['destination']} ({s['mode']}): {s['last_status'] or 'never run'}" for s in row["syncs"]
        )
        name = row["audience"] + ("\n[red](retired: file removed)[/red]" if row["retired"] else "")
        table.add_row(
            name,
            row["description"] or "",
            str(row["members"]),
            _count(row["entered"]),
            _count(row["exited"]),
            str(row["evaluated_at"] or "never"),
            syncs or "[dim]none[/dim]",
        )
    Console().print(table)


def _count(value: Any) -> str:
    return "-" if value is None else str(value)


@audiences_app.command()
def preview(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="An audience file (.sql) not built yet."
    ),
    sample: int = typer.Option(SAMPLE, "--sample", min=0, help="How many members to show."),
    as_json: bool = typer.Option(False, "--json", help="Print the preview as JSON."),
) -> None:
    """Size, a sample and per-condition counts of an audience file, against the current warehouse.

    The file is checked by dbt in a throwaway copy of the project and evaluated with read-only queries:
    nothing is written to the project or the warehouse."""
    from orchestration.audience_catalog import audience_declarations
    from orchestration.audience_explainer import preview_audience
    from orchestration.explorer import ExplorerError, connect_read_only
    from orchestration.settings import dbt_project_dir, warehouse_path

    name = file.stem
    try:
        with tempfile.TemporaryDirectory(prefix="cdp-preview-") as scratch:
            project = Path(scratch) / "dbt_project"
            shutil.copytree(
                dbt_project_dir(), project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
            )
            shutil.copy(file, project / "models" / "audiences" / file.name)
            manifest = _parse(project, Path(scratch))
            declaration = audience_declarations(manifest).get(name)
            if declaration is None:
                raise ExplorerError(f"{file} declares no audience: it must call cdp.audience(...).")
        with connect_read_only(warehouse_path()) as con:
            result = preview_audience(con, declaration, declaration.facts_sql, sample=sample)
    except ExplorerError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from error
    if as_json:
        typer.echo(result.to_json())
        return
    console = Console()
    share = f"{result.size / result.profiles:.1%}" if result.profiles else "-"
    console.print(
        f"[bold]{result.audience}[/bold] would hold [bold]{result.size}[/bold] of {result.profiles} "
        f"profiles ({share}) at {result.evaluated_at} [dim](preview: nothing was written)[/dim]"
    )
    if result.passing:
        table = Table("condition", "profiles passing", title="Per condition", title_justify="left")
        for check in result.passing:
            table.add_row(f"{check['path']}: {check['label']}", str(check["profiles"]))
        console.print(table)
    if result.sample:
        table = Table(*result.sample[0].keys(), title="Sample of members", title_justify="left")
        for row in result.sample:
            table.add_row(*(str(v) for v in row.values()))
        console.print(table)


def _parse(project: Path, scratch: Path) -> Path:
    """`dbt parse` of the throwaway project (no warehouse connection), returning its manifest."""
    from orchestration.explorer import ExplorerError

    dbt = Path(sys.executable).parent / "dbt"
    result = subprocess.run(
        [str(dbt), "parse", "--quiet"],
        cwd=project,
        env={
            "PATH": str(dbt.parent),
            "CDP_HOME": str(scratch),  # parse needs no warehouse; never point it at the real one
            "HOME": str(scratch),
            "DBT_PROFILES_DIR": str(project),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise ExplorerError(f"dbt refused the audience file:\n{(result.stdout + result.stderr).strip()}")
    return project / "target" / "manifest.json"
