"""`cdp collect`: the Segment-compatible HTTP collector."""

from __future__ import annotations

import contextlib
import logging
import signal

import typer
from rich.console import Console

from orchestration.cli.app import app

console = Console()


def _stop_on_sigterm(*_: object) -> None:
    raise KeyboardInterrupt


@app.command()
def collect(
    port: int = typer.Option(8088, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Address to bind (keep 127.0.0.1 unless behind a proxy)."),
    write_key: list[str] = typer.Option(
        [], "--write-key", help="KEY=SOURCE (repeatable); also read from CDP_HOME/collector.yml."
    ),
    max_file_mb: float = typer.Option(64, help="Seal a landing file once it holds this many MB."),
    max_file_seconds: float = typer.Option(60, help="Seal a landing file once it is this many seconds old."),
    idle_timeout: float = typer.Option(
        60, min=0.1, help="Close a keep-alive connection idle this many seconds."
    ),
    read_timeout: float = typer.Option(
        30, min=0.1, help="A request must arrive whole within this many seconds of its first byte (else 408)."
    ),
    max_connections: int = typer.Option(
        256, min=1, help="Open connections served at once; past this, new ones are answered 503 at once."
    ),
) -> None:
    """Receive events from Segment and RudderStack SDKs (HTTP tracking API) into the landing zone."""
    from orchestration.collector.server import Collector
    from orchestration.collector.write_keys import WriteKeyError, write_keys
    from orchestration.settings import cdp_home, landing_dir

    config_file = cdp_home() / "collector.yml"
    try:
        keys = write_keys(write_key, config_file)
    except WriteKeyError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from error
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    collector = Collector(
        landing_dir(),
        keys,
        host=host,
        port=port,
        max_file_bytes=int(max_file_mb * 1024 * 1024),
        max_file_seconds=max_file_seconds,
        idle_timeout=idle_timeout,
        read_timeout=read_timeout,
        max_connections=max_connections,
    )
    # SIGTERM seals the open files like Ctrl-C does; a kill -9 is covered by recovery at the next start.
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    sources = ", ".join(sorted(set(keys.values())))
    console.print(
        f"collecting on {collector.url} into {landing_dir()} for sources: {sources}", highlight=False
    )
    with contextlib.suppress(KeyboardInterrupt):
        collector.serve_forever()
