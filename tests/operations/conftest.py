"""One operated CDP home for the module suites: generated events, the whole graph run by `cdp run`'s code
path, recorded in the Dagster instance that the UI reads (CDP_HOME/dagster)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import cdp_home

EVENTS = 3_000
PROFILES = 300
DAYS = 8
# The last days are withheld from the first build: the backfill and automation tests land them later.
WITHHELD_DAYS = 3
END = dt.date(2026, 11, 20)


@dataclass(frozen=True)
class OperatedHome:
    home: Path
    sample: Path  # the generated events, one folder per day
    days: list[dt.date]  # every generated day
    results: dict  # run_all's results

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def loaded_days(self) -> list[dt.date]:
        return self.days[:-WITHHELD_DAYS]

    @property
    def withheld_days(self) -> list[dt.date]:
        return self.days[-WITHHELD_DAYS:]


def day_folders(sample: Path, days: list[dt.date]) -> list[Path]:
    return [sample / day.isoformat() for day in days if (sample / day.isoformat()).is_dir()]


def copy_home(operated: OperatedHome, target: Path) -> OperatedHome:
    """A private copy (warehouse, landing, Dagster instance) for a test that changes things."""
    shutil.copytree(operated.home, target / "home", symlinks=True)
    return OperatedHome(target / "home", operated.sample, operated.days, operated.results)


@pytest.fixture(scope="session")
def operated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatedHome]:
    from orchestration.defs.runner import run_all
    from orchestration.demo import demo_destinations_yml
    from orchestration.generator import generate
    from orchestration.ingestion.landing import land

    root = tmp_path_factory.mktemp("operated")
    sample = root / "sample"
    generate(events=EVENTS, profiles=PROFILES, days=DAYS, seed=13, out=sample, end_date=END)
    days = sorted(dt.date.fromisoformat(p.name) for p in sample.iterdir() if p.name[:2] == "20")
    home = root / "home"
    previous = os.environ.pop("DAGSTER_HOME", None)  # the instance is CDP_HOME/dagster
    try:
        with cdp_home(home):
            land(day_folders(sample, days[:-WITHHELD_DAYS]), home / "landing")
            (home / "destinations.yml").write_text(demo_destinations_yml(home / "demo_destination"))
            results = run_all()
        yield OperatedHome(home, sample, days, results)
    finally:
        if previous is not None:
            os.environ["DAGSTER_HOME"] = previous
