"""Requests spent isolating a few bad rows: N rows with B of them refused, per destination type.

    .venv/bin/python benchmarks/reverse_etl_isolation.py [--rows 20000] [--bad 105]

Each destination runs a first sync against its local contract server (PostgreSQL: a throwaway cluster,
skipped without server binaries) with B rows refused as invalid, at its documented batch size. Printed per
destination: requests a clean run takes, requests this run took, the figure before per-record errors and
the wider isolation (commit 74fca47, same scenario: every refusal halved down to the bad row), and whether
exactly the bad rows ended in sync_failures and every good row was applied once. Exits 1 when a target
is missed or a check fails.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the scenario lives with the tests

from tests.reverse_etl.isolation_scenario import DESTINATIONS, run  # noqa: E402
from tests.reverse_etl.pg_cluster import postgres_bin, throwaway_postgres  # noqa: E402

# Measured at 74fca47 with --rows 20000 --bad 105 (the webhook then had no per-record answer: every
# webhook row is its 400-without-names case).
BEFORE = {
    "webhook": 1602,
    "webhook_400_named": 1602,
    "webhook_400_unnamed": 1602,
    "segment": 1624,
    "hubspot": 200,
    "salesforce": 100,
    "meta": 1656,
    "braze": 267,
    "postgres": 1654,
}
# Targets for 20,000 rows / 105 bad; None: one request per batch of a clean run.
TARGETS = {
    "webhook": None,
    "webhook_400_named": 40,
    "webhook_400_unnamed": 1_100,
    "segment": 1_100,
    "hubspot": None,
    "salesforce": None,
    "meta": 30,
    "braze": None,
    "postgres": 1_100,
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--bad", type=int, default=105)
    args = parser.parse_args()
    default = (args.rows, args.bad) == (20_000, 105)
    bindir = postgres_bin()
    failed = False
    print(f"{args.rows:,} rows, {args.bad} refused by the destination")
    print(f"{'destination':22} {'clean':>6} {'before':>7} {'now':>6} {'target':>7}  checks")
    with throwaway_postgres(bindir) if bindir else nullcontext(None) as dsn:
        for name in DESTINATIONS:
            if name == "postgres" and dsn is None:
                print(f"{name:22} skipped: no PostgreSQL server binaries")
                continue
            with tempfile.TemporaryDirectory() as folder:
                con = duckdb.connect(str(Path(folder) / "bench.duckdb"))
                outcome = run(con, name, args.rows, args.bad, dsn)
                con.close()
            target = TARGETS[name] if TARGETS[name] is not None else outcome.batches
            checks = {
                "only the bad rows failed": outcome.rejected == outcome.bad,
                "good rows delivered": outcome.delivered == args.rows - args.bad,
                "each applied once": outcome.applied_once,
                "destination = good rows": outcome.held_ok,
            }
            missed = default and target is not None and outcome.requests > target
            failed |= missed or not all(checks.values())
            bad_checks = [k for k, ok in checks.items() if not ok]
            print(
                f"{name:22} {outcome.batches if outcome.batches else '-':>6} "
                f"{BEFORE[name] if default else '-':>7} {outcome.requests:>6} "
                f"{target if default and target is not None else '-':>7}  "
                f"{'MISSED TARGET ' if missed else ''}{'FAILED: ' + ', '.join(bad_checks) if bad_checks else 'ok'}",
                flush=True,
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
