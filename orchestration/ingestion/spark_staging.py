"""`raw_events` for Spark: the loader keeps validating, deduplicating and quarantining in the local DuckDB
file; on the Spark engine the accepted rows are staged as Parquet, which Spark's `main.raw_events` reads
(registered by the dbt project's on-run-start hook). So Spark holds exactly what the loader accepted."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from orchestration.ingestion.schema import ensure_ingestion_tables


def staged_raw_events_dir(spark_dir: Path) -> Path:
    return spark_dir / "staged" / "raw_events"


def stage_raw_events(con: duckdb.DuckDBPyConnection, spark_dir: Path) -> int:
    """Rewrite the staged copy of raw_events (JSON columns as text, timestamps without zone) and return its
    row count. The new file is written beside the old one and renamed over it, so a reader sees one or the
    other, never half of either."""
    ensure_ingestion_tables(con)
    folder = staged_raw_events_dir(spark_dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "raw_events.parquet"
    partial = folder / ".raw_events.parquet.partial"
    con.execute(
        f"""
        copy (
            select * replace (
                cast(properties as varchar) as properties,
                cast(traits as varchar) as traits,
                cast(context as varchar) as context
            )
            from raw_events
            order by event_date, message_id
        ) to '{partial}' (format parquet, compression zstd)
        """
    )
    os.replace(partial, target)
    return con.execute("select count(*) from raw_events").fetchone()[0]


def staged_predictions_dir(spark_dir: Path) -> Path:
    return spark_dir / "staged" / "profile_predictions"


def stage_profile_predictions(con: duckdb.DuckDBPyConnection, spark_dir: Path) -> int:
    """Stage the local file's profile_predictions (written by the predictive asset) as the Parquet copy Spark's
    `main.profile_predictions` reads (registered by the project's on-run-start hook); returns its rows."""
    folder = staged_predictions_dir(spark_dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "profile_predictions.parquet"
    partial = folder / ".profile_predictions.parquet.partial"
    # Qualified by the file's catalog: on Spark the connection also holds Spark's own (empty) table.
    catalog = con.execute("select current_database()").fetchone()[0]
    con.execute(
        f'copy (select * from "{catalog}".main.profile_predictions order by profile_id) '
        f"to '{partial}' (format parquet, compression zstd)"
    )
    os.replace(partial, target)
    return con.execute(f'select count(*) from "{catalog}".main.profile_predictions').fetchone()[0]
