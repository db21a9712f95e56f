"""Issue 10, defect 10 (sync part): a run killed mid-way keeps the counts of what was delivered.

`cdp sync` runs in a subprocess against a real webhook server that acknowledges three batches and then
holds the fourth; the process is killed with SIGKILL while it waits. The run's row in sync_runs must say
exactly what the server acknowledged (it used to stay at added=0), and the next run marks it interrupted,
keeps those counts and delivers the rest.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from orchestration.cli import app
from reverse_etl.contract_server import Reply
from reverse_etl.demo_server import WebhookServer
from tests.reverse_etl.conftest import AUDIENCE, create_audience

MEMBERS = 100
BATCH = 10
ACKNOWLEDGED_BATCHES = 3


class StallingWebhook(WebhookServer):
    """Applies and acknowledges `stall_after` batches, then holds the next request until released."""

    def __init__(self, stall_after: int) -> None:
        super().__init__()
        self.stall_after = stall_after
        self.stalled = threading.Event()
        self.release = threading.Event()

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if self.applied_batches >= self.stall_after and not self.release.is_set():
            self.stalled.set()
            self.release.wait(120)
            return Reply(503, {"error": "try later"})
        return super().handle(method, path, headers, body)


def test_kill_9_mid_sync_leaves_the_delivered_counts(tmp_path: Path, monkeypatch):
    (tmp_path / "destinations.yml").write_text(
        f"""
destinations:
  hook:
    type: webhook
    url: ${{CDP_T_HOOK}}
    batch_size: {BATCH}
    max_in_flight: 1
    timeout_seconds: 120
syncs:
  - {{audience: {AUDIENCE}, destination: hook, mode: mirror}}
"""
    )
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        create_audience(con, MEMBERS)
    cdp = Path(sys.executable).parent / "cdp"
    with StallingWebhook(stall_after=ACKNOWLEDGED_BATCHES) as server:
        env = {**os.environ, "CDP_HOME": str(tmp_path), "CDP_T_HOOK": server.url}
        env.pop("CDP_DESTINATIONS", None)
        process = subprocess.Popen(
            [str(cdp), "sync"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            stalled = server.stalled.wait(180)
            assert stalled, process.stderr.read().decode() if process.poll() is not None else "no stall"
            os.kill(process.pid, signal.SIGKILL)
            process.wait(30)
        finally:
            if process.poll() is None:
                process.kill()
            server.release.set()
        acknowledged = server.records_applied
        assert acknowledged == ACKNOWLEDGED_BATCHES * BATCH and process.returncode == -signal.SIGKILL

        with duckdb.connect(str(warehouse)) as con:
            ((status, added, changed, removed, failed),) = con.execute(
                "select status, added, changed, removed, failed from sync_runs"
            ).fetchall()
            (held,) = con.execute("select count(*) from sync_snapshots").fetchone()
        assert status == "running"  # nobody has looked yet
        assert (added, changed, removed, failed) == (acknowledged, 0, 0, 0)
        assert held == acknowledged

        monkeypatch.setenv("CDP_HOME", str(tmp_path))
        monkeypatch.setenv("CDP_T_HOOK", server.url)
        monkeypatch.delenv("CDP_DESTINATIONS", raising=False)
        again = CliRunner().invoke(app, ["sync"])
        assert again.exit_code == 0, again.output
    with duckdb.connect(str(warehouse)) as con:
        rows = con.execute("select status, added from sync_runs order by started_at").fetchall()
    assert rows == [("interrupted", acknowledged), ("succeeded", MEMBERS - acknowledged)]
    assert len(server.members(AUDIENCE)) == MEMBERS and server.records_applied == MEMBERS
