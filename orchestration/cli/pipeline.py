"""Commands that move data: generate, ingest, run, sync, demo."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from orchestration.cli.app import app, verbose

console = Console()


@app.command()
def generate(
    events: int = typer.Option(100_000, help="Number of events."),
    profiles: int = typer.Option(10_000, help="Number of people behind them."),
    days: int = typer.Option(90, help="Days of history, ending at --end-date."),
    seed: int = typer.Option(42, help="Random seed: same seed, same files."),
    out: Path = typer.Option(Path("generated"), help="Output folder (one folder per day)."),
    end_date: str = typer.Option(None, help="Last day of data (YYYY-MM-DD), default today (UTC)."),
) -> None:
    """Write synthetic Segment-spec events with known identities (ground truth in OUT/_ground_truth)."""
    from orchestration.generator import generate as generate_events

    end = dt.date.fromisoformat(end_date) if end_date else None
    summary = generate_events(events=events, profiles=profiles, days=days, seed=seed, out=out, end_date=end)
    console.print(
        f"wrote {summary.events} events ({summary.duplicates} planted duplicate deliveries) for "
        f"{summary.persons} people in {len(summary.files)} files under {summary.out} in {summary.seconds:.1f}s"
    )
    console.print(f"ground truth: {summary.out / '_ground_truth'}")


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(None, help="Event files or folders."),
    reload: list[str] = typer.Option(
        [],
        "--reload",
        help="A landed day (YYYY-MM-DD) or file to load again after a loader fix (repeatable).",
    ),
) -> None:
    """Copy files into the landing zone and load them into the warehouse; `--reload` loads landed ones again."""
    from orchestration.defs.runner import load_days, materialization_metadata, pipeline_log
    from orchestration.ingestion.landing import NotEventData, land
    from orchestration.settings import landing_dir

    if bool(paths) == bool(reload):
        typer.echo("give event files or folders to ingest, or --reload DAY|FILE (not both)", err=True)
        raise typer.Exit(2)
    if reload:
        _reload(reload)
        return
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    try:
        landed = land(paths, landing_dir())
    except (FileNotFoundError, NotEventData) as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from error
    with pipeline_log():
        result = load_days(sorted(landed.by_day))
    meta = materialization_metadata(result).get("raw_events", {})
    console.print(
        f"landed {len(landed.files)} files over {len(landed.by_day)} days "
        f"({landed.copied} copied, {landed.already_landed} already landed); "
        f"loaded {meta.get('events_loaded', 0)} events, rejected {meta.get('events_rejected', 0)}",
        highlight=False,
        soft_wrap=True,
    )
    if landed.renamed:
        console.print(
            f"{len(landed.renamed)} files had the name of another landed file and landed under their content "
            f"hash, e.g. {landed.renamed[0].name}",
            highlight=False,
            soft_wrap=True,
        )
    if landed.skipped:
        shown = ", ".join(str(p) for p in landed.skipped[:3])
        more = f" and {len(landed.skipped) - 3} more" if len(landed.skipped) > 3 else ""
        console.print(
            f"[yellow]skipped {len(landed.skipped)} files that hold no event data: {shown}{more}[/yellow]",
            highlight=False,
            soft_wrap=True,
        )
    _warn_mostly_rejected(landed.files, started)


# A file with more rejected records than this share is worth a look.
MOSTLY_REJECTED = 0.5


def _warn_mostly_rejected(files: list[Path], since: dt.datetime) -> None:
    import duckdb

    from orchestration.settings import warehouse_path

    if not files:
        return
    try:
        con = duckdb.connect(str(warehouse_path()), read_only=True)
    except duckdb.Error as error:  # the load is done; only the check is lost
        console.print(f"could not check rejected records: {str(error).splitlines()[0]}", highlight=False)
        return
    with con:
        rows = con.execute(
            """
            select l.source_file, l.events_rejected, l.events_loaded + l.events_rejected,
                (select mode(reason) from rejected_events r where r.source_file = l.source_file)
            from loaded_files l
            where l.source_file in (select unnest($files)) and l.loaded_at >= $since
                and l.events_rejected > $share * (l.events_loaded + l.events_rejected)
            order by 1
            """,
            {"files": [str(f) for f in files], "since": since, "share": MOSTLY_REJECTED},
        ).fetchall()
    for source_file, rejected, total, reason in rows:
        console.print(
            f"[yellow]warning: {source_file}: {rejected} of {total} records rejected "
            f"(e.g. {reason}); see `cdp rejected --file {source_file}`[/yellow]",
            highlight=False,
            soft_wrap=True,
        )


def _reload(targets: list[str]) -> None:
    from orchestration.cli.rejected import warehouse_connection
    from orchestration.ingestion.replay import LandedTargetError, landed_targets, reload_files
    from orchestration.settings import landing_dir

    with warehouse_connection(read_only=False) as con:
        try:
            by_day = landed_targets(con, landing_dir(), targets)
        except LandedTargetError as error:
            typer.echo(str(error), err=True)
            raise typer.Exit(1) from error
        for day, files in sorted(by_day.items()):
            result = reload_files(con, files, day)
            console.print(
                f"reloaded {result.files} files of {day}: {result.loaded} events newly loaded; "
                f"rejected {result.rejected_after} (was {result.rejected_before})",
                highlight=False,
                soft_wrap=True,
            )


@app.command()
def run(
    ctx: typer.Context,
    as_of: str = typer.Option(
        None, help="Evaluate traits and audiences at this ISO timestamp (default now)."
    ),
    full_refresh: bool = typer.Option(False, help="Rebuild incremental dbt models from scratch."),
    engine: str = typer.Option(None, "--engine", help="duckdb (default) or spark; same as CDP_ENGINE."),
) -> None:
    """Materialise every asset once, in process: load landed files, build dbt, run every sync."""
    from orchestration.cli.app import use_engine

    use_engine(engine)
    from orchestration.defs.assets.dbt import normalised_as_of
    from orchestration.defs.runner import PipelineFailed, pipeline_log, run_all

    try:
        as_of = normalised_as_of(as_of)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--as-of") from error

    failed: PipelineFailed | None = None
    with pipeline_log(enabled=not verbose(ctx)) as log:
        try:
            results = run_all(as_of=as_of, full_refresh=full_refresh)
        except PipelineFailed as error:
            failed, results = error, {"pipeline": error.result}
    # What did succeed is worth seeing even when a step failed; the failure then ends the output.
    _print_materialized(results, log, failed=failed is not None)
    if failed is not None:
        raise failed


def _print_materialized(results: dict[str, Any], log: Path, failed: bool = False) -> None:
    from orchestration.defs.runner import materialization_metadata

    materialized = {
        key: meta for result in results.values() for key, meta in materialization_metadata(result).items()
    }
    if failed and not materialized:
        return
    table = Table("asset", "what happened")
    for key, meta in materialized.items():
        # dbt models report their own status; show the counts the CDP's own assets report.
        if key == "raw_events" or key.startswith("sync/"):
            table.add_row(key, ", ".join(f"{k}={v}" for k, v in meta.items() if not isinstance(v, dict)))
    if table.row_count:
        console.print(table)
    console.print(f"{len(materialized)} assets materialised; pipeline log: {log}")


@app.command()
def demo(
    ctx: typer.Context,
    events: int = typer.Option(50_000, help="Events in the generated sample."),
    profiles: int = typer.Option(5_000, help="People in the generated sample."),
) -> None:
    """Generate a sample, run the whole pipeline, sync to a local demo destination, print a summary."""
    from orchestration.defs.runner import pipeline_log
    from orchestration.demo import run_demo
    from orchestration.settings import cdp_home

    with pipeline_log(enabled=not verbose(ctx)) as log:
        summary = run_demo(events=events, profiles=profiles)
    console.print(f"pipeline log: {log}")
    table = Table(title=f"cdp demo ({cdp_home()})", show_header=False)
    table.add_row("events loaded", str(summary.events_loaded))
    table.add_row("events rejected", str(summary.events_rejected))
    table.add_row("profiles", str(summary.profiles))
    for audience, size in summary.audience_sizes.items():
        table.add_row(f"audience {audience}", f"{size} members")
    for sync, rows in summary.rows_synced.items():
        table.add_row(f"rows synced {sync}", str(rows))
    for audience, size in summary.destination_members.items():
        table.add_row(f"demo destination holds {audience}", f"{size} members")
    console.print(table)
    console.print('Query it: [bold]cdp sql "select * from profile_traits limit 10"[/bold]')
