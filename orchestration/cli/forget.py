"""`cdp forget IDENTIFIER [--suppress]`: delete a person everywhere (Segment's delete / suppress regulations)."""

from __future__ import annotations

import typer

from orchestration.cli.app import app


@app.command()
def forget(
    identifier: str = typer.Argument(..., help="Any identifier of the person (as `cdp profile` takes it)."),
    suppress: bool = typer.Option(
        False, "--suppress", help="Also drop their future events (hashed suppression list)."
    ),
    id_type: str = typer.Option(
        None, "--type", help="Only match this identifier type (email, user_id, ...)."
    ),
) -> None:
    """Remove a person's events, identifiers, traits and memberships; destinations on the next sync."""
    import duckdb

    from orchestration.errors import CdpError
    from orchestration.explorer import AmbiguousIdentifier, ExplorerError
    from orchestration.privacy.forget import forget as forget_person
    from orchestration.settings import cdp_home, engine, warehouse_path

    if engine() == "spark":
        # Spark's Parquet tables cannot delete rows in place; deleting there is not built yet.
        raise CdpError("cdp forget works on the DuckDB engine only (CDP_ENGINE=spark is not supported yet)")
    if not warehouse_path().exists():
        typer.echo(f"No warehouse at {warehouse_path()} yet: nothing to forget.", err=True)
        raise typer.Exit(1)
    try:
        con = duckdb.connect(str(warehouse_path()))
    except duckdb.IOException as error:  # one writer at a time: a pipeline run may hold the file
        typer.echo("The warehouse is in use by another process; try again when it is done.", err=True)
        raise typer.Exit(1) from error
    try:
        with con:
            report = forget_person(con, cdp_home(), identifier, suppress_future=suppress, id_type=id_type)
    except AmbiguousIdentifier as error:
        types = ", ".join(sorted({id_type for id_type, _ in error.matches}))
        typer.echo(
            f"The identifier matches {len(error.matches)} profiles (as {types}); pass --type or the profile id.",
            err=True,
        )
        raise typer.Exit(1) from error
    except ExplorerError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from error
    # Counts only: the identifier and the person's values are never printed.
    typer.echo(report.summary())
