"""Which audiences exist, so a sync naming anything else is refused instead of syncing nothing.

An audience is a dbt model under `dbt_project/models/audiences/` (read from the dbt manifest), or one
whose members are in the warehouse's `audience_membership`. An audience with zero members is still known:
its model exists, and a mirror sync of it legitimately removes everyone (past the removal guard).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path, PurePosixPath

import duckdb

from reverse_etl.diff import AUDIENCE_TABLE

AUDIENCE_FOLDER = "audiences"  # under the dbt project's model path


def manifest_audiences(manifest_path: Path) -> set[str]:
    """Names of the enabled models under `models/audiences/` in a dbt manifest."""
    manifest = json.loads(manifest_path.read_text())
    names = set()
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model":
            continue
        parts = PurePosixPath(str(node.get("path", "")).replace("\\", "/")).parts
        if parts and parts[0] == AUDIENCE_FOLDER:
            names.add(node["name"])
    return names


def warehouse_audiences(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Audiences with members in `audience_membership` now (none when the table is not built yet)."""
    try:
        rows = con.execute(f"select distinct audience from {AUDIENCE_TABLE}").fetchall()
    except duckdb.CatalogException:
        return set()
    return {row[0] for row in rows if row[0] is not None}


def known_audiences(
    con: duckdb.DuckDBPyConnection | None = None, manifest_path: Path | None = None
) -> set[str]:
    """Every audience that exists: the manifest's audience models plus those with members in the warehouse.

    Either source may be absent (no manifest yet, warehouse not built); an unreadable manifest counts as
    absent rather than making every audience unknown.
    """
    known: set[str] = set()
    if manifest_path is not None and manifest_path.exists():
        with contextlib.suppress(OSError, ValueError, KeyError):
            known |= manifest_audiences(manifest_path)
    if con is not None:
        known |= warehouse_audiences(con)
    return known


def unknown_audience_message(
    audience: str, destination: str, known: set[str], *, held: int, forced: bool
) -> str | None:
    """Why a sync of `audience` must be refused, or None when it may run.

    `held`: members the destination holds for it (acknowledged snapshot rows). A known audience always
    runs. An unknown one that the destination still holds is retired: only a forced sync may clear it.
    An unknown one the destination never received is a misspelling: refused even when forced.
    """
    if audience in known:
        return None
    listed = ", ".join(sorted(known)) or "none"
    sync = f"sync {audience!r} -> {destination!r}"
    if held and forced:
        return None
    if held:
        return (
            f"{sync}: audience {audience!r} no longer exists (known audiences: {listed}), but "
            f"{destination!r} still holds {held} of its members. If the audience was retired on purpose, "
            f"clear them with `cdp sync --audience {audience} --destination {destination} --force`; "
            "otherwise restore its model. Nothing was sent."
        )
    return (
        f"{sync}: unknown audience {audience!r} (known audiences: {listed}). Check the spelling in "
        "destinations.yml; an audience is a dbt model in dbt_project/models/audiences/. Nothing was sent."
    )
