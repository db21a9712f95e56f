"""kill -9 of `cdp collect` in the middle of traffic, twice; then `cdp run` with no collector restarted.

Every acknowledged event must be loaded, the torn last write quarantined, and a live collector's open
file (beside the dead ones, in the same landing zone) left alone by the restarted collector and by
`cdp run` while it keeps serving.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import threading
import time
from pathlib import Path

import duckdb
import pytest
import requests

from tests.reliability.conftest import cdp, finish, free_port, kill_when

pytestmark = pytest.mark.reliability


def _wait_until_up(url: str, process) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read().decode(errors="replace")
        try:
            if requests.get(f"{url}/health", timeout=0.5).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise AssertionError("the collector did not start")


def _batch(prefix: str, start: int, size: int = 100) -> dict[str, object]:
    now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "batch": [
            {
                "type": "track",
                "event": "Product Viewed",
                "userId": f"user-{i % 50}",
                "messageId": f"{prefix}-{i}",
                "timestamp": now,
                "properties": {"sku": f"sku-{i % 7}"},
            }
            for i in range(start, start + size)
        ]
    }


class _Sender(threading.Thread):
    """One SDK-like client posting batches until the collector goes away."""

    def __init__(self, url: str, key: str, start: int, acknowledged: list[str]) -> None:
        super().__init__(daemon=True)
        self.url, self.key, self.start_at, self.acknowledged = url, key, start, acknowledged

    def run(self) -> None:
        with requests.Session() as session:
            for start in range(self.start_at, self.start_at + 10_000_000, 100):
                try:
                    response = session.post(
                        f"{self.url}/v1/batch", json=_batch("web", start), auth=(self.key, ""), timeout=10
                    )
                except requests.RequestException:
                    return
                if response.status_code == 200:
                    self.acknowledged.extend(f"web-{i}" for i in range(start, start + 100))


def test_killed_collectors_lose_nothing_acknowledged_and_cdp_run_loads_it_beside_a_live_one(
    tmp_path: Path,
) -> None:
    landing = tmp_path / "landing"
    live_url = f"http://127.0.0.1:{free_port()}"
    live = cdp(
        tmp_path, "collect", "--port", live_url.rsplit(":", 1)[1], "--write-key", "wk-live=live",
        "--max-file-seconds", "3600",
    )  # fmt: skip
    try:
        _wait_until_up(live_url, live)
        live_ids = [f"live-{i}" for i in range(300)]
        for start in range(0, 300, 100):
            response = requests.post(f"{live_url}/v1/batch", json=_batch("live", start), auth=("wk-live", ""))
            assert response.status_code == 200
        (live_file,) = landing.glob("*/live/.collector-*.jsonl.open")
        live_bytes = live_file.read_bytes()

        # Two web collectors in turn, each killed mid-traffic; the second starts on the first one's files.
        acknowledged: list[str] = []
        web_url = f"http://127.0.0.1:{free_port()}"
        for round_ in range(2):
            web = cdp(tmp_path, "collect", "--port", web_url.rsplit(":", 1)[1], "--write-key", "wk-web=web")
            _wait_until_up(web_url, web)
            sender = _Sender(web_url, "wk-web", 1_000_000 * round_, acknowledged)
            sender.start()
            kill_when(web, lambda n=1_000 * (round_ + 1): len(acknowledged) >= n)
            sender.join(timeout=30)
        assert live_file.exists(), "the restarted collector sealed a live collector's file"
        # The second crash also cut a write short (what a kill in the middle of os.write leaves).
        (abandoned,) = landing.glob("*/web/.collector-*.jsonl.open")
        with abandoned.open("ab") as handle:
            handle.write(b'{"type":"track","messageId":"torn-1","event":"Prod')

        finish(cdp(tmp_path, "run"), timeout=600)

        assert not list(landing.glob("*/web/.collector-*")), "cdp run left a dead collector's file open"
        assert live_file.exists() and live_file.read_bytes() == live_bytes
        web_files = sorted(landing.glob("*/web/collector-*.jsonl"))
        landed = sum(len(path.read_bytes().splitlines()) for path in web_files)
        with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
            loaded = {
                m for (m,) in con.execute("select message_id from raw_events where source = 'web'").fetchall()
            }
            rejected = con.execute(
                "select raw, reason from rejected_events where source_file in (select unnest(?))",
                [[str(p) for p in web_files]],
            ).fetchall()
            (live_loaded,) = con.execute("select count(*) from raw_events where source = 'live'").fetchone()
        assert len(acknowledged) >= 2_000 and set(acknowledged) <= loaded
        assert len(loaded) + len(rejected) == landed  # events in = raw_events + rejected_events
        assert [raw for raw, _ in rejected] == ['{"type":"track","messageId":"torn-1","event":"Prod']
        assert live_loaded == 0  # still open: not the loader's to read yet

        # The live collector kept serving into the same file all along, and seals it on shutdown.
        response = requests.post(f"{live_url}/v1/batch", json=_batch("live", 300), auth=("wk-live", ""))
        assert response.status_code == 200 and live_file.stat().st_size > len(live_bytes)
        live_ids += [f"live-{i}" for i in range(300, 400)]
    finally:
        live.send_signal(signal.SIGTERM)
        live.wait(timeout=30)
    sealed = [
        json.loads(raw)["messageId"]
        for p in landing.glob("*/live/collector-*.jsonl")
        for raw in p.read_bytes().splitlines()
    ]
    assert sorted(sealed) == sorted(live_ids)
