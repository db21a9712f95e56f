"""The one Dagster instance that `cdp run`, `cdp demo`, `cdp ingest` and `make dev` share.

It lives in `DAGSTER_HOME` (default `CDP_HOME/dagster`), so what the CLI ran shows in the UI, across restarts.
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

import dagster as dg

from orchestration.settings import PROJECT_ROOT, cdp_home

INSTANCE_SETTINGS = PROJECT_ROOT / "orchestration" / "dagster.yaml"
# Tag on runs started by the CLI: the process that executes them, so a killed one can be told apart.
PID_TAG = "cdp/pid"


def dagster_home() -> Path:
    """`$DAGSTER_HOME` if set, else `CDP_HOME/dagster`; created with the project's dagster.yaml."""
    explicit = os.environ.get("DAGSTER_HOME")
    home = Path(explicit).expanduser().resolve() if explicit else cdp_home() / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists():
        shutil.copyfile(INSTANCE_SETTINGS, settings)
    return home


def cdp_instance() -> dg.DagsterInstance:
    """The persistent instance, with runs of CLI processes that died (kill -9) marked failed first:
    otherwise they would hold the warehouse pool's one slot forever and every later run would wait."""
    instance = _instance_at(dagster_home())
    release_dead_runs(instance)
    return instance


@functools.cache
def _instance_at(home: Path) -> dg.DagsterInstance:
    # One per home and process: every run of a `cdp` command shares its connections.
    return dg.DagsterInstance.from_config(str(home))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed process its parent has not reaped yet is a zombie: gone all the same
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def release_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed the in-progress runs whose CLI process is gone, and free their concurrency slots."""
    released: list[str] = []
    records = instance.get_run_records(
        dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING])
    )
    for record in records:
        run = record.dagster_run
        pid = run.tags.get(PID_TAG)
        if pid is None or not pid.isdigit() or _alive(int(pid)) and int(pid) != os.getpid():
            continue
        instance.report_run_failed(run, f"the process that ran it ({pid}) is gone")
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        released.append(run.run_id)
    return released
