"""`cdp docs`: build the dbt docs site and say where to open it."""

from __future__ import annotations

import typer
from rich.console import Console

from orchestration.cli.app import app

console = Console()


@app.command()
def docs() -> None:
    """Build the dbt docs site (lineage down to each sync's destination, column docs) and print where it is."""
    from orchestration.dbt_docs import build_docs

    page = build_docs()
    console.print(f"dbt docs: {page}", highlight=False, soft_wrap=True)
    console.print(f"open it in a browser: file://{page}", highlight=False, soft_wrap=True)
    typer.echo(f"or serve the folder: python -m http.server -d {page.parent} 8080", err=False)
