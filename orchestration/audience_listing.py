"""What `cdp audiences` shows: each declared audience (and each retired one still in history) with its
size now, the last build's entries and exits, and its syncs with their last status. Read-only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from orchestration.audience_catalog import MEMBERSHIP, SIZES, audience_declarations
from orchestration.explorer import _existing_tables
from reverse_etl.config import load_destinations


def list_audiences(
    con: duckdb.DuckDBPyConnection, manifest_path: Path, destinations: Path
) -> list[dict[str, Any]]:
    declarations = audience_declarations(manifest_path)
    tables = _existing_tables(con)
    members: dict[str, int] = {}
    if MEMBERSHIP in tables:
        members = dict(
            con.execute(f"select audience, count(*) from {MEMBERSHIP} group by audience").fetchall()
        )
    last_build: dict[str, tuple[Any, int, int]] = {}
    if SIZES in tables:
        rows = con.execute(
            f"""
            select audience, evaluated_at, entered, exited
            from {SIZES}
            qualify row_number() over (partition by audience order by built_at desc) = 1
            """
        ).fetchall()
        last_build = {
            audience: (evaluated_at, entered, exited) for audience, evaluated_at, entered, exited in rows
        }
    statuses: dict[tuple[str, str], str] = {}
    if "main.sync_runs" in tables:
        rows = con.execute(
            """
            select audience, destination, status
            from sync_runs
            qualify row_number() over (partition by audience, destination order by started_at desc) = 1
            """
        ).fetchall()
        statuses = {(audience, destination): status for audience, destination, status in rows}
    syncs = load_destinations(destinations).syncs
    listed = []
    for name in sorted(set(declarations) | set(last_build)):
        declaration = declarations.get(name)
        evaluated_at, entered, exited = last_build.get(name, (None, None, None))
        listed.append(
            {
                "audience": name,
                "description": declaration.description if declaration else None,
                "file": declaration.file if declaration else None,
                "kind": declaration.kind if declaration else None,
                "retired": declaration is None,
                "members": members.get(name, 0),
                "evaluated_at": evaluated_at,
                "entered": entered,
                "exited": exited,
                "syncs": [
                    {
                        "destination": sync.destination,
                        "mode": sync.mode,
                        "last_status": statuses.get((name, sync.destination)),
                    }
                    for sync in syncs
                    if sync.audience == name
                ],
            }
        )
    return listed
