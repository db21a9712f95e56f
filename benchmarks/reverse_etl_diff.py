"""Diff benchmark: a 1M-member audience against its snapshot with 1% changes, DuckDB vs pandas.

    .venv/bin/python benchmarks/reverse_etl_diff.py [--members 1000000] [--repeat 3]

Prints the median seconds of the engine's diff (build_change_set: hash every payload, compare with
sync_snapshots, materialise the change set) beside the same diff written in pandas. Exits 1 unless the
engine's diff takes < 5 s and both find the same adds, changes and removes.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd
from targets import Targets

from reverse_etl.config import SyncConfig
from reverse_etl.diff import CHANGES_TABLE, audience_source, build_change_set
from reverse_etl.state import ensure_state_tables


def prepare(con: duckdb.DuckDBPyConnection, members: int) -> None:
    con.execute(
        f"""
        create or replace table audience_membership as
        select 'big' as audience, 'p' || lpad(cast(i as varchar), 8, '0') as profile_id,
            timestamp '2026-01-01' as entered_at, 'user' || i || '@example.com' as email, 'u' || i as user_id,
            case when i % 3 = 0 then 'pro' else 'free' end as plan, (i % 1000) * 1.5 as lifetime_value
        from range({members}) t(i)
        """
    )
    ensure_state_tables(con)
    source = audience_source(con, SyncConfig(audience="big", destination="bench"))
    # The snapshot of a previous, fully acknowledged sync...
    con.execute(
        f"""
        insert into sync_snapshots (audience, destination, record_key, payload_hash, payload, synced_at, run_id)
        select 'big', 'bench', record_key, md5(cast(payload as varchar)), payload, now(), 'r0'
        from ({source.rows_sql()})
        """
    )
    # ...then 1% of members change: 0.5% new values, 0.25% leave, 0.25% join.
    step = 400
    con.execute(
        f"update audience_membership set plan = 'enterprise' where hash(profile_id) % {step // 2} = 0"
    )
    con.execute(f"delete from audience_membership where hash(profile_id) % {step} = 1")
    con.execute(
        f"""
        insert into audience_membership
        select 'big', 'n' || lpad(cast(i as varchar), 8, '0'), timestamp '2026-02-01', 'new' || i || '@example.com',
            'n' || i, 'free', 0.0
        from range({members // step}) t(i)
        """
    )
    con.execute("checkpoint")


def duckdb_diff(con: duckdb.DuckDBPyConnection) -> tuple[float, float, dict[str, int]]:
    started = time.perf_counter()
    source = audience_source(con, SyncConfig(audience="big", destination="bench"))  # includes key checks
    validated = time.perf_counter()
    counts = build_change_set(con, source, destination="bench")
    finished = time.perf_counter()
    return finished - started, finished - validated, counts


PAYLOAD = ["profile_id", "email", "user_id", "plan", "lifetime_value"]


def pandas_hashes(frame: pd.DataFrame) -> list[str]:
    payload = frame[PAYLOAD].to_json(orient="records", lines=True)
    return [hashlib.md5(line.encode()).hexdigest() for line in payload.splitlines()]


def pandas_diff(con: duckdb.DuckDBPyConnection) -> tuple[float, dict[str, int]]:
    current = con.execute(f"select {', '.join(PAYLOAD)} from audience_membership where audience = 'big'").df()
    # The snapshot as pandas would have stored it: the acknowledged payloads, hashed the way pandas hashes.
    previous = con.execute(
        """
        select record_key as profile_id, payload->>'email' as email, payload->>'user_id' as user_id,
            payload->>'plan' as plan, cast(payload->'lifetime_value' as double) as lifetime_value
        from sync_snapshots where audience = 'big' and destination = 'bench'
        """
    ).df()
    snapshot = previous[["profile_id"]].assign(old_hash=pandas_hashes(previous))
    started = time.perf_counter()
    current["payload_hash"] = pandas_hashes(current)
    merged = current[["profile_id", "payload_hash"]].merge(
        snapshot, on="profile_id", how="outer", indicator=True
    )
    counts = {
        "add": int((merged["_merge"] == "left_only").sum()),
        "change": int(((merged["_merge"] == "both") & (merged["payload_hash"] != merged["old_hash"])).sum()),
        "remove": int((merged["_merge"] == "right_only").sum()),
    }
    return time.perf_counter() - started, counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        con = duckdb.connect(str(Path(folder) / "bench.duckdb"))
        started = time.perf_counter()
        prepare(con, args.members)
        print(f"prepared {args.members:,} members + snapshot in {time.perf_counter() - started:.1f}s")
        runs = [duckdb_diff(con) for _ in range(args.repeat)]
        counts = runs[-1][2]
        pandas_runs = [pandas_diff(con) for _ in range(args.repeat)]
        (changes,) = con.execute(f"select count(*) from {CHANGES_TABLE}").fetchone()
        con.close()
    total = statistics.median(r[0] for r in runs)
    diff_only = statistics.median(r[1] for r in runs)
    pandas_seconds = statistics.median(r[0] for r in pandas_runs)
    print(f"change set: {counts} ({changes:,} rows, {changes / args.members:.2%} of members)")
    print(f"duckdb diff (hash + compare + materialise), median of {args.repeat}: {diff_only:.2f}s")
    print(f"duckdb diff incl. key/column validation,   median of {args.repeat}: {total:.2f}s")
    print(f"pandas diff (hash + merge, data already in memory), median: {pandas_seconds:.2f}s")
    checks = Targets()
    checks.same("change set: duckdb vs pandas (add, change, remove)", counts, pandas_runs[-1][1])
    checks.same("rows materialised vs counted", changes, sum(counts.values()))
    checks.same("runs that found another change set than the last", sum(r[2] != counts for r in runs), 0)
    checks.below(f"duckdb diff incl. validation for {args.members:,} members, seconds", total, 5.0)
    checks.finish()


if __name__ == "__main__":
    main()
