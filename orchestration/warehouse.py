"""The warehouse as the Python side sees it, whichever engine dbt builds in (`CDP_ENGINE`).

DuckDB: the file itself. Spark: the same local DuckDB file (raw_events as the loader accepted them, the
quarantine, reverse-ETL state) plus every table Spark built, attached read-only through Arrow: Spark
writes its tables as Parquet under CDP_HOME/spark/warehouse/<schema>.db/<table>/, and each becomes a
view of the same name and schema in an in-memory catalog searched after the file. So the explorer, `cdp why`,
`cdp audiences`, `cdp sql` and the reverse-ETL diff run unchanged, with no JVM and no lock on Spark's
metastore (which a running `dbt build` holds)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.settings import engine

# Spark's scratch leftovers that are not tables people query.
_SCRATCH_SUFFIXES = ("__dbt_tmp", "__dbt_rewrite")


def spark_table_folders(spark_warehouse: Path) -> dict[tuple[str, str], Path]:
    """(schema, table) -> folder of Parquet files, for every table Spark has written."""
    found: dict[tuple[str, str], Path] = {}
    if not spark_warehouse.is_dir():
        return found
    for schema_dir in sorted(spark_warehouse.glob("*.db")):
        for table_dir in sorted(p for p in schema_dir.iterdir() if p.is_dir()):
            if table_dir.name.endswith(_SCRATCH_SUFFIXES) or not any(table_dir.glob("*.parquet")):
                continue
            found[(schema_dir.name.removesuffix(".db"), table_dir.name)] = table_dir
    return found


def connect_warehouse(
    path: Path, *, read_only: bool = False, config: dict[str, object] | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection to the warehouse at `path` (CDP_HOME/warehouse.duckdb); on Spark with Spark's
    tables attached. `config` as duckdb.connect takes it; `enable_external_access: False` is honoured
    after the Spark tables are attached, with only their files readable."""
    if engine() != "spark":
        return duckdb.connect(str(path), read_only=read_only, config=config or {})
    settings = dict(config or {})
    sandboxed = settings.pop("enable_external_access", True) is False
    lock = settings.pop("lock_configuration", False)
    con = duckdb.connect(":memory:", config=settings)
    try:
        con.execute(f"attach '{path}' as warehouse{' (read_only)' if read_only else ''}")
        files = attach_spark_tables(con, path.parent / "spark" / "warehouse")
        con.execute("use warehouse")
        # The local file first: DuckDB creates unqualified tables in the first schema of the search path,
        # and raw_events, the quarantine and the sync state must land in the file, not in memory. (A home
        # once built on DuckDB keeps its own marts, which would then shadow Spark's: use a fresh CDP_HOME.)
        # Spark's other schemas too, so a schema-qualified name (`intermediate.int_profile_features`) finds
        # Spark's table: DuckDB looks a two-part name up in the search path's schemas.
        others = sorted(
            {schema for schema, _ in spark_table_folders(path.parent / "spark" / "warehouse")} - {"main"}
        )
        search = ["warehouse.main", "memory.main", *(f'memory."{schema}"' for schema in others)]
        con.execute("set search_path = ?", [",".join(search)])
        if sandboxed:
            con.execute("set allowed_paths = ?", [files])
            con.execute("set enable_external_access = false")
        if lock:
            con.execute("set lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def attach_spark_tables(con: duckdb.DuckDBPyConnection, spark_warehouse: Path) -> list[str]:
    """One view per Spark table in the in-memory catalog (`memory.<schema>.<table>`); returns the files read."""
    files: list[str] = []
    for (schema, table), folder in spark_table_folders(spark_warehouse).items():
        con.execute(f'create schema if not exists memory."{schema}"')
        parts = sorted(str(p) for p in folder.glob("*.parquet"))
        files += parts
        listed = ", ".join("'" + part.replace("'", "''") + "'" for part in parts)
        con.execute(
            f'create or replace view memory."{schema}"."{table}" as select * from read_parquet([{listed}])'
        )
    return files
