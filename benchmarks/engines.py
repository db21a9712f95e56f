"""The whole pipeline on DuckDB and on Spark (local session) at 20k and 1M generated events: load, dbt build,
syncs to a `files` destination, as `cdp run` does them, each engine in its own CDP_HOME from the same sample.

    nice -n 10 .venv/bin/python benchmarks/engines.py [--events 20000 1000000]

Besides the whole-pipeline time it prints where Spark's fixed costs go: a dbt invocation that builds one
view (the JVM and SparkSession start, the Derby metastore, dbt's parse), and per build the number of dbt
nodes (models, tests, unit tests), each at least one Spark job with its own planning and scheduling.
No time target is declared; the script exits 1 if the engines disagree on the row counts of the marts
(a fast build of different rows is no figure).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from targets import Targets

from orchestration.settings import DBT_PROJECT_DIR

AS_OF = "2026-04-01 00:00:00"
DESTINATIONS = """\
destinations:
  exports: {{type: files, path: '{path}', format: csv}}
syncs:
  - {{audience: trial_support_inactive, destination: exports, mode: mirror}}
  - {{audience: big_past_purchasers, destination: exports, mode: mirror}}
"""
COUNTED = ("identity_graph", "profiles", "profile_traits", "audience_membership")


def run_engine(root: Path, sample: Path, engine: str) -> dict[str, float | int]:
    from orchestration.defs.runner import run_all
    from orchestration.ingestion.landing import land_files
    from orchestration.warehouse import connect_warehouse

    home = root / engine
    home.mkdir(parents=True)
    (home / "destinations.yml").write_text(DESTINATIONS.format(path=home / "exports"))
    os.environ.update({"CDP_HOME": str(home), "CDP_ENGINE": engine})
    land_files([sample], home / "landing")
    started = time.perf_counter()
    result = run_all(as_of=AS_OF)
    seconds = time.perf_counter() - started
    figures: dict[str, float | int] = {"pipeline_s": seconds}
    for event in result["pipeline"].all_events:
        if event.is_step_success and event.step_key == "cdp_dbt_models":
            figures["dbt_step_s"] = event.event_specific_data.duration_ms / 1000
    with connect_warehouse(home / "warehouse.duckdb", read_only=True) as con:
        for table in COUNTED:
            figures[table] = con.execute(f"select count(*) from {table}").fetchone()[0]
    figures["one_view_dbt_run_s"] = one_view_run(home, engine)
    return figures


def one_view_run(home: Path, engine: str) -> float:
    """A dbt invocation that builds one view: what every build pays before its first model."""
    env = {**os.environ, "CDP_HOME": str(home), "CDP_ENGINE": engine}
    target = home / "bench_target"
    started = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "run", "--select", "stg_cdp__events", "--quiet",
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(target), "--log-path", str(target / "logs")],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - started


def dbt_nodes() -> int:
    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    if not manifest.exists():
        return 0
    nodes = json.loads(manifest.read_text())["nodes"]
    return sum(1 for node in nodes.values() if node["resource_type"] in ("model", "test", "unit_test"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[20_000, 1_000_000])
    args = parser.parse_args()

    from orchestration.generator import generate

    checks = Targets()
    for events in args.events:
        with tempfile.TemporaryDirectory(prefix="cdp_engines_") as scratch:
            root = Path(scratch)
            generate(events=events, profiles=max(events // 10, 100), days=60, seed=15, out=root / "sample",
                     end_date=dt.date(2026, 3, 31))  # fmt: skip
            figures = {engine: run_engine(root, root / "sample", engine) for engine in ("duckdb", "spark")}
        duck, spark = figures["duckdb"], figures["spark"]
        print(f"\n{events:,} events (load, dbt build, 2 syncs to files; as_of {AS_OF})", flush=True)
        for engine, found in figures.items():
            print(
                f"  {engine:<6} whole pipeline {found['pipeline_s']:8.1f} s   dbt step {found.get('dbt_step_s', 0):8.1f} s"
                f"   one-view dbt run {found['one_view_dbt_run_s']:6.1f} s",
                flush=True,
            )
        print(
            f"  spark / duckdb: {spark['pipeline_s'] / duck['pipeline_s']:.1f}x; Spark's fixed costs: "
            f"{spark['one_view_dbt_run_s']:.0f} s per dbt invocation before any model (JVM + SparkSession + "
            f"Derby metastore + dbt parse) and {dbt_nodes()} dbt nodes per build, each at least one Spark job "
            f"(planning, scheduling, Parquet commit) however small its input",
            flush=True,
        )
        for table in COUNTED:
            checks.same(f"{table} rows at {events:,} events: duckdb vs spark", duck[table], spark[table])
    checks.finish()


if __name__ == "__main__":
    main()
