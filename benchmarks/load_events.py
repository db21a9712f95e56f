"""Loader speed against a bare DuckDB `read_ndjson` + `INSERT` of the same files.

    python benchmarks/load_events.py [--input DIR] [--events 1000000] [--repeat 3]

Without --input, writes 1M Segment-spec events as gzipped NDJSON (the generator's layout:
`DIR/YYYY-MM-DD/<source>/events-NNNN.jsonl.gz`), using `orchestration.generator` when it exists, else
a SQL stand-in of the same shape. Each run loads into a fresh warehouse file. Prints events/s for both
and the ratio (the target is loader >= 80% of bare, wall clock), and checks that both ended with the same
events (the bare insert keeps re-deliveries, so its distinct message ids are compared with the loader's
rows); exits 1 if either target is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
from targets import Targets

from orchestration.ingestion.landing import event_files
from orchestration.ingestion.loader import load_files
from orchestration.ingestion.schema import RAW_EVENTS_DDL

BARE_INSERT = """
insert into raw_events
select messageId, type, event, name, userId, anonymousId, previousId, groupId,
    timezone('UTC', "timestamp"::timestamptz), timezone('UTC', originalTimestamp::timestamptz),
    timezone('UTC', sentAt::timestamptz), timezone('UTC', receivedAt::timestamptz),
    properties, traits, context, 'bench', current_date, false, filename, null, now()::timestamp
from read_ndjson($files, filename = true, columns = {
    messageId: 'VARCHAR', type: 'VARCHAR', event: 'VARCHAR', name: 'VARCHAR', userId: 'VARCHAR',
    anonymousId: 'VARCHAR', previousId: 'VARCHAR', groupId: 'VARCHAR', timestamp: 'VARCHAR',
    originalTimestamp: 'VARCHAR', sentAt: 'VARCHAR', receivedAt: 'VARCHAR',
    properties: 'JSON', traits: 'JSON', context: 'JSON'
})
"""

STAND_IN = """
copy (
    select
        'msg-{part}-' || i as messageId,
        ['track', 'identify', 'page', 'track', 'screen'][i % 5 + 1] as type,
        case when i % 5 in (0, 3) then ['Product Viewed', 'Order Completed', 'Signed Up'][i % 3 + 1] end as event,
        case when i % 5 in (2, 4) then 'Home' end as name,
        case when i % 3 = 0 then 'user-' || (i % 50000) end as userId,
        'anon-' || hash(i % 80000) as anonymousId,
        strftime(timestamp '{day}' + to_seconds(i % 86400), '%Y-%m-%dT%H:%M:%S.%gZ') as timestamp,
        strftime(timestamp '{day}' + to_seconds(i % 86400 + 2), '%Y-%m-%dT%H:%M:%S.%gZ') as sentAt,
        strftime(timestamp '{day}' + to_seconds(i % 86400 + 3), '%Y-%m-%dT%H:%M:%S.%gZ') as receivedAt,
        {{'product_id': 'p-' || (i % 977), 'price': (i % 100) * 1.5, 'currency': 'USD'}} as properties,
        case when i % 5 = 1 then {{'email': 'user' || (i % 50000) || '@example.com', 'plan': 'pro'}} end as traits,
        {{'ip': '10.0.' || (i % 200) || '.' || (i % 250),
          'library': {{'name': 'analytics-python', 'version': '2.3.4'}},
          'page': {{'url': 'https://shop.example.com/p/' || (i % 977), 'referrer': 'https://www.google.com/'}},
          'userAgent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0', 'locale': 'en-US'}}
            as context
    from range({count}) t(i)
) to '{path}' (format json, compression gzip)
"""


def write_sample(out: Path, events: int) -> None:
    try:
        from orchestration.generator import generate
    except ImportError:
        generate = None
    if generate is not None:
        generate(events=events, profiles=max(events // 20, 1), days=10, seed=7, out=out)
        return
    con = duckdb.connect()
    files_per_day, days = 2, 10
    per_file = events // (files_per_day * days)
    for d in range(days):
        day = dt.date(2026, 11, 1) + dt.timedelta(days=d)
        folder = out / day.isoformat() / "web"
        folder.mkdir(parents=True, exist_ok=True)
        for part in range(files_per_day):
            path = folder / f"events-{part:04d}.jsonl.gz"
            con.execute(STAND_IN.format(part=f"{d}-{part}", day=day, count=per_file, path=path))


def bare_load(files: list[str], warehouse: Path) -> tuple[float, float, int, int]:
    """Seconds, CPU seconds, rows inserted and distinct message ids among them."""
    con = duckdb.connect(str(warehouse))
    con.execute(RAW_EVENTS_DDL)
    started, cpu = time.perf_counter(), time.process_time()
    con.execute(BARE_INSERT, {"files": files})
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    rows, distinct = con.execute("select count(*), count(distinct message_id) from raw_events").fetchone()
    con.close()
    return elapsed, cpu, rows, distinct


def our_load(files: list[Path], warehouse: Path) -> tuple[float, float, int, int]:
    """Seconds, CPU seconds, events accepted and rows in raw_events afterwards."""
    con = duckdb.connect(str(warehouse))
    started, cpu = time.perf_counter(), time.process_time()
    result = load_files(con, files, dt.date(2026, 11, 1))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    (rows,) = con.execute("select count(*) from raw_events").fetchone()
    con.close()
    return elapsed, cpu, result.accepted, rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--input", type=Path, help="Folder of event files (default: generate a sample).")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cdp-bench-") as tmp:
        work = Path(tmp)
        source = args.input
        if source is None:
            source = work / "input"
            print(f"writing {args.events:,} events to {source} ...", flush=True)
            write_sample(source, args.events)
        files = event_files([source])
        print(f"{len(files)} files, {sum(f.stat().st_size for f in files) / 1e6:.1f} MB on disk", flush=True)
        times: dict[str, list[tuple[float, float]]] = {"bare": [], "ours": []}
        # Per side, the events it ended with: bare's distinct message ids, the loader's raw_events rows.
        ended_with: dict[str, set[int]] = {"bare": set(), "ours": set()}
        for run in range(args.repeat):
            # Alternate the order so neither side always runs on a warmer page cache.
            for name in ("bare", "ours") if run % 2 == 0 else ("ours", "bare"):
                warehouse = work / f"{name}-{run}.duckdb"
                if name == "bare":
                    seconds, cpu, rows, events = bare_load([str(f) for f in files], warehouse)
                else:
                    seconds, cpu, rows, events = our_load(files, warehouse)
                times[name].append((seconds, cpu))
                ended_with[name].add(events)
                print(
                    f"run {run + 1} {name:>4}: {rows:,} events in {seconds:.2f} s wall, {cpu:.2f} s CPU "
                    f"({rows / seconds:,.0f}/s)",
                    flush=True,
                )
                warehouse.unlink()
        # CPU seconds are reported too: on a shared machine they move less than wall-clock time.
        bare, ours = (statistics.median(t for t, _ in times[n]) for n in ("bare", "ours"))
        bare_cpu, ours_cpu = (statistics.median(c for _, c in times[n]) for n in ("bare", "ours"))
        events = max(ended_with["ours"])
        print(
            f"bare read_ndjson + INSERT: median {bare:.2f} s ({events / bare:,.0f} events/s), {bare_cpu:.2f} s CPU"
        )
        print(
            f"cdp loader (validated):    median {ours:.2f} s ({events / ours:,.0f} events/s), {ours_cpu:.2f} s CPU"
        )
        print(f"ratio (loader speed / bare speed): {bare / ours:.0%} wall, {bare_cpu / ours_cpu:.0%} CPU")
    checks = Targets()
    checks.same(
        "events at the end of every run: bare (distinct message ids) vs loader (raw_events rows)",
        sorted(ended_with["bare"]),
        sorted(ended_with["ours"]),
    )
    checks.at_least("loader speed / bare speed (wall, median)", bare / ours, 0.8, "{:.0%}")
    checks.finish()


if __name__ == "__main__":
    main()
