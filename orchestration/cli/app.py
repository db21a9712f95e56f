import typer

app = typer.Typer(
    name="cdp",
    help="Open customer data platform: events in, stitched profiles, traits and audiences out.",
    no_args_is_help=True,
    add_completion=False,
)
