"""Resources: the DuckDB warehouse and the dbt CLI, both following CDP_HOME at run time."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource

from orchestration.project import dbt_project
from orchestration.settings import cdp_home


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file inside CDP_HOME (or `home` when set)."""

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
        con = duckdb.connect(str(self.path), read_only=read_only)
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def exported_home(self) -> Iterator[Path]:
        """dbt's profiles.yml reads CDP_HOME: point the dbt subprocess at our home, then restore the env."""
        previous = os.environ.get("CDP_HOME")
        os.environ["CDP_HOME"] = str(self.home_path())
        try:
            yield self.home_path()
        finally:
            if previous is None:
                os.environ.pop("CDP_HOME", None)
            else:
                os.environ["CDP_HOME"] = previous


def build_resources() -> dict[str, object]:
    return {
        "warehouse": WarehouseResource(),
        # The dbt beside this interpreter, so a venv works without being activated.
        "dbt": DbtCliResource(
            project_dir=dbt_project(), dbt_executable=str(Path(sys.executable).parent / "dbt")
        ),
    }
