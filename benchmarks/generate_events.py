"""Time the synthetic event generator: 1M events, 100k profiles, 90 days (the sizes from the brief).

PYTHONPATH=. .venv/bin/python benchmarks/generate_events.py [--events N] [--profiles M] [--days D]

No speed target is declared for the generator; the script exits 1 if the files do not hold exactly the
events asked for.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import tempfile
import time
from pathlib import Path

from targets import Targets

from orchestration.generator import generate


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cdp-generate-") as tmp:
        out = Path(tmp) / "events"
        started, cpu_started = time.perf_counter(), time.process_time()
        summary = generate(args.events, args.profiles, args.days, args.seed, out, dt.date(2025, 1, 31))
        seconds = time.perf_counter() - started
        # CPU time over all threads: on a shared machine wall time alone says little.
        cpu_seconds = time.process_time() - cpu_started
        size = sum(path.stat().st_size for path in summary.files)
        lines = 0
        for path in summary.files:
            with gzip.open(path, "rb") as written:
                lines += sum(1 for _ in written)
    print(
        f"{summary.events:,} events ({summary.duplicates:,} re-deliveries), {summary.persons:,} profiles, "
        f"{args.days} days: {seconds:.1f} s ({cpu_seconds:.1f} s CPU), {summary.events / seconds:,.0f} events/s, "
        f"{len(summary.files):,} files, {size / 1e6:,.0f} MB gzipped"
    )
    checks = Targets()
    checks.same(
        "events: asked vs reported vs lines in the files",
        (args.events,) * 3,
        (args.events, summary.events, lines),
    )
    checks.finish()


if __name__ == "__main__":
    main()
