"""The `cdp` command line. Each command group lives in its own module and registers itself on `app`."""

from orchestration.cli import audiences, collect, pipeline, profile, query, sync  # noqa: F401  (registers commands)
from orchestration.cli.app import app

__all__ = ["app"]
