"""`cdp profile IDENTIFIER`: the profile explorer, as tables for people or JSON for machines."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from orchestration.cli.app import app
from orchestration.predictive.settings import is_prediction_column

# Long JSON properties are cut in the table view (the --json output keeps them whole).
PROPERTIES_WIDTH = 60


@app.command()
def profile(
    identifier: str = typer.Argument(
        ..., help="Any identifier: email, user id, anonymous id, device id or profile id."
    ),
    id_type: str = typer.Option(
        None,
        "--type",
        help="Only match this identifier type (email, user_id, anonymous_id, profile_id, ...).",
    ),
    events: int = typer.Option(20, "--events", min=0, help="How many of the latest events to show."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole profile as JSON."),
) -> None:
    """Everything the CDP knows about one person: identifiers, merges, traits, audiences, recent events."""
    from orchestration.explorer import ExplorerError, connect_read_only, explore_profile
    from orchestration.settings import warehouse_path

    try:
        with connect_read_only(warehouse_path()) as con:
            view = explore_profile(con, identifier, id_type=id_type, events=events)
    except ExplorerError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from error
    if as_json:
        typer.echo(view.to_json())
        return
    _print_view(view)


def _text(value: Any) -> str:
    if value is None:
        return "[dim]-[/dim]"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "[dim](empty)[/dim]"
    return str(value)


def _print_view(view: Any) -> None:
    console = Console()
    match = view.match
    how = "" if match.id_type == "profile_id" else f" (found by {match.id_type} {match.id_value})"
    console.print(f"[bold]Profile {view.profile_id}[/bold]{how}")
    summary = Table(show_header=False, box=None)
    for key in ("first_seen", "last_seen"):
        if key in view.profile:
            summary.add_row(key, _text(view.profile[key]))
    console.print(summary)

    identifiers = Table("type", "value", "first seen", "last seen", title="Identifiers", title_justify="left")
    for row in view.identifiers:
        identifiers.add_row(
            row["id_type"], row["id_value"], _text(row["first_seen"]), _text(row["last_seen"])
        )
    console.print(identifiers)

    if view.merges:
        merges = Table(
            "absorbed profile", "into", "merged at", "reason", title="Merges", title_justify="left"
        )
        for row in view.merges:
            merges.add_row(
                row["from_profile_id"], row["to_profile_id"], _text(row["merged_at"]), _text(row["reason"])
            )
        console.print(merges)
    else:
        console.print("[dim]Merges: none[/dim]")

    traits = Table("trait", "value", title="Traits", title_justify="left")
    predictions = Table("score", "value", title="Predictions (profile_predictions)", title_justify="left")
    for name, value in view.traits.items():
        if is_prediction_column(name):
            predictions.add_row(name, _text(round(value, 3) if isinstance(value, float) else value))
        else:
            traits.add_row(name, _text(value))
    console.print(traits)
    if predictions.row_count:
        console.print(predictions)

    if view.audiences:
        audiences = Table("audience", "member", "entered", "exited", title="Audiences", title_justify="left")
        for row in view.audiences:
            audiences.add_row(
                row["audience"],
                "yes" if row["is_member"] else "no",
                _text(row["entered_at"]),
                _text(row["exited_at"]),
            )
        console.print(audiences)
    else:
        console.print("[dim]Audiences: in none[/dim]")

    events = Table(
        "time", "type", "event", "source", "properties", title="Latest events", title_justify="left"
    )
    for row in view.recent_events:
        properties = row["properties"] or ""
        if len(properties) > PROPERTIES_WIDTH:
            properties = properties[: PROPERTIES_WIDTH - 1] + "…"
        events.add_row(
            _text(row["event_at"]),
            row["event_type"],
            _text(row["event_name"]),
            _text(row["source"]),
            properties,
        )
    console.print(events)
    if view.missing_tables:
        console.print(f"[dim]Not built yet: {', '.join(view.missing_tables)}[/dim]")


@app.command()
def why(
    audience: str = typer.Argument(
        ..., help="Audience name (an audience model in dbt_project/models/audiences)."
    ),
    identifier: str = typer.Argument(..., help="Any identifier of the person."),
    id_type: str = typer.Option(None, "--type", help="Only match this identifier type."),
    as_json: bool = typer.Option(False, "--json", help="Print the explanation as JSON."),
) -> None:
    """Why a profile is or is not in an audience, condition by condition, and when it entered or left."""
    from orchestration.audience_catalog import audience_declarations
    from orchestration.audience_explainer import explain_audience
    from orchestration.defs.project import ensure_manifest
    from orchestration.explorer import ExplorerError, connect_read_only
    from orchestration.settings import warehouse_path

    try:
        declarations = audience_declarations(ensure_manifest().manifest_path)
        if audience not in declarations:
            raise ExplorerError(
                f"No audience named '{audience}'. Known audiences: {', '.join(declarations) or 'none'}."
            )
        with connect_read_only(warehouse_path()) as con:
            explanation = explain_audience(con, declarations[audience], identifier, id_type=id_type)
    except ExplorerError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from error
    if as_json:
        typer.echo(explanation.to_json())
        return
    _print_explanation(explanation)


def _print_explanation(explanation: Any) -> None:
    console = Console()
    verdict = "is in" if explanation.is_member else "is not in"
    console.print(
        f"[bold]Profile {explanation.profile_id} {verdict} {explanation.audience}[/bold] "
        f"[dim](conditions checked at {explanation.evaluated_at}, the last build)[/dim]"
    )
    if explanation.note:
        console.print(explanation.note)
        if explanation.row:
            row = Table("column", "value", title="Membership row", title_justify="left")
            for name, value in explanation.row.items():
                row.add_row(name, _text(value))
            console.print(row)
    else:
        table = Table("condition", "deciding value", "holds")
        for check in explanation.checks:
            label = check.label + (f"  ({check.description})" if check.description else "")
            decided = "; ".join(f"{name}: {_text(value)}" for name, value in check.values.items())
            table.add_row(label, decided, "[green]yes[/green]" if check.passed else "[red]no[/red]")
        console.print(table)
    if explanation.stays:
        stays = Table("entered", "exited", title="Stays (audience_membership_history)", title_justify="left")
        for stay in explanation.stays:
            stays.add_row(
                _text(stay["entered_at"]), _text(stay["exited_at"]) if stay["exited_at"] else "still in"
            )
        console.print(stays)
    else:
        console.print("[dim]Never in this audience (no stays in audience_membership_history).[/dim]")
    if explanation.qualifies != explanation.is_member:
        console.print(
            "[yellow]The warehouse now says otherwise than the last audience build: "
            "run `cdp run` to refresh membership.[/yellow]"
        )
