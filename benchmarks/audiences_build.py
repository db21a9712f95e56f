"""How long the audience models take to build against `profile_traits` on the same data (default 1M
events over 100k profiles): every shipped audience plus 20 generated event-condition audiences.

The inputs (`int_events_resolved`, `profiles`) are synthesised as in benchmarks/traits_build.py. A copy of
the dbt project gets the 20 extra audience files; then, in their own `dbt run` processes, as Dagster runs
them: `profile_traits` (with the account models it needs), then every audience model
(int_audience_event_facts, int_audience_members_evaluated, audience_membership_history,
audience_membership, audience_sizes and the audience views). Event conditions of all audiences share one
pass over the events, so the target is: all audiences together in less time than `profile_traits`.

    .venv/bin/python benchmarks/audiences_build.py [--events 1000000] [--profiles 100000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from targets import Targets  # noqa: E402
from traits_build import AS_OF, synthesise_inputs  # noqa: E402

from orchestration.settings import DBT_PROJECT_DIR  # noqa: E402

AUDIENCE_MODELS = [
    "int_audience_event_facts",
    "int_audience_members_evaluated",
    "audience_membership_history",
    "audience_membership",
    "audience_sizes",
    "tag:audience",
]
EVENTS = ["Order Completed", "Product Viewed", "Support Ticket Opened", "Logged In", "Page Viewed"]


def generated_audience(number: int) -> str:
    """The number-th extra audience: event counts, absences, aggregates and funnels, varied windows."""
    event = EVENTS[number % len(EVENTS)]
    window = [7, 14, 30, 60, 90][number % 5]
    kind = number % 4
    if kind == 0:
        condition = (
            f"{{'performed': '{event}', 'times': {{'at_least': {1 + number % 3}}}, 'window_days': {window}}}"
        )
    elif kind == 1:
        condition = (
            f"{{'all': [{{'performed': '{event}', 'window_days': {window * 2}}}, "
            f"{{'did_not_perform': '{EVENTS[(number + 1) % len(EVENTS)]}', 'window_days': {window}}}]}}"
        )
    elif kind == 2:
        condition = (
            f"{{'aggregate': 'sum', 'event': 'Order Completed', 'property': 'revenue', 'op': '>', "
            f"'value': {100 * (1 + number % 4)}, 'window_days': {window}, "
            f"'where': [{{'property': 'brand', 'op': 'in', 'value': ['brand_{number % 7}', 'brand_{(number + 3) % 7}']}}]}}"
        )
    else:
        condition = (
            f"{{'funnel': ['Product Viewed', 'Order Completed'], 'within_hours': {24 * (1 + number % 3)}, "
            f"'completed': {number % 2 == 0}, 'window_days': {window}}}"
        )
    return f"{{{{ cdp.audience(description='Generated benchmark audience {number}.', conditions={condition}) }}}}\n"


def dbt_run(project: Path, target: Path, select: list[str]) -> tuple[float, dict[str, float]]:
    """Wall time of one `dbt run` and dbt's execution time per model."""
    dbt = Path(sys.executable).parent / "dbt"
    started = time.perf_counter()
    done = subprocess.run(
        # One thread: dbt's per-model times then add up to the time the models take, not overlapping waits.
        [str(dbt), "run", "--threads", "1", "--select", *select, "--vars", json.dumps({"as_of": AS_OF}),
         "--project-dir", str(project), "--profiles-dir", str(project), "--target-path", str(target)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(done.stdout[-3000:])
    results = json.loads((target / "run_results.json").read_text())["results"]
    return wall, {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cdp-audiences-bench-") as scratch:
        home = Path(scratch)
        os.environ["CDP_HOME"] = str(home)
        project = home / "dbt_project"
        shutil.copytree(
            DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
        )
        files = 20 + len(list((project / "models" / "audiences").glob("*.sql")))
        for number in range(20):
            (project / "models" / "audiences" / f"generated_{number:02d}.sql").write_text(
                generated_audience(number)
            )
        started = time.perf_counter()
        synthesise_inputs(home / "warehouse.duckdb", args.events, args.profiles)
        with duckdb.connect(str(home / "warehouse.duckdb")) as con:
            # The identifier columns audiences read (reachability, payload), as the identity marts have them.
            con.execute(
                """
                create or replace table main.profiles as
                select *, 'usr_' || profile_id as user_id,
                    case when hash(profile_id) % 10 < 7 then profile_id || '@example.com' end as email,
                    cast(null as varchar) as phone, cast(null as varchar) as device_id
                from main.profiles
                """
            )
        print(
            f"inputs: {args.events:,} events over {args.profiles:,} profiles in {time.perf_counter() - started:.1f}s"
        )
        traits, audiences = [], []
        for _ in range(args.repeat):
            _, timings = dbt_run(
                project, home / "target", ["profile_traits", "profile_accounts", "accounts", "account_traits"]
            )
            traits.append(timings["profile_traits"])
            _, timings = dbt_run(project, home / "target", AUDIENCE_MODELS)
            audiences.append(sum(timings.values()))
            per_model = timings
        with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
            declared, members = con.execute(
                "select count(distinct audience), count(*) from audience_membership"
            ).fetchone()
            (facts,) = con.execute(
                "select count(*) - 1 from information_schema.columns where table_name = 'int_audience_event_facts'"
            ).fetchone()
    print(f"audiences: {files} files, {declared} non-empty, "
          f"{members:,} memberships; int_audience_event_facts: {facts} shared fact columns")  # fmt: skip
    print(
        f"profile_traits (dbt execution_time) median: {statistics.median(traits):.2f}s  runs: {[round(t, 2) for t in traits]}"
    )
    print(
        f"all audience models together median: {statistics.median(audiences):.2f}s  runs: {[round(a, 2) for a in audiences]}"
    )
    core = sum(seconds for name, seconds in per_model.items() if name in AUDIENCE_MODELS)
    print(
        f"of which the shared evaluation (facts, members, history, membership, sizes): {core:.2f}s; "
        f"the {len(per_model) - 5} audience views: {sum(per_model.values()) - core:.2f}s"
    )
    print(
        "last run per model: "
        + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in sorted(per_model.items()))
    )
    ratio = statistics.median(audiences) / statistics.median(traits)
    checks = Targets()
    checks.at_most("all audience models / profile_traits (dbt execution time)", ratio, 1.0)
    checks.finish()


if __name__ == "__main__":
    main()
