"""Where the time of a whole-graph run goes on demo data: `cdp run`'s code path, split into Dagster's
import, loading the definitions (and whether dbt parsed), the `raw_events` run, the dbt step (dbt's own
build time inside it), the syncs, and writing events to the persistent instance.

    .venv/bin/python benchmarks/whole_graph_run.py [--events 50000] [--profiles 5000]

Runs `cdp demo` first in a temporary CDP_HOME (the first run), then measures a second `cdp run`: the
operator's steady state. Targets: no dbt parse when nothing changed, and the run's overhead (everything but
dbt's own build) under a third of the run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.targets import Targets  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--profiles", type=int, default=5_000)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="whole_graph_"))
    os.environ["CDP_HOME"] = str(home)
    os.environ.pop("DAGSTER_HOME", None)
    started = time.perf_counter()
    import dagster as dg  # noqa: F401

    from orchestration.defs import project, runner
    from orchestration.demo import run_demo

    imported = time.perf_counter() - started
    with contextlib.redirect_stdout(io.StringIO()):
        run_demo(events=args.events, profiles=args.profiles)
    parses = 0
    original = project.parse

    def counting_parse(p):  # counts dbt parses the run triggers
        nonlocal parses
        parses += 1
        return original(p)

    project.parse = counting_parse
    t0 = time.perf_counter()
    defs = runner.load_definitions()
    loaded = time.perf_counter() - t0
    dbt_out = io.StringIO()
    t1 = time.perf_counter()
    with contextlib.redirect_stdout(dbt_out):
        results = runner.run_all()
    run_seconds = time.perf_counter() - t1 + loaded
    steps = _step_seconds(results["ingestion"]) | _step_seconds(results["pipeline"])
    dbt_own = _dbt_build_seconds(dbt_out.getvalue())
    instance_events = sum(len(r.all_events) for r in results.values() if r is not None)
    print(f"import dagster + orchestration: {imported:.1f}s")
    print(
        f"load definitions: {loaded:.1f}s ({parses} dbt parses; {len(list(defs.assets))} asset definitions)"
    )
    for step, seconds in steps.items():
        print(f"step {step}: {seconds:.1f}s")
    print(f"dbt's own build time (inside the dbt steps, both invocations): {dbt_own:.1f}s")
    print(f"Dagster events written to the instance: {instance_events}")
    overhead = run_seconds - dbt_own
    print(
        f"whole run (definitions + both runs): {run_seconds:.1f}s; everything but dbt's build: {overhead:.1f}s"
    )
    checks = Targets()
    checks.at_most("dbt parses in a run with nothing changed", parses, 0, "{:.0f}")
    checks.at_most("overhead share of the run (all but dbt's build)", overhead / run_seconds, 1 / 3, "{:.0%}")
    checks.finish()


def _step_seconds(result) -> dict[str, float]:
    """Each step's wall time, from the instance's event log (where the UI reads it)."""
    if result is None:
        return {}
    from orchestration.defs.instance import cdp_instance

    starts: dict[str, float] = {}
    found: dict[str, float] = {}
    for entry in cdp_instance().all_logs(result.run_id):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type_value == "STEP_START":
            starts[event.step_key] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and event.step_key in starts:
            found[event.step_key] = entry.timestamp - starts[event.step_key]
    return found


def _dbt_build_seconds(log: str) -> float:
    # One "Finished running ..." line per dbt invocation (the features op, then the models op): all of them.
    return sum(float(m) for m in re.findall(r"Finished running .* in .*\(([\d.]+)s\)", log))


if __name__ == "__main__":
    main()
