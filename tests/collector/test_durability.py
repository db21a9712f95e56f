"""Acknowledged events survive a kill -9; landing files rotate by size and age; nothing half-written loads."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import requests

from orchestration.collector.server import Collector
from orchestration.collector.spool import recover_open_segments
from orchestration.ingestion.landing import event_files
from orchestration.ingestion.loader import load_files
from tests.collector.conftest import WRITE_KEYS, landed_lines


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, (
            process.stderr.read().decode() if process.stderr else "collector exited"
        )
        try:
            if requests.get(f"{url}/health", timeout=0.5).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError("collector did not start")


def _batch(start: int, size: int) -> dict[str, object]:
    return {
        "batch": [
            {
                "type": "track",
                "event": "Clicked",
                "userId": f"u{i % 7}",
                "messageId": f"kill-{i}",
                "timestamp": "2026-11-02T10:00:00Z",
            }
            for i in range(start, start + size)
        ]
    }


def test_a_kill_9_in_the_middle_of_traffic_loses_no_acknowledged_event(tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cdp = Path(sys.executable).parent / "cdp"
    process = subprocess.Popen(
        [str(cdp), "collect", "--port", str(port), "--write-key", "wk-web-123=web"],
        env={**os.environ, "CDP_HOME": str(tmp_path)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    acknowledged: list[str] = []
    sent: list[str] = []

    def send_until_refused() -> None:
        with requests.Session() as session:
            for start in range(0, 1_000_000, 100):
                sent.extend(f"kill-{i}" for i in range(start, start + 100))
                try:
                    response = session.post(
                        f"{url}/v1/batch", json=_batch(start, 100), auth=("wk-web-123", "")
                    )
                except requests.RequestException:
                    return
                if response.status_code == 200:
                    acknowledged.extend(f"kill-{i}" for i in range(start, start + 100))

    try:
        _wait_until_up(url, process)
        sender = threading.Thread(target=send_until_refused)
        sender.start()
        while len(acknowledged) < 1_000:
            time.sleep(0.01)
    finally:
        process.send_signal(signal.SIGKILL)  # while the sender is still posting
        process.wait(timeout=10)
    sender.join(timeout=30)

    landing = tmp_path / "landing"
    on_disk = {json.loads(raw)["messageId"] for raw in landed_lines(landing) if raw.endswith(b"}")}
    assert set(acknowledged) <= on_disk
    # The next collector start seals what the dead one left open, so the loader can read it.
    recovered = recover_open_segments(landing)
    assert recovered and not list(landing.glob("*/*/.collector-*"))
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        load_files(con, event_files([landing]), dt.date(2026, 11, 2))
        loaded = {row[0] for row in con.execute("select message_id from raw_events").fetchall()}
        (rejected,) = con.execute("select count(*) from rejected_events").fetchone()
    assert set(acknowledged) <= loaded <= set(sent)
    assert rejected == 0


def test_recovery_keeps_an_unacknowledged_partial_line_apart_for_quarantine(tmp_path: Path) -> None:
    dead_pid = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_pid.wait()
    folder = tmp_path / "landing" / "2026-11-02" / "web"
    folder.mkdir(parents=True)
    segment = folder / f".collector-20261102T100000-{dead_pid.pid}-1.jsonl.open"
    segment.write_bytes(b'{"messageId":"a"}\n{"messageId":"b"}\n{"messageId":"c","ty')
    (sealed,) = recover_open_segments(tmp_path / "landing")
    assert sealed.name == f"collector-20261102T100000-{dead_pid.pid}-1.jsonl"
    # The cut line is a line of its own, which the loader rejects with a reason (test_recovery.py).
    assert sealed.read_bytes() == b'{"messageId":"a"}\n{"messageId":"b"}\n{"messageId":"c","ty\n'


def test_files_are_sealed_by_size_and_by_age_and_open_files_are_invisible_to_the_loader(
    landing: Path,
) -> None:
    with Collector(landing, WRITE_KEYS, max_file_bytes=2_000, max_file_seconds=0.5) as collector:
        auth = ("wk-web-123", "")
        for start in range(0, 60, 10):
            assert (
                requests.post(f"{collector.url}/v1/batch", json=_batch(start, 10), auth=auth).status_code
                == 200
            )
        sealed_by_size = list(landing.glob("*/web/collector-*.jsonl"))
        assert len(sealed_by_size) >= 2
        assert event_files([landing]) == sorted(sealed_by_size)  # the open file is not listed
        time.sleep(1.5)
        sealed_by_age = list(landing.glob("*/web/collector-*.jsonl"))
        assert not list(landing.glob("*/web/.collector-*"))
    lines = landed_lines(landing, include_open=False)
    assert sorted(json.loads(raw)["messageId"] for raw in lines) == sorted(f"kill-{i}" for i in range(60))
    assert len(sealed_by_age) > len(sealed_by_size)
