"""The whole pipeline end to end, as a user runs it: `cdp ingest`, then `cdp run`, as subprocesses.

    python benchmarks/pipeline.py                       # 1M events, 100k people, 90 days
    python benchmarks/pipeline.py --events 10000000     # the large run (1M people)

Stages, each timed from outside (wall, CPU of the whole process tree, peak RSS of the tree sampled
every 0.1 s):

1. `cdp generate` (not timed against a target), then a bare DuckDB `read_ndjson` + INSERT of the same
   files, the yardstick for ingestion;
2. `cdp ingest DIR` and `cdp run` (the first, full build);
3. (a) `cdp run` again with no new data;
4. (b) a new day holding 1% more events (copies of existing events with new message ids, a few of
   them late: an old timestamp arriving today), identify calls linking an anonymous-only profile to
   another profile's user id (merges), `cdp ingest` of that day and `cdp run`;
5. (c) `cdp run --full-refresh`, then every table of (b) compared with (c) row for row.

Within each `cdp run`: the Dagster steps (ingestion, the dbt build, each sync) from the run's own
event log, each dbt node from dbt's `run_results.json`, and the fixed overhead (wall time outside any
step). `as_of` is pinned for every run so (b) and (c) are evaluated at the same moment.
Exits 1 when a target is missed (see `targets.py`).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import psutil
from load_events import BARE_INSERT
from targets import Targets

REPO = Path(__file__).resolve().parent.parent
CDP = str(Path(sys.executable).parent / "cdp")
END_DATE = dt.date(2026, 11, 30)
# Tables an incremental run and a full refresh must agree on: every table but history (which a full
# refresh never erases), sync state and the load bookkeeping.
HISTORY = {"audience_membership_history", "audience_sizes", "profile_merges"}
NOT_COMPARED = {"loaded_files", "rejected_events", "deletion_requests", "suppressed_identifiers"}


@dataclass
class Stage:
    name: str
    wall: float
    cpu: float
    peak_rss: int  # bytes, the whole process tree, sampled every 0.1 s
    output: str = ""
    steps: dict[str, float] = field(default_factory=dict)  # Dagster step -> seconds
    nodes: list[tuple[str, str, float]] = field(default_factory=list)  # dbt (resource type, name, seconds)


def _tree_rss(process: psutil.Process) -> int:
    try:
        processes = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total


def run_stage(name: str, command: list[str], env: dict[str, str]) -> Stage:
    """Run one command, measuring its whole process tree (dbt runs as a grandchild of `cdp run`)."""
    print(f"-- {name}: {' '.join(command)}", flush=True)
    before = os.times()
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watched = psutil.Process(child.pid)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            peak[0] = max(peak[0], _tree_rss(watched))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = child.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - started
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    if child.returncode != 0:
        print(output[-4000:], file=sys.stderr)
        raise SystemExit(f"{name} failed with exit code {child.returncode}")
    # Said as soon as it ends, so a run stopped part-way still leaves its figures.
    print(
        f"   {name}: wall {wall:.1f} s, CPU {cpu:.1f} s, peak RSS {_mb(peak[0])}, load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return Stage(name, wall, cpu, peak[0], output)


def newest_run_results(since: float) -> list[tuple[str, str, float]]:
    """dbt nodes of the build that ended after `since`: (resource type, name, seconds)."""
    found = [
        p for p in (REPO / "dbt_project" / "target").rglob("run_results.json") if p.stat().st_mtime >= since
    ]
    if not found:
        return []
    latest = max(found, key=lambda p: p.stat().st_mtime)
    results = json.loads(latest.read_text())["results"]
    nodes = []
    for result in results:
        kind, _, *rest = result["unique_id"].split(".")
        nodes.append((kind, rest[-1] if rest else result["unique_id"], float(result["execution_time"])))
    return nodes


def dagster_steps(home: Path, since: float) -> dict[str, float]:
    """Seconds per step of every Dagster run that started after `since` (the runs of one `cdp run`)."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    steps: dict[str, float] = {}
    with dg.DagsterInstance.get() as instance:
        for record in instance.get_run_records():
            if record.start_time is None or record.start_time < since:
                continue
            for stat in instance.get_run_step_stats(record.dagster_run.run_id):
                if stat.start_time and stat.end_time:
                    steps[stat.step_key] = steps.get(stat.step_key, 0.0) + stat.end_time - stat.start_time
    return steps


def cdp_run(name: str, env: dict[str, str], home: Path, as_of: str, *extra: str) -> Stage:
    started = time.time()
    stage = run_stage(name, [CDP, "run", "--as-of", as_of, *extra], env)
    stage.steps = dagster_steps(home, started)
    stage.nodes = newest_run_results(started)
    return stage


def bare_insert(files: list[str], work: Path) -> Stage:
    """The yardstick: read_ndjson + INSERT of the same files, no validation, no dedupe."""
    from orchestration.ingestion.schema import RAW_EVENTS_DDL

    path = work / "bare.duckdb"
    con = duckdb.connect(str(path))
    con.execute(RAW_EVENTS_DDL)
    started, cpu = time.perf_counter(), time.process_time()
    con.execute(BARE_INSERT, {"files": files})
    stage = Stage("bare read_ndjson + INSERT", time.perf_counter() - started, time.process_time() - cpu, 0)
    con.close()
    path.unlink()
    return stage


def write_append_day(generated: Path, warehouse: Path, out: Path, share: float, seed: int) -> tuple[int, int]:
    """A new day: `share` of the events again (new message ids; one in twenty keeps its old timestamp,
    a late event), plus identify calls that each merge an anonymous-only profile into another
    profile holding a user id. Returns (events written, merges planted)."""
    day = END_DATE + dt.timedelta(days=1)
    folder = out / day.isoformat() / "web"
    folder.mkdir(parents=True)
    files = [str(p) for p in sorted(generated.rglob("*.jsonl.gz"))]
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    copies = con.execute(
        f"""
        with sampled as (
            select json from read_ndjson_objects($files) using sample {share * 100}% (bernoulli, {seed})
        ),
        stamped as (
            select json, hash(json ->> 'messageId', {seed}) as h,
                strftime(timestamp '{day}' + to_milliseconds(h % 86400000), '%Y-%m-%dT%H:%M:%S.%gZ') as today
            from sampled
        )
        select json_merge_patch(json, case when h % 20 = 0
            then json_object('messageId', md5(json ->> 'messageId' || '{seed}'), 'receivedAt', today)
            else json_object('messageId', md5(json ->> 'messageId' || '{seed}'), 'timestamp', today,
                'originalTimestamp', today, 'sentAt', today, 'receivedAt', today)
        end)::varchar
        from stamped
        """,
        {"files": files},
    ).fetchall()
    merges = max(1, len(copies) // 10)
    warehouse_con = duckdb.connect(str(warehouse), read_only=True)
    pairs = warehouse_con.execute(
        """
        with kinds as (
            select profile_id,
                count(*) filter (where id_type = 'user_id') as user_ids,
                min(id_value) filter (where id_type = 'anonymous_id') as anonymous_id,
                min(id_value) filter (where id_type = 'user_id') as user_id
            from identity_graph group by profile_id
        ),
        anonymous as (
            select anonymous_id, row_number() over (order by hash(profile_id)) as n
            from kinds where user_ids = 0 and anonymous_id is not null
        ),
        known as (
            select user_id, row_number() over (order by hash(profile_id)) as n from kinds where user_ids = 1
        )
        select anonymous_id, user_id from anonymous join known using (n) where n <= $merges
        """,
        {"merges": merges},
    ).fetchall()
    warehouse_con.close()
    noon = f"{day}T12:00:00.000Z"
    identifies = [
        json.dumps(
            {
                "messageId": f"bench-merge-{seed}-{n}",
                "type": "identify",
                "anonymousId": anonymous_id,
                "userId": user_id,
                "traits": {},
                "context": {"library": {"name": "analytics.js", "version": "4.1.0"}},
                "timestamp": noon,
                "sentAt": noon,
                "receivedAt": noon,
            }
        )
        for n, (anonymous_id, user_id) in enumerate(pairs)
    ]
    with (folder / "events-0000.jsonl").open("w") as handle:
        for (line,) in copies:
            handle.write(line + "\n")
        for line in identifies:
            handle.write(line + "\n")
    return len(copies) + len(identifies), len(pairs)


def compared_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    rows = con.execute(
        """
        select table_schema, table_name from information_schema.tables
        where table_catalog = 'incremental' and table_schema not like '%staging%'
            and table_name not like 'sync_%' and table_name not like '\\_%' escape '\\'
        order by 1, 2
        """
    ).fetchall()
    return [(s, t) for s, t in rows if t not in NOT_COMPARED]


def compare(incremental: Path, full: Path) -> dict[str, int]:
    """Rows in one table and not the other (both ways, multiset), per table."""
    con = duckdb.connect()
    con.execute(f"attach '{incremental}' as incremental (read_only)")
    con.execute(f"attach '{full}' as full_refresh (read_only)")
    differences = {}
    for schema, table in compared_tables(con):
        a, b = f'incremental."{schema}"."{table}"', f'full_refresh."{schema}"."{table}"'
        try:
            (count,) = con.execute(
                f"select count(*) from ((from {a} except all from {b}) union all (from {b} except all from {a}))"
            ).fetchone()
        except duckdb.Error as error:
            print(f"   cannot compare {schema}.{table}: {str(error).splitlines()[0]}")
            count = -1
        differences[f"{schema}.{table}"] = count
    con.close()
    return differences


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"


def print_stage(stage: Stage) -> None:
    print(
        f"{stage.name:<34} wall {stage.wall:7.1f} s  CPU {stage.cpu:7.1f} s  peak RSS {_mb(stage.peak_rss)}",
        flush=True,
    )
    if stage.steps:
        for step, seconds in sorted(stage.steps.items(), key=lambda kv: -kv[1]):
            print(f"    step {step:<48} {seconds:7.1f} s")
        print(f"    fixed overhead (outside any step) {stage.wall - sum(stage.steps.values()):7.1f} s")
    if stage.nodes:
        by_kind: dict[str, float] = {}
        for kind, _, seconds in stage.nodes:
            by_kind[kind] = by_kind.get(kind, 0.0) + seconds
        print(
            "    dbt by kind: "
            + ", ".join(
                f"{k} {v:.1f} s ({sum(1 for n in stage.nodes if n[0] == k)})"
                for k, v in sorted(by_kind.items())
            )
        )
        for kind, name, seconds in sorted(stage.nodes, key=lambda n: -n[2]):
            if kind in ("model", "snapshot") or seconds >= 0.5:
                print(f"    dbt {kind:<9} {name:<44} {seconds:7.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--profiles", type=int, help="default: events / 10")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--append-share", type=float, default=0.01, help="size of the new day (b)")
    parser.add_argument("--work", type=Path, help="keep everything here (default: a temporary folder)")
    args = parser.parse_args()
    profiles = args.profiles or max(args.events // 10, 1)
    work = args.work or Path(tempfile.mkdtemp(prefix="cdp-pipeline-"))
    home = work / "home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = {**os.environ, "CDP_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    (home / "dagster").mkdir()
    os.environ["CDP_HOME"] = str(home)
    from orchestration.demo import write_demo_destinations

    write_demo_destinations(home)  # one sync, to the demo receiver on 127.0.0.1
    print(f"load average before: {os.getloadavg()}; work folder {work}", flush=True)

    generated = work / "generated"
    if not (generated / "_ground_truth").exists():
        shutil.rmtree(generated, ignore_errors=True)
        run_stage(
            "generate",
            [
                CDP,
                "generate",
                "--events",
                str(args.events),
                "--profiles",
                str(profiles),
                "--days",
                str(args.days),
                "--seed",
                str(args.seed),
                "--out",
                str(generated),
                "--end-date",
                END_DATE.isoformat(),
            ],
            env,
        )
    files = sorted(str(p) for p in generated.rglob("*.jsonl.gz"))
    stages: list[Stage] = [bare_insert(files, work)]
    as_of = (END_DATE + dt.timedelta(days=1)).isoformat() + "T00:00:00"
    next_as_of = (END_DATE + dt.timedelta(days=2)).isoformat() + "T00:00:00"
    stages.append(run_stage("cdp ingest (all days)", [CDP, "ingest", str(generated)], env))
    stages.append(cdp_run("cdp run (first, full)", env, home, as_of))
    stages.append(cdp_run("(a) cdp run, no new data", env, home, as_of))
    appended, merges = write_append_day(
        generated, home / "warehouse.duckdb", work / "append", args.append_share, args.seed
    )
    shutil.rmtree(work / "append-landed", ignore_errors=True)
    stages.append(
        run_stage(f"(b) cdp ingest (+{appended:,} events)", [CDP, "ingest", str(work / "append")], env)
    )
    stages.append(cdp_run("(b) cdp run after the new day", env, home, next_as_of))
    shutil.copy(home / "warehouse.duckdb", work / "incremental.duckdb")
    stages.append(cdp_run("(c) cdp run --full-refresh", env, home, next_as_of, "--full-refresh"))

    print()
    print(
        f"{args.events:,} events, {profiles:,} people, {args.days} days; appended {appended:,} events "
        f"with {merges:,} planted merges; load average now {os.getloadavg()}"
    )
    for stage in stages:
        print_stage(stage)
    bare, ingest = stages[0], stages[1]
    full_run, rerun, append_ingest, append_run, refresh = (
        stages[2],
        stages[3],
        stages[4],
        stages[5],
        stages[6],
    )
    first_total = ingest.wall + full_run.wall
    append_total = append_ingest.wall + append_run.wall
    print()
    print(
        f"ingest speed / bare speed: {bare.wall / ingest.wall:.0%} wall ({bare.cpu / max(ingest.cpu, 1e-9):.0%} CPU)"
    )
    print(f"first full run (ingest + run): {first_total:.1f} s")
    print(f"no-change rerun / first run: {rerun.wall / full_run.wall:.0%}")
    print(f"1% append (ingest + run) / first full run: {append_total / first_total:.0%}")
    print(f"full refresh / first run: {refresh.wall / full_run.wall:.0%}")

    differences = compare(work / "incremental.duckdb", home / "warehouse.duckdb")
    print()
    print("(b) incremental vs (c) full refresh, rows that differ per table:")
    for table, count in differences.items():
        note = " (history: a full refresh keeps it, not compared)" if table.split(".")[-1] in HISTORY else ""
        print(f"    {table:<56} {count:>9,}{note}")

    checks = Targets()
    checks.at_least(
        "cdp ingest speed / bare read_ndjson + INSERT speed (wall)", bare.wall / ingest.wall, 0.6, "{:.2f}"
    )
    if args.events <= 1_000_000:
        checks.at_most("no-change rerun (s)", rerun.wall, 20.0, "{:.1f}")
    if args.events >= 10_000_000:
        checks.at_most("first full run, ingest + run (s)", first_total, 600.0, "{:.0f}")
        checks.at_most("peak RSS of any stage (GB)", max(s.peak_rss for s in stages) / 2**30, 8.0, "{:.2f}")
        checks.at_most("1% append, ingest + run / first full run", append_total / first_total, 0.15, "{:.0%}")
    for table, count in differences.items():
        if table.split(".")[-1] not in HISTORY:
            checks.same(f"{table}: rows differing, incremental vs full refresh", count, 0)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    main()
