"""Glue between configuration and the engine: build the destination, run the sync, always close."""

from __future__ import annotations

from pathlib import Path

import duckdb

from reverse_etl.audiences import known_audiences
from reverse_etl.config import ConfigError, DestinationsFile, SyncConfig, build_destination, load_destinations
from reverse_etl.engine import SyncResult, run_sync
from reverse_etl.erasure import erase_pending, settle_bulk


def sync_one(
    con: duckdb.DuckDBPyConnection,
    sync: SyncConfig,
    destinations: Path | DestinationsFile,
    *,
    dry_run: bool = False,
    full_resync: bool = False,
    force: bool = False,
    manifest_path: Path | None = None,
) -> SyncResult:
    """`manifest_path`: the dbt manifest, whose models under models/audiences/ are the known audiences
    (with those that have members in the warehouse); without it only the warehouse's are known."""
    config = destinations if isinstance(destinations, DestinationsFile) else load_destinations(destinations)
    if sync.destination not in config.destinations:
        raise ConfigError(f"destination {sync.destination!r} is not defined in destinations.yml")
    destination = build_destination(sync.destination, config.destinations[sync.destination])
    try:
        if not dry_run:
            erase_pending(con, sync, destination)  # people forgotten since the last sync (cdp forget)
        result = run_sync(
            con,
            sync,
            destination,
            dry_run=dry_run,
            full_resync=full_resync,
            force=force,
            known=known_audiences(con, manifest_path),
        )
        if not dry_run and not result.stopped:
            settle_bulk(con, sync, destination)
        return result
    finally:
        destination.close()
