"""The `cdp` command line. Each command group lives in its own module and registers itself on `app`."""

from orchestration.cli import (  # noqa: F401  (registers commands)
    audiences,
    collect,
    docs,
    forget,
    pipeline,
    profile,
    query,
    rejected,
    sync,
)
from orchestration.cli.app import app

__all__ = ["app"]
