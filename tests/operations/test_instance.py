"""The shared instance: CDP_HOME/dagster by default, and a CLI run killed mid-step (kill -9) does not hold
the warehouse pool's slot forever: the next command marks it failed and frees the slot."""

from __future__ import annotations

import subprocess
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.dagster_run import DagsterRun

from orchestration.defs.instance import (
    INSTANCE_SETTINGS,
    PID_TAG,
    cdp_instance,
    dagster_home,
    release_dead_runs,
)
from tests.conftest import cdp_home


def test_dagster_home_defaults_to_cdp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with cdp_home(tmp_path):
        assert dagster_home() == tmp_path / "dagster"
        # The project's instance settings (the warehouse pool), as `make dev` copies them.
        assert (tmp_path / "dagster" / "dagster.yaml").read_text() == INSTANCE_SETTINGS.read_text()
        assert cdp_instance().is_persistent


def test_a_killed_cli_run_is_failed_and_its_slot_freed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid that no longer runs
    alive = subprocess.Popen(["sleep", "30"])
    try:
        with cdp_home(tmp_path):
            instance = cdp_instance()
            runs = {}
            for name, pid in (("dead", dead.pid), ("alive", alive.pid)):
                run = instance.add_run(
                    DagsterRun(job_name="__ephemeral_asset_job__", status=dg.DagsterRunStatus.STARTED,
                               tags={PID_TAG: str(pid)})
                )  # fmt: skip
                runs[name] = run.run_id
            instance.event_log_storage.set_concurrency_slots("warehouse_writer", 1)
            claim = instance.event_log_storage.claim_concurrency_slot(
                "warehouse_writer", runs["dead"], "raw_events"
            )
            assert claim.is_claimed
            assert release_dead_runs(instance) == [runs["dead"]]
            assert instance.get_run_by_id(runs["dead"]).status == dg.DagsterRunStatus.FAILURE
            assert instance.get_run_by_id(runs["alive"]).status == dg.DagsterRunStatus.STARTED
            again = instance.event_log_storage.claim_concurrency_slot(
                "warehouse_writer", "next-run", "raw_events"
            )
            assert again.is_claimed
    finally:
        alive.kill()
        alive.wait()
