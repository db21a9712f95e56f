"""How long `profile_traits` takes to build for N events over M profiles (default 1M / 100k).

The inputs of the model (`int_events_resolved`, `profiles`) are synthesised straight into a scratch
warehouse with set-based SQL, so the figure is the trait computation alone, not identity resolution.
Then `dbt run --select profile_traits` runs in its own process, as Dagster runs it, `--repeat` times.

    .venv/bin/python benchmarks/traits_build.py [--events 1000000] [--profiles 100000] [--repeat 2]

No time target is declared for this stage; the script exits 1 if profile_traits does not hold exactly one
row per input profile (a fast build of the wrong rows is no figure).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from targets import Targets

from orchestration.settings import DBT_PROJECT_DIR

AS_OF = "2026-03-01 00:00:00"

# Shares of event names, roughly those of the generator's shop (page views dominate, orders are rare).
EVENT_MIX = [
    ("page", "Page Viewed", 0.40),
    ("track", "Product Viewed", 0.30),
    ("track", "Logged In", 0.08),
    ("identify", "Identify", 0.07),
    ("track", "Order Completed", 0.06),
    ("screen", "Screen Viewed", 0.04),
    ("track", "Support Ticket Opened", 0.02),
    ("track", "Trial Started", 0.015),
    ("track", "Subscription Started", 0.015),
]


def synthesise_inputs(warehouse: Path, events: int, profiles: int) -> None:
    cases = []
    edge = 0.0
    for event_type, event_name, share in EVENT_MIX:
        edge += share
        cases.append(f"when r < {edge:.4f} then struct_pack(t := '{event_type}', n := '{event_name}')")
    pick = "case " + " ".join(cases) + " else struct_pack(t := 'page', n := 'Page Viewed') end"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema if not exists intermediate")
        con.execute(
            f"""
            create or replace table intermediate.int_events_resolved as
            with draws as (
                select
                    i,
                    'p' || lpad(cast(hash(i) % {profiles} as varchar), 7, '0') as profile_id,
                    (hash(i * 7 + 1) % 1000000) / 1000000.0 as r,
                    cast(hash(i * 13 + 5) % 7 as bigint) as brand,
                    timestamp '{AS_OF}' - to_seconds(cast(hash(i * 31 + 3) % (180 * 86400) as bigint)) as event_at
                from range({events}) as t(i)
            ),
            kinds as (select *, {pick} as kind from draws)
            select
                profile_id,
                'evt-' || i as event_id,
                kind.t as event_type,
                kind.n as event_name,
                null::varchar as page_name,
                'usr_' || profile_id as user_id,
                null::varchar as anonymous_id,
                null::varchar as previous_id,
                null::varchar as group_id,
                null::varchar as email,
                null::varchar as device_id,
                null::varchar as advertising_id,
                event_at,
                event_at as received_at,
                false as is_future_timestamp,
                case kind.n
                    when 'Order Completed' then json_object('revenue', round(5 + r * 400, 2),
                        'brand', 'brand_' || brand, 'order_id', 'o' || i)
                    when 'Product Viewed' then json_object('brand', 'brand_' || brand, 'price', round(r * 90, 2))
                    when 'Support Ticket Opened' then json_object('priority',
                        ['low', 'normal', 'high', 'urgent'][1 + (brand % 4)])
                    when 'Trial Started' then json_object('plan', 'trial')
                    when 'Subscription Started' then json_object('plan', ['basic', 'pro'][1 + (brand % 2)])
                    when 'Logged In' then json_object('method', 'password')
                    else json_object('path', '/p/' || brand)
                end as properties,
                case when kind.t = 'identify'
                    then json_object('email', profile_id || '@example.com', 'first_name', 'N' || brand,
                                     'plan', ['trial', 'basic', 'pro'][1 + (brand % 3)])
                    else json_object() end as traits,
                json_object() as context,
                'web' as source,
                event_at as loaded_at
            from kinds
            """
        )
        con.execute(
            """
            create or replace table main.profiles as
            select profile_id, min(event_at) as first_seen, max(event_at) as last_seen
            from intermediate.int_events_resolved group by profile_id
            """
        )


def run_model(project: Path, target: Path) -> tuple[float, float]:
    """Wall time of the whole `dbt run` and dbt's own execution time of the model."""
    dbt = Path(sys.executable).parent / "dbt"
    started = time.perf_counter()
    done = subprocess.run(
        [str(dbt), "run", "--select", "profile_traits", "--vars", json.dumps({"as_of": AS_OF}),
         "--project-dir", str(project), "--profiles-dir", str(project), "--target-path", str(target)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(done.stdout[-3000:])
    results = json.loads((target / "run_results.json").read_text())["results"]
    return wall, results[0]["execution_time"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cdp-traits-bench-") as scratch:
        home = Path(scratch)
        os.environ["CDP_HOME"] = str(home)
        started = time.perf_counter()
        synthesise_inputs(home / "warehouse.duckdb", args.events, args.profiles)
        print(
            f"inputs: {args.events:,} events over {args.profiles:,} profiles in {time.perf_counter() - started:.1f}s"
        )
        runs = [run_model(DBT_PROJECT_DIR, home / "target") for _ in range(args.repeat)]
        with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
            rows, distinct, profiles, columns = con.execute(
                "select (select count(*) from profile_traits), (select count(distinct profile_id) from profile_traits), "
                "(select count(*) from main.profiles), "
                "(select count(*) from information_schema.columns where table_name = 'profile_traits')"
            ).fetchone()
    walls = [wall for wall, _ in runs]
    models = [model for _, model in runs]
    print(f"profile_traits: {rows:,} rows x {columns} columns")
    print(
        f"model build (dbt execution_time) median: {statistics.median(models):.2f}s  runs: {[round(m, 2) for m in models]}"
    )
    print(
        f"dbt run wall time incl. parse median: {statistics.median(walls):.2f}s  runs: {[round(w, 2) for w in walls]}"
    )
    checks = Targets()
    checks.same(
        "profile_traits rows, distinct profile ids vs input profiles", (rows, distinct), (profiles, profiles)
    )
    checks.finish()


if __name__ == "__main__":
    main()
