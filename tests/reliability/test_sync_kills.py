"""kill -9 of `cdp sync` after the destination applied a batch (before it answered), at several points,
against a real webhook receiver that fails 30% of requests with a 500; each rerun recovers.

The destination must end equal to the audience, and no change may be applied twice: a batch that
landed but was never recorded is resent under the same idempotency key and recognised.
"""

from __future__ import annotations

import collections
import os
import random
import signal
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from reverse_etl.contract_server import Reply
from reverse_etl.demo_server import WebhookServer
from tests.reliability.conftest import cdp, finish
from tests.reverse_etl.conftest import create_audience, expected_members

pytestmark = pytest.mark.reliability

AUDIENCE = "trial_support_inactive"  # a real audience of the dbt project, filled here by hand
MEMBERS = 300


class _FlakyWebhook(WebhookServer):
    """A webhook receiver that answers 500 to 30% of requests (before applying) and logs every change."""

    def __init__(self) -> None:
        super().__init__(secret="hook-secret")
        self._chance = random.Random(10)
        self.changes: list[tuple[str, str]] = []
        self.kill: tuple[int, int] | None = None  # (pid, after this many applied batches)

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if self._chance.random() < 0.3:
            return Reply(500, {"error": "injected"})
        return super().handle(method, path, headers, body)

    def on_batch(self, data: dict[str, Any]) -> None:
        self.changes.extend((data["operation"], record["key"]) for record in data["records"])
        if self.kill and self.applied_batches + 1 >= self.kill[1]:
            # Applied, not yet answered: the worst moment to die.
            os.kill(self.kill[0], signal.SIGKILL)
            self.kill = None


def _sync(home: Path, server: _FlakyWebhook, kill_after: int | None = None) -> str | None:
    """One `cdp sync`; with `kill_after`, killed once that many more batches were applied."""
    process = cdp(home, "sync", env={"CDP_RELIABILITY_HOOK_SECRET": "hook-secret"})
    if kill_after is None:
        return finish(process)
    server.kill = (process.pid, server.applied_batches + kill_after)
    process.wait(timeout=120)
    assert process.returncode == -signal.SIGKILL, process.stdout.read().decode(errors="replace")[-2000:]
    return None


def _applied_twice(changes: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [change for change, n in collections.Counter(changes).items() if n > 1]


def test_sync_killed_mid_delivery_then_rerun_leaves_the_destination_equal_to_the_audience(
    tmp_path: Path,
) -> None:
    warehouse = str(tmp_path / "warehouse.duckdb")
    with duckdb.connect(warehouse) as con:
        create_audience(con, MEMBERS, audience=AUDIENCE)
    with _FlakyWebhook() as server:
        (tmp_path / "destinations.yml").write_text(
            orjson.dumps(
                {
                    "destinations": {
                        "hook": {
                            "type": "webhook",
                            "url": server.url,
                            "secret": "${CDP_RELIABILITY_HOOK_SECRET}",
                            "batch_size": 10,
                            "max_attempts": 12,
                            "initial_backoff_seconds": 0.01,
                            "max_backoff_seconds": 0.05,
                            "timeout_seconds": 5,
                        }
                    },
                    "syncs": [{"audience": AUDIENCE, "destination": "hook", "mode": "mirror"}],
                }
            ).decode()  # JSON is YAML
        )

        # First delivery of 300 members (30 batches): killed after the 3rd and after 6 more.
        _sync(tmp_path, server, kill_after=3)
        _sync(tmp_path, server, kill_after=6)
        _sync(tmp_path, server)
        with duckdb.connect(warehouse, read_only=True) as con:
            assert server.members(AUDIENCE) == expected_members(con, AUDIENCE)
        assert _applied_twice(server.changes) == []
        assert server.duplicate_deliveries >= 1  # a batch that landed unrecorded came again, recognised

        # The audience moves (20 leave, 15 change, 25 join); killed once more mid-way.
        with duckdb.connect(warehouse) as con:
            con.execute("delete from audience_membership where profile_id < 'p000020'")
            con.execute(
                "update audience_membership set plan = 'team' where profile_id between 'p000100' and 'p000114'"
            )
            con.execute(
                "insert into audience_membership select audience, 'q' || profile_id, entered_at, "
                "'q' || email, 'q' || user_id, plan from audience_membership where profile_id >= 'p000275'"
            )
        server.changes.clear()
        _sync(tmp_path, server, kill_after=2)
        _sync(tmp_path, server)
        with duckdb.connect(warehouse, read_only=True) as con:
            assert server.members(AUDIENCE) == expected_members(con, AUDIENCE)
            statuses = [
                s for (s,) in con.execute("select status from sync_runs order by started_at").fetchall()
            ]
        assert _applied_twice(server.changes) == []
        assert collections.Counter(op for op, _ in server.changes) == {"remove": 20, "change": 15, "add": 25}
    assert statuses == ["interrupted", "interrupted", "succeeded", "interrupted", "succeeded"]
