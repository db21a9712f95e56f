"""The same pipeline on DuckDB and on Spark, from the same ~20k generated events loaded in two runs (the
days before March, then the rest): identical tables and identical files at a `files` destination."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.spark.engines import (
    COMPARED_TABLES,
    exported_files,
    java_available,
    numbered_builds,
    read_table,
    run_pipeline,
    table_differences,
)

pytestmark = pytest.mark.skipif(not java_available(), reason="Spark needs Java 17 (`make java` installs it)")

# The first run sees the days before SPLIT_DAY, as of its midnight; the second the rest, as of AS_OF.
SPLIT_DAY = "2026-03-01"
AS_OF = "2026-04-01 00:00:00"
DESTINATIONS = """\
destinations:
  exports: {{type: files, path: '{path}', format: csv}}
syncs:
  - {{audience: trial_support_inactive, destination: exports, mode: mirror,
     fields: {{email: email, ltv: lifetime_value, idle_days: days_since_last_seen}}}}
  - {{audience: big_past_purchasers, destination: exports, mode: mirror,
     fields: {{email: email, largest: largest_order_value, last_seen: last_seen_at, brands: brands_purchased}}}}
  - {{audience: brand_affinity_targets, destination: exports, mode: mirror,
     fields: {{email: email, favorite: favorite_brand, northwind: brand_share_northwind}}}}
"""


@dataclass(frozen=True)
class EngineRun:
    engine: str
    home: Path
    exports: Path


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from orchestration.generator import generate
    from tests.conftest import DEMO_DAYS, DEMO_EVENTS, DEMO_PROFILES

    out = tmp_path_factory.mktemp("engines") / "sample"
    generate(
        events=DEMO_EVENTS, profiles=DEMO_PROFILES, days=DEMO_DAYS, seed=15, out=out,
        end_date=dt.date(2026, 3, 31),
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def runs(sample: Path) -> dict[str, EngineRun]:
    days = sorted(p for p in sample.iterdir() if p.is_dir() and not p.name.startswith("_"))
    loads = [
        ([d for d in days if d.name < SPLIT_DAY], f"{SPLIT_DAY} 00:00:00"),
        ([d for d in days if d.name >= SPLIT_DAY], AS_OF),
    ]
    assert all(paths for paths, _ in loads), "the sample's days must fall on both sides of SPLIT_DAY"
    found = {}
    for engine in ("duckdb", "spark"):
        root = sample.parent / engine
        exports = root / "exports"
        run_pipeline(root / "home", loads, engine, DESTINATIONS.format(path=exports))
        found[engine] = EngineRun(engine, root / "home", exports)
    return found


@pytest.mark.parametrize("table", COMPARED_TABLES)
def test_tables_are_identical_on_both_engines(runs: dict[str, EngineRun], table: str) -> None:
    duck, spark = runs["duckdb"], runs["spark"]
    left = numbered_builds(table, read_table(duck.home, "duckdb", table))
    right = numbered_builds(table, read_table(spark.home, "spark", table))
    assert left[1], f"{table} is empty on DuckDB: the comparison would prove nothing"
    assert table_differences(left, right) == []


def test_raw_events_on_spark_are_what_the_loader_accepted(runs: dict[str, EngineRun]) -> None:
    """Spark's raw_events (read through Spark's own external table files) hold the loader's rows."""
    spark = runs["spark"]
    staged = read_table(
        spark.home, "spark", f"read_parquet('{spark.home}/spark/staged/raw_events/*.parquet')"
    )
    loaded = read_table(runs["duckdb"].home, "duckdb", "raw_events")
    drop = {"loaded_at", "source_file"}  # when and from which landed copy: per home by nature
    keep = [i for i, c in enumerate(loaded[0]) if c not in drop]
    project = lambda read: ([read[0][i] for i in keep], [tuple(r[i] for i in keep) for r in read[1]])  # noqa: E731
    assert table_differences(project(loaded), project(staged)) == []


def test_files_destination_receives_identical_files(runs: dict[str, EngineRun]) -> None:
    duck, spark = exported_files(runs["duckdb"].exports), exported_files(runs["spark"].exports)
    assert duck, "the DuckDB run exported nothing: the comparison would prove nothing"
    assert sorted(duck) == sorted(spark)
    for folder in duck:
        assert duck[folder] == spark[folder], f"{folder} differs"
