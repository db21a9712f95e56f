import errno
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from orchestration.errors import explains_itself, format_traceback, one_line

VERBOSE = "cdp.verbose"
# Exceptions the command line machinery turns into its own exits and messages.
_PASSED_THROUGH = (typer.Exit, typer.Abort, typer.TyperException, EOFError)


class CdpGroup(TyperGroup):
    """Every command ends a failure the same way: one line saying what failed, exit status 1, and the
    traceback only on request (`--verbose` or CDP_DEBUG=1), printed with a cycle-safe printer."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _PASSED_THROUGH:
            raise
        except OSError as error:
            if error.errno == errno.EPIPE:  # `cdp sql ... | head`: the reader left, nothing to report
                raise
            _report(ctx, error)
        except Exception as error:
            _report(ctx, error)


def _report(ctx: typer.Context, error: Exception) -> None:
    message = one_line(error)
    if ctx.meta.get(VERBOSE):
        sys.stderr.write(format_traceback(error))
    elif not explains_itself(error):
        message += " (cdp --verbose shows the traceback)"
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()
    raise typer.Exit(1) from None


app = typer.Typer(
    name="cdp",
    help="Open customer data platform: events in, stitched profiles, traits and audiences out.",
    cls=CdpGroup,
    no_args_is_help=True,
    add_completion=False,
    # Failures are reported by CdpGroup; anything that still escapes gets Python's own printer.
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    verbose: bool = typer.Option(
        False,
        "--verbose",
        "-v",
        envvar="CDP_DEBUG",
        help="Show the pipeline's own log and full tracebacks on failure.",
    ),
    engine: str = typer.Option(
        None, "--engine", help="Warehouse engine for this command: duckdb (default) or spark (= CDP_ENGINE)."
    ),
) -> None:
    ctx.meta[VERBOSE] = verbose
    use_engine(engine)


def use_engine(engine: str | None) -> None:
    """`--engine` is CDP_ENGINE for this process and the dbt it starts (profiles.yml reads the variable)."""
    if engine:
        import os

        from orchestration.settings import engine as configured_engine

        os.environ["CDP_ENGINE"] = engine
        configured_engine()  # a bad name fails here, in one line


def verbose(ctx: typer.Context) -> bool:
    """True when the command was asked for details (`cdp --verbose ...` or CDP_DEBUG=1)."""
    return bool(ctx.meta.get(VERBOSE))
