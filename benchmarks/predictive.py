"""Training and scoring times of the predictive models (targets: training on 100k profiles under 2 minutes,
scoring 1M profiles under 1 minute).

Planted-futures events for `--profiles` people (default 100k) are generated, read straight into a scratch
warehouse as `int_events_resolved` and `profiles` (one userId per person, so identity resolution is not
what is timed), and `dbt run --select int_profile_features` computes their features in its own process.
Then, in this process: every model trained, judged against its baseline and the personas found
(`run_models`, the work of the `profile_predictions` asset), and the fitted models applied to the scoring
features of 100k and of 1M profiles (the 100k frame repeated ten times under new profile ids; `rescore`),
with the seconds per stage (model matrix, each score column, personas, the result frame) and each model's
number of trees.

    .venv/bin/python benchmarks/predictive.py [--profiles 100000] [--score-profiles 1000000]

Also exits 1 if a model is not published (a fast model that loses to its baseline is no figure).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd
from targets import Targets

from orchestration.generator.futures import generate_futures
from orchestration.predictive.run import rescore, run_models
from orchestration.predictive.settings import load_settings
from orchestration.predictive.warehouse import read_features
from orchestration.settings import DBT_PROJECT_DIR

END_DATE = dt.date(2026, 3, 1)
AS_OF = "2026-03-02 00:00:00"


def build_inputs(home: Path, profiles: int) -> float:
    """Events into int_events_resolved and profiles; returns the seconds dbt took for the features (in a
    copy of the dbt project, so its target/ never meets another build's)."""
    project = home / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    summary = generate_futures(profiles, 3, home / "input", END_DATE)
    files = [str(f) for f in summary.files]
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("create schema if not exists intermediate")
        con.execute(
            """
            create table intermediate.int_events_resolved as
            select "userId" as profile_id, "messageId" as event_id, type as event_type,
                coalesce(event, 'Identify') as event_name, cast("timestamp" as timestamp) as event_at,
                cast(properties as json) as properties, cast(context as json) as context
            from read_json($files, format = 'newline_delimited', timestampformat = '%Y-%m-%dT%H:%M:%S.%gZ')
            """,
            {"files": files},
        )
        con.execute(
            "create table main.profiles as select distinct profile_id from intermediate.int_events_resolved"
        )
    started = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "run", "--quiet", "--select", "int_profile_features",
         "--vars", json.dumps({"as_of": AS_OF})],
        cwd=project, env={**os.environ, "CDP_HOME": str(home)}, check=True,
    )  # fmt: skip
    return time.perf_counter() - started


def repeated(frame: pd.DataFrame, times: int) -> pd.DataFrame:
    copies = [frame.assign(profile_id=frame["profile_id"] + f"~{i}") for i in range(times)]
    return pd.concat(copies, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--score-profiles", type=int, default=1_000_000)
    args = parser.parse_args()
    checks = Targets()
    with tempfile.TemporaryDirectory(prefix="cdp-predictive-") as scratch:
        home = Path(scratch)
        features_seconds = build_inputs(home, args.profiles)
        with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
            training, scoring = read_features(con)
    print(
        f"features (dbt run int_profile_features, {args.profiles:,} profiles x 2 moments): {features_seconds:.1f} s"
    )

    started = time.perf_counter()
    run = run_models(training, scoring, load_settings(), seed=7)
    training_seconds = time.perf_counter() - started
    for outcome in run.all_outcomes:
        shown = {k: round(v, 3) for k, v in outcome.metrics.items() if isinstance(v, float)}
        trees = sum(getattr(e, "n_iter_", 0) for e in outcome.estimators.values())
        counted = f" trees={trees}" if outcome.estimators else ""
        print(f"  {outcome.model}: published={outcome.published} skipped={outcome.skipped}{counted} {shown}")
    print(f"training (every model + personas, {len(training):,} profiles): {training_seconds:.1f} s")
    checks.at_most(f"training seconds at {len(training):,} profiles", training_seconds, 120.0, "{:.1f}")
    for outcome in run.all_outcomes:
        if not outcome.model.startswith("goal_"):  # the planted data holds no pro subscriptions
            checks.same(f"{outcome.model} published", outcome.published, True)

    for size in (len(scoring), args.score_profiles):
        frame = repeated(scoring, -(-size // len(scoring))).head(size)
        stages: dict[str, float] = {}
        started = time.perf_counter()
        scores = rescore(run, frame, timings=stages)
        seconds = time.perf_counter() - started
        print(f"scoring {len(frame):,} profiles: {seconds:.1f} s ({len(scores.columns)} columns)")
        print("  " + ", ".join(f"{stage} {spent:.1f} s" for stage, spent in stages.items()))
        if size == args.score_profiles:
            checks.at_most(f"scoring seconds at {size:,} profiles", seconds, 60.0, "{:.1f}")
        checks.same(f"rows scored at {size:,}", len(scores), len(frame))
    print(f"load average: {os.getloadavg()[0]:.2f} (1 min)")
    checks.finish()


if __name__ == "__main__":
    main()
