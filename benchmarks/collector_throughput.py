"""Collector throughput: Segment `/v1/batch` requests of 100 events against `cdp collect` on one core.

    python benchmarks/collector_throughput.py [--seconds 15] [--clients 1] [--batch 100]

Starts `cdp collect` pinned to CPU 0 (a throwaway CDP_HOME), sends pre-encoded batches of realistic
events from client threads pinned to the other CPUs, with keep-alive, for a fixed time. Every batch is
acknowledged only after its events are fsynced. Prints acknowledged events/s (target >= 5,000) and the
collector's own CPU time, so events per CPU-second can be read even on a busy machine. Exits 1 unless
>= 5,000 events/s were acknowledged, no request failed and every acknowledged event is on disk.

One sequential client (the default: how one SDK process sends) waits for every batch's own fsync;
concurrent clients share fsyncs (group commit), which is how SDK fleets send.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson
import requests
from targets import Targets

WRITE_KEY = "bench-write-key"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _bodies(batch: int, count: int) -> list[bytes]:
    bodies = []
    for b in range(count):
        events = [
            {
                "type": "track",
                "event": "Product Viewed",
                "userId": f"user-{(b * batch + i) % 5000}",
                "anonymousId": f"anon-{(b * batch + i) % 9000}",
                "messageId": f"bench-{b}-{i}",
                "timestamp": "2026-11-23T09:00:00.000Z",
                "properties": {
                    "product_id": f"p-{i}",
                    "price": 19.99,
                    "currency": "USD",
                    "category": "shoes",
                },
                "context": {
                    "library": {"name": "analytics-python", "version": "2.4.0"},
                    "ip": "10.0.0.1",
                    "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0",
                },
            }
            for i in range(batch)
        ]
        bodies.append(orjson.dumps({"batch": events, "sentAt": "2026-11-23T09:00:00.100Z"}))
    return bodies


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu, client_cpus = cpus[0], set(cpus[1:]) or {cpus[0]}
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    bodies = _bodies(args.batch, 50)
    with tempfile.TemporaryDirectory(prefix="cdp-collector-bench-") as home:
        cdp = Path(sys.executable).parent / "cdp"
        server = subprocess.Popen(
            [str(cdp), "collect", "--port", str(port), "--write-key", f"{WRITE_KEY}=bench"],
            env={**os.environ, "CDP_HOME": home},
            stdout=subprocess.DEVNULL,
            preexec_fn=lambda: os.sched_setaffinity(0, {server_cpu}),
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    requests.get(f"{url}/health", timeout=1)
                    break
                except requests.ConnectionError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("the collector did not start") from None
                    time.sleep(0.2)
            os.sched_setaffinity(0, client_cpus)
            acknowledged, failed, latencies = [0], [0], []
            lock = threading.Lock()
            stop_at = time.monotonic() + args.seconds

            def client(offset: int) -> None:
                with requests.Session() as session:
                    session.auth = (WRITE_KEY, "")
                    n = offset
                    while time.monotonic() < stop_at:
                        started = time.perf_counter()
                        response = session.post(
                            f"{url}/v1/batch",
                            data=bodies[n % len(bodies)],
                            headers={"Content-Type": "application/json"},
                        )
                        elapsed = time.perf_counter() - started
                        with lock:
                            if response.status_code == 200:
                                acknowledged[0] += args.batch
                                latencies.append(elapsed)
                            else:
                                failed[0] += 1
                        n += 1

            cpu_before, wall_before = _cpu_seconds(server.pid), time.monotonic()
            threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall = time.monotonic() - wall_before
            cpu = _cpu_seconds(server.pid) - cpu_before
        finally:
            server.terminate()
            server.wait(timeout=30)
        landed = sum(
            len(p.read_bytes().splitlines()) for p in Path(home, "landing").rglob("collector-*.jsonl")
        )

    latencies.sort()
    print(
        f"collector pinned to CPU {server_cpu}; {args.clients} client threads on CPUs {sorted(client_cpus)}"
    )
    print(f"batches of {args.batch} events, {wall:.1f} s, {failed[0]} failed requests")
    print(f"acknowledged: {acknowledged[0]:,} events = {acknowledged[0] / wall:,.0f} events/s")
    print(f"landed on disk after shutdown: {landed:,} events")
    print(f"collector CPU: {cpu:.1f} s of {wall:.1f} s = {acknowledged[0] / cpu:,.0f} events per CPU-second")
    if latencies:
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
        print(f"request latency (fsync included): p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    checks = Targets()
    checks.same("events acknowledged vs landed on disk", acknowledged[0], landed)
    checks.same("failed requests", failed[0], 0)
    checks.at_least("acknowledged events per second", acknowledged[0] / wall, 5_000, "{:,.0f}")
    checks.finish()


if __name__ == "__main__":
    main()
