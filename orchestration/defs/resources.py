"""Resources: the DuckDB warehouse and the dbt CLI, both following CDP_HOME at run time."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.settings import apply_duckdb_settings, cdp_home, environment_variable
from orchestration.warehouse import connect_warehouse


def discard_stillborn_warehouse(path: Path) -> None:
    """Remove a warehouse file that a kill -9 left empty while DuckDB was creating it.

    DuckDB refuses an empty file ("not a valid DuckDB database file"), so every later command would
    fail. An empty file holds no data; it is removed only if no process holds DuckDB's lock on it (one
    creating it right now does). Files with data are never opened here: closing a descriptor would drop
    this process's own DuckDB locks on them.
    """
    try:
        if path.stat().st_size:
            return
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.fstat(fd).st_size == 0:
            path.unlink()
    except OSError:
        pass  # DuckDB in another process is creating it
    finally:
        os.close(fd)


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file inside CDP_HOME (or `home` when set); on Spark with Spark's tables attached."""

    home: str | None = None

    def home_path(self) -> Path:
        if self.home:
            path = Path(self.home).expanduser().resolve()
            path.mkdir(parents=True, exist_ok=True)
            return path
        return cdp_home()

    @property
    def path(self) -> Path:
        return self.home_path() / "warehouse.duckdb"

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        if not read_only:
            discard_stillborn_warehouse(self.path)
        con = connect_warehouse(self.path, read_only=read_only)
        apply_duckdb_settings(con)  # CDP_DUCKDB_MEMORY_LIMIT, CDP_DUCKDB_TEMP_DIRECTORY
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def exported_home(self) -> Iterator[Path]:
        """dbt's profiles.yml reads CDP_HOME: point the dbt subprocess at our home, then restore the env."""
        with environment_variable("CDP_HOME", str(self.home_path())):
            yield self.home_path()


def build_resources() -> dict[str, object]:
    # dagster-dbt imports dbt-core (seconds): only what builds dbt pays for it, not `cdp ingest`.
    from orchestration.defs.dbt_resource import CdpDbtCliResource
    from orchestration.defs.project import dbt_executable, dbt_project

    return {
        "warehouse": WarehouseResource(),
        "dbt": CdpDbtCliResource(project_dir=dbt_project(), dbt_executable=dbt_executable()),
    }
