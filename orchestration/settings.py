"""Where everything lives on disk. Read at call time, never at import, so tests can point CDP_HOME anywhere."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from orchestration.errors import CdpError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


def dbt_project_dir() -> Path:
    """The dbt project the pipeline builds: `$CDP_DBT_PROJECT_DIR` if set (a copy with more audiences,
    say), else the one in this repository."""
    explicit = os.environ.get("CDP_DBT_PROJECT_DIR")
    return Path(explicit).expanduser().resolve() if explicit else DBT_PROJECT_DIR


def cdp_home() -> Path:
    """The CDP home folder (`CDP_HOME`, default `./.cdp`), created on first use."""
    home = Path(os.environ.get("CDP_HOME", ".cdp")).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


ENGINES = ("duckdb", "spark")


def engine() -> str:
    """The engine dbt builds the warehouse in: `CDP_ENGINE` (duckdb, the embedded default, or spark). dbt's
    profiles.yml reads the same variable to pick its target."""
    name = os.environ.get("CDP_ENGINE", "duckdb").strip().lower() or "duckdb"
    if name not in ENGINES:
        raise CdpError(f"CDP_ENGINE must be one of {', '.join(ENGINES)}, not {name!r}")
    return name


def spark_dir() -> Path:
    """Spark's side of CDP_HOME: `warehouse/` (tables as Parquet), `metastore_db/` (the catalog) and
    `staged/` (raw_events as the loader accepted them, for Spark to read)."""
    path = cdp_home() / "spark"
    path.mkdir(parents=True, exist_ok=True)
    return path


def warehouse_path() -> Path:
    return cdp_home() / "warehouse.duckdb"


def landing_dir() -> Path:
    path = cdp_home() / "landing"
    path.mkdir(parents=True, exist_ok=True)
    return path


def destinations_file() -> Path:
    """`destinations.yml`: `$CDP_DESTINATIONS` if set, else the one in CDP_HOME."""
    explicit = os.environ.get("CDP_DESTINATIONS")
    return Path(explicit).expanduser().resolve() if explicit else cdp_home() / "destinations.yml"


# DuckDB's working memory per process. cdp opens one writer at a time (the loader, then dbt, then the
# syncs), so a run's peak RSS is about this limit plus the Python around it; what does not fit spills
# to the temp directory.
DEFAULT_DUCKDB_MEMORY_LIMIT = "4GB"


def duckdb_memory_limit() -> str:
    """`CDP_DUCKDB_MEMORY_LIMIT` (a DuckDB size such as `4GB` or `800MB`), default 4GB."""
    return os.environ.get("CDP_DUCKDB_MEMORY_LIMIT") or DEFAULT_DUCKDB_MEMORY_LIMIT


def duckdb_temp_directory() -> Path:
    """Where DuckDB spills: `CDP_DUCKDB_TEMP_DIRECTORY`, default `CDP_HOME/duckdb_tmp`."""
    explicit = os.environ.get("CDP_DUCKDB_TEMP_DIRECTORY")
    return Path(explicit).expanduser().resolve() if explicit else cdp_home() / "duckdb_tmp"


def apply_duckdb_settings(con: object) -> None:
    """Set the memory limit and spill directory on a DuckDB connection (the same ones dbt's profile reads)."""
    con.execute("set memory_limit = $limit", {"limit": duckdb_memory_limit()})  # type: ignore[attr-defined]
    con.execute("set temp_directory = $dir", {"dir": str(duckdb_temp_directory())})  # type: ignore[attr-defined]


@contextmanager
def environment_variable(name: str, value: str | None) -> Iterator[None]:
    """`name` set to `value` (unset when None) for what runs inside, such as a dbt subprocess reading it;
    the variable's previous state comes back afterwards."""
    previous = os.environ.pop(name, None)
    if value is not None:
        os.environ[name] = value
    try:
        yield
    finally:
        os.environ.pop(name, None)
        if previous is not None:
            os.environ[name] = previous
