"""One planted-futures warehouse for every predictive test: 5,000 people generated with known futures, put in
a landing zone and built by the real pipeline (`cdp run`'s in-process runner: raw_events, dbt features,
profile_predictions, profile_traits, audiences) at an as_of one day after the window."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.generator.futures import FuturesSummary, generate_futures
from tests.conftest import cdp_home

PROFILES = 5_000
SEED = 11
END_DATE = dt.date(2026, 3, 1)
AS_OF = "2026-03-02 00:00:00"  # the window's end: the training cutoff (90 days before) is the planted one


@dataclass(frozen=True)
class PlantedWarehouse:
    home: Path
    summary: FuturesSummary
    truth: pd.DataFrame  # ground truth indexed by profile_id
    first_run: object  # the pipeline's dg.ExecuteInProcessResult

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.warehouse), read_only=True)


@pytest.fixture(scope="session")
def planted(tmp_path_factory: pytest.TempPathFactory) -> PlantedWarehouse:
    from orchestration.defs.runner import run_all

    home = tmp_path_factory.mktemp("predictive_home")
    generated = home / "futures_input"
    summary = generate_futures(PROFILES, SEED, generated, END_DATE)
    shutil.copytree(generated / END_DATE.isoformat(), home / "landing" / END_DATE.isoformat())
    with cdp_home(home):
        runs = run_all(as_of=AS_OF)
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        profiles = con.execute(
            "select id_value as user_id, profile_id from identity_graph where id_type = 'user_id'"
        ).df()
    truth = pd.read_parquet(summary.ground_truth).merge(profiles, on="user_id").set_index("profile_id")
    return PlantedWarehouse(home, summary, truth, runs["pipeline"])
