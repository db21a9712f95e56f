"""Figures attached to dbt materialisations after a build: row counts, column schemas, domain figures.

dagster-dbt's `fetch_row_counts()` queries while dbt still runs, which DuckDB's one-writer lock forbids
across processes; one read-only connection after the build does the same for all models at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

# Domain figures by model: metadata name -> SQL returning one number. Plotted by the UI per build.
DOMAIN_FIGURES: dict[str, dict[str, str]] = {
    "profiles": {
        "profiles": "select count(*) from profiles",
        "largest_profile_identifiers": "select coalesce(max(identifier_count), 0) from profiles",
        "profiles_with_user_id": "select count(*) from profiles where user_id is not null",
    },
    "identity_graph": {
        "identifiers": "select count(*) from identity_graph",
        "largest_component": (
            "select coalesce(max(n), 0) from (select count(*) as n from identity_graph group by profile_id)"
        ),
    },
    "profile_merges": {"merges": "select count(*) from profile_merges"},
    "audience_membership": {
        "audiences": "select count(distinct audience) from audience_membership",
        "memberships": "select count(*) from audience_membership",
    },
}


def load_manifest(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def _relation(node: Mapping[str, Any]) -> tuple[str, str] | None:
    if node.get("resource_type") not in {"model", "snapshot", "seed"}:
        return None
    if node.get("config", {}).get("materialized") == "ephemeral":
        return None
    return node["schema"], node.get("alias") or node["name"]


def _quoted(schema: str, name: str) -> str:
    return '"{}"."{}"'.format(schema.replace('"', '""'), name.replace('"', '""'))


def model_figures(
    con: duckdb.DuckDBPyConnection, manifest: Mapping[str, Any], unique_ids: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Per dbt unique_id: row count, column schema (types from the warehouse, descriptions from the
    dbt docs) and the model's domain figures."""
    nodes = manifest.get("nodes", {})
    relations = {uid: _relation(nodes[uid]) for uid in unique_ids if uid in nodes}
    relations = {uid: rel for uid, rel in relations.items() if rel}
    if not relations:
        return {}
    columns: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, data_type in con.execute(
        "select table_schema, table_name, column_name, data_type from information_schema.columns "
        "order by table_schema, table_name, ordinal_position"
    ).fetchall():
        columns.setdefault((schema, table), []).append((column, data_type))
    found: dict[str, dict[str, Any]] = {}
    for uid, (schema, table) in relations.items():
        if (schema, table) not in columns:
            continue  # not built (failed or skipped)
        (rows,) = con.execute(f"select count(*) from {_quoted(schema, table)}").fetchone()
        docs = nodes[uid].get("columns", {})
        schema_value = dg.TableSchema(
            columns=[
                dg.TableColumn(name, data_type, description=docs.get(name, {}).get("description") or None)
                for name, data_type in columns[(schema, table)]
            ]
        )
        metadata: dict[str, Any] = {
            "dagster/row_count": dg.IntMetadataValue(int(rows)),
            "dagster/column_schema": schema_value,
        }
        for name, sql in DOMAIN_FIGURES.get(nodes[uid]["name"], {}).items():
            (value,) = con.execute(sql).fetchone()
            metadata[name] = dg.IntMetadataValue(int(value or 0))
        found[uid] = metadata
    return found


def audience_figures(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Each audience's members, entries and exits at the latest build (numeric, so the UI plots them)."""
    try:
        rows = con.execute(
            """
            select audience, members, entered, exited, cast(evaluated_at as varchar)
            from audience_sizes
            where built_at = (select max(built_at) from audience_sizes)
            """
        ).fetchall()
    except duckdb.CatalogException:  # the build stopped before audience_sizes
        return {}
    return {
        audience: {
            "audience_members": dg.IntMetadataValue(members),
            "audience_entered": dg.IntMetadataValue(entered),
            "audience_exited": dg.IntMetadataValue(exited),
            "audience_evaluated_at": evaluated_at,
        }
        for audience, members, entered, exited, evaluated_at in rows
    }


def enriched(
    events: list[Any], warehouse_path: Path, manifest_path: Path, audiences: set[str]
) -> Iterator[Any]:
    """The held dbt events, each materialisation with its figures added (in dbt's order)."""
    outputs = [e for e in events if isinstance(e, dg.Output | dg.AssetMaterialization)]
    figures: dict[str, dict[str, Any]] = {}
    sizes: dict[str, dict[str, Any]] = {}
    if outputs and warehouse_path.exists():
        manifest = load_manifest(manifest_path)
        ids = [str(e.metadata["unique_id"].value) for e in outputs if "unique_id" in e.metadata]
        with duckdb.connect(str(warehouse_path), read_only=True) as con:
            figures = model_figures(con, manifest, ids)
            sizes = audience_figures(con)
    for event in events:
        meta = getattr(event, "metadata", None)
        if not isinstance(event, dg.Output | dg.AssetMaterialization) or not meta or "unique_id" not in meta:
            yield event
            continue
        uid = str(meta["unique_id"].value)
        name = uid.rsplit(".", 1)[-1]
        extra = {**figures.get(uid, {}), **(sizes.get(name, {}) if name in audiences else {})}
        yield event.with_metadata({**meta, **extra}) if extra else event
