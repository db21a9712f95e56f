"""Run the whole pipeline on one engine in its own CDP_HOME, and compare warehouse tables across engines."""

from __future__ import annotations

import decimal
import json
import math
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# The tables the issue names; compared row for row.
COMPARED_TABLES = (
    "identity_graph",
    "profiles",
    "profile_merges",
    "profile_traits",
    "audience_membership",
    "audience_membership_history",
)
TOLERANCE = 1e-9
# Columns stamped with the moment the dbt build that wrote the row started (run_started_at): wall-clock
# times that no two runs share. Compared as which build wrote the row (the stamp's rank among the
# table's stamps), which both engines must agree on.
BUILD_STAMPS = {"audience_membership_history": ("changed_at",)}


def java_available() -> bool:
    return shutil.which("java") is not None


@contextmanager
def environment(**values: str | None) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_pipeline(
    home: Path, loads: Sequence[tuple[Sequence[Path], str]], engine: str, destinations: str
) -> None:
    """In a fresh `home` on `engine`, for each (paths, as_of) of `loads`: land the paths and run every asset
    once (load, dbt build, syncs) as of that moment. A second load exercises what only a rebuild does:
    merges of earlier profiles, stays that end, incremental state, sync changes."""
    from orchestration.defs.runner import run_all
    from orchestration.ingestion.landing import land_files

    home.mkdir(parents=True, exist_ok=True)
    (home / "destinations.yml").write_text(destinations)
    with environment(CDP_HOME=str(home), CDP_ENGINE=engine):
        for paths, as_of in loads:
            land_files(paths, home / "landing")
            run_all(as_of=as_of)


def read_table(home: Path, engine: str, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    from orchestration.warehouse import connect_warehouse

    with (
        environment(CDP_HOME=str(home), CDP_ENGINE=engine),
        connect_warehouse(home / "warehouse.duckdb", read_only=True) as con,
    ):
        relation = con.sql(f"select * from {table}")
        columns = relation.columns
        rows = relation.fetchall()
    order = sorted(range(len(columns)), key=lambda i: columns[i])
    return [columns[i] for i in order], [tuple(row[i] for i in order) for row in rows]


def numbered_builds(
    table: str, read: tuple[list[str], list[tuple[Any, ...]]]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """`read` with each build stamp (BUILD_STAMPS) replaced by its build's ordinal, 1 for the first."""
    columns, rows = read
    for column in BUILD_STAMPS.get(table, ()):
        i = columns.index(column)
        ordinal = {stamp: n for n, stamp in enumerate(sorted({r[i] for r in rows if r[i] is not None}), 1)}
        rows = [(*r[:i], ordinal.get(r[i]), *r[i + 1 :]) for r in rows]
    return columns, rows


def _normal(value: Any) -> Any:
    """A comparable form: numbers as floats, JSON text parsed, lists and dicts recursively."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float, decimal.Decimal)):
        return float(value)
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return _normal(json.loads(value))
        except ValueError:
            return value
    if isinstance(value, (list, tuple)):
        return [_normal(v) for v in value]
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in sorted(value.items())}
    return value


def _sort_key(value: Any) -> str:
    """Rows sort by a text whose floats are rounded far coarser than the tolerance, so ulps never reorder."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "[" + ",".join(_sort_key(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_sort_key(v)}" for k, v in value.items()) + "}"
    return repr(value)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (
            a == b
            or (math.isnan(a) and math.isnan(b))
            or math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
        )
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def table_differences(
    left: tuple[list[str], list[tuple[Any, ...]]],
    right: tuple[list[str], list[tuple[Any, ...]]],
    limit: int = 5,
) -> list[str]:
    """What differs between two reads of one table: columns, row counts, then rows (sorted, compared in order)."""
    (left_columns, left_rows), (right_columns, right_rows) = left, right
    if left_columns != right_columns:
        return [f"columns differ: {sorted(set(left_columns) ^ set(right_columns))}"]
    found: list[str] = []
    if len(left_rows) != len(right_rows):
        found.append(f"{len(left_rows)} rows vs {len(right_rows)}")
    ordered = [
        sorted(([_normal(v) for v in row] for row in rows), key=lambda r: [_sort_key(v) for v in r])
        for rows in (left_rows, right_rows)
    ]
    for a, b in zip(*ordered, strict=False):
        if not all(same(x, y) for x, y in zip(a, b, strict=True)):
            columns = [c for c, x, y in zip(left_columns, a, b, strict=True) if not same(x, y)]
            found.append(
                f"row differs in {columns}: {dict(zip(left_columns, a, strict=True))} vs {dict(zip(left_columns, b, strict=True))}"
            )
            if len(found) >= limit:
                break
    return found


def exported_files(folder: Path) -> dict[str, list[str]]:
    """A files destination's output, by audience and kind (full, changes): each file's text, in write order.
    File names carry a time stamp and run id, so contents are compared, not names."""
    found: dict[str, list[str]] = {}
    for path in sorted(folder.rglob("*.csv")):
        relative = path.relative_to(folder)
        found.setdefault(str(relative.parent), []).append(path.read_text())
    return found
