"""Webhook throughput: a first sync of N members to the local webhook contract server, rows per second.

    .venv/bin/python benchmarks/reverse_etl_webhook.py [--members 200000] [--batch-size 1000]

The server runs in its own process (so its JSON parsing does not compete with the client for the GIL) and
checks signatures and idempotency keys as in the tests. Printed: end-to-end rows/s (wall clock, server
included), and client-side rows/s = rows per CPU second spent by the syncing process (diff, payloads,
signing, HTTP, snapshot bookkeeping), which does not depend on how busy the shared machine is. Exits 1
unless every member was delivered and applied exactly once and the client does >= 20,000 rows per CPU second.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import tempfile
import time
from pathlib import Path

import duckdb
from targets import Targets

SECRET = "bench-secret"


def serve(queue: mp.Queue, stop: mp.Event) -> None:
    from reverse_etl.demo_server import WebhookServer

    with WebhookServer(secret=SECRET) as server:
        queue.put(server.url)
        stop.wait()
        queue.put((server.records_applied, server.applied_batches))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args()

    from reverse_etl.config import DestinationConfig, SyncConfig, build_destination
    from reverse_etl.engine import run_sync

    context = mp.get_context("spawn")
    queue, stop = context.Queue(), context.Event()
    process = context.Process(target=serve, args=(queue, stop), daemon=True)
    process.start()
    url = queue.get(timeout=30)

    with tempfile.TemporaryDirectory() as folder:
        con = duckdb.connect(str(Path(folder) / "bench.duckdb"))
        con.execute(
            f"""
            create table audience_membership as
            select 'big' as audience, 'p' || lpad(cast(i as varchar), 8, '0') as profile_id,
                timestamp '2026-01-01' as entered_at, 'user' || i || '@example.com' as email, 'u' || i as user_id,
                case when i % 3 = 0 then 'pro' else 'free' end as plan
            from range({args.members}) t(i)
            """
        )
        destination = build_destination(
            "bench",
            DestinationConfig.model_validate(
                {"type": "webhook", "url": url, "secret": SECRET, "batch_size": args.batch_size}
            ),
        )
        started, cpu_started = time.perf_counter(), time.process_time()
        result = run_sync(con, SyncConfig(audience="big", destination="bench", mode="mirror"), destination)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        destination.close()
        con.close()
    stop.set()
    applied, batches = queue.get(timeout=30)
    process.join(timeout=10)
    print(f"sent {args.members:,} rows in {batches} signed batches of {args.batch_size} in {seconds:.2f}s")
    print(f"end-to-end throughput (wall clock, incl. server): {args.members / seconds:,.0f} rows/s")
    print(f"client-side overhead: {cpu:.2f} CPU s -> {args.members / cpu:,.0f} rows/s per client CPU second")
    checks = Targets()
    checks.same(
        "rows: members vs delivered (add) vs applied by the server",
        (args.members,) * 3,
        (args.members, result.delivered["add"], applied),
    )
    checks.same("batches applied vs rows / batch size", batches, -(-args.members // args.batch_size))
    checks.at_least("client rows per CPU second", args.members / cpu, 20_000, "{:,.0f}")
    checks.finish()


if __name__ == "__main__":
    main()
