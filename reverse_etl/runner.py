"""Glue between configuration and the engine: resolve the destination, run the sync, always close."""

from __future__ import annotations

from pathlib import Path

import duckdb

from reverse_etl.config import ConfigError, SyncConfig, load_destinations
from reverse_etl.destinations import DESTINATION_TYPES
from reverse_etl.engine import SyncResult, run_sync


def sync_one(
    con: duckdb.DuckDBPyConnection,
    sync: SyncConfig,
    destinations_path: Path,
    *,
    dry_run: bool = False,
    full_resync: bool = False,
) -> SyncResult:
    config = load_destinations(destinations_path)
    if sync.destination not in config.destinations:
        raise ConfigError(f"destination {sync.destination!r} is not defined in {destinations_path}")
    destination_config = config.destinations[sync.destination]
    destination = DESTINATION_TYPES[destination_config.type](sync.destination, destination_config.settings())
    try:
        return run_sync(con, sync, destination, dry_run=dry_run, full_resync=full_resync)
    finally:
        destination.close()
