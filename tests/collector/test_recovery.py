"""Recovery of a dead collector's open files rests on its file locks, never on its PID (issue 10, defect 4).

In a container the restarted collector usually has the PID of the one that died, and any live process
may have it too; the kernel drops a dead process's `flock`s whatever its PID. Files whose lock can be
taken are sealed by whoever looks (a restarted collector, the `raw_events` asset, the sensor); files a
live collector holds are never touched.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import requests

from orchestration.collector.server import Collector
from orchestration.collector.spool import recover_open_segments
from orchestration.defs.assets.ingestion import raw_events
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.schedules import ingestion_job
from orchestration.defs.sensors import build_sensors
from orchestration.ingestion.landing import event_files
from orchestration.ingestion.loader import load_files
from tests.collector.conftest import WRITE_KEYS, landed_lines

DAY = dt.date(2026, 11, 2)


def _lines(*ids: str) -> bytes:
    return b"".join(
        json.dumps(
            {
                "type": "track",
                "event": "Clicked",
                "userId": "u1",
                "messageId": i,
                "timestamp": f"{DAY}T10:00:00Z",
            }
        ).encode()
        + b"\n"
        for i in ids
    )


def _abandoned(landing: Path, pid: int, data: bytes, n: int = 1) -> Path:
    """An open segment as a collector with `pid` leaves it at a kill -9: written, no lock held."""
    folder = landing / DAY.isoformat() / "web"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f".collector-20261102T100000-{pid}-{n}.jsonl.open"
    path.write_bytes(data)
    return path


def test_a_restarted_collector_with_the_dead_ones_pid_recovers_its_files(landing: Path) -> None:
    # The container case: same PID as ours. And a file of a dead PID now used by a live process (1).
    ours = _abandoned(landing, os.getpid(), _lines("a", "b"), n=1)
    reused = _abandoned(landing, 1, _lines("c"), n=2)
    with Collector(landing, WRITE_KEYS):
        assert not ours.exists() and not reused.exists()
        sealed = {p.name for p in landing.glob("*/web/collector-*.jsonl")}
        assert sealed == {
            f"collector-20261102T100000-{os.getpid()}-1.jsonl",
            "collector-20261102T100000-1-2.jsonl",
        }
    ids = sorted(json.loads(raw)["messageId"] for raw in landed_lines(landing, include_open=False))
    assert ids == ["a", "b", "c"]


def test_a_live_collectors_open_file_is_never_sealed_by_someone_else(landing: Path) -> None:
    auth = ("wk-web-123", "")
    batch = {"batch": [{"type": "track", "event": "A", "userId": "u", "messageId": "live-1"}]}
    with Collector(landing, WRITE_KEYS, max_file_seconds=3600) as collector:
        assert requests.post(f"{collector.url}/v1/batch", json=batch, auth=auth).status_code == 200
        (open_file,) = landing.glob("*/web/.collector-*.jsonl.open")
        assert recover_open_segments(landing) == []  # another process (or thread) looking
        assert open_file.exists() and event_files([landing]) == []
        batch["batch"][0]["messageId"] = "live-2"
        assert requests.post(f"{collector.url}/v1/batch", json=batch, auth=auth).status_code == 200
        assert open_file.exists()
    ids = [json.loads(raw)["messageId"] for raw in landed_lines(landing, include_open=False)]
    assert ids == ["live-1", "live-2"]


def test_a_torn_last_line_is_quarantined_and_every_complete_line_loads(tmp_path: Path, landing: Path) -> None:
    torn = '{"messageId":"d","type":"track","event":"Caf\u00e9'.encode()[:-1]  # cut inside a UTF-8 char
    _abandoned(landing, os.getpid(), _lines("a", "b", "c") + torn)
    (sealed,) = recover_open_segments(landing)
    assert sealed.read_bytes().endswith(torn + b"\n")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        result = load_files(con, event_files([landing]), DAY)
        loaded = sorted(r[0] for r in con.execute("select message_id from raw_events").fetchall())
        rejected = con.execute("select reason, line_number from rejected_events").fetchall()
    assert loaded == ["a", "b", "c"] and (result.accepted, result.rejected) == (3, 1)
    (reason, line_number), *_ = rejected
    assert len(rejected) == 1 and line_number == 4 and reason


def test_the_raw_events_asset_seals_and_loads_what_a_dead_collector_acknowledged(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    _abandoned(landing, os.getpid(), _lines("x1", "x2", "x3"))
    result = dg.materialize(
        [raw_events],
        resources={"warehouse": WarehouseResource(home=str(tmp_path))},
        partition_key=DAY.isoformat(),
    )
    assert result.success
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        loaded = sorted(r[0] for r in con.execute("select message_id from raw_events").fetchall())
    assert loaded == ["x1", "x2", "x3"]
    assert not list(landing.glob("*/*/.collector-*"))


def test_the_landing_sensor_seals_a_dead_collectors_file_and_requests_its_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDP_HOME", str(tmp_path))
    _abandoned(tmp_path / "landing", os.getpid(), _lines("s1"))
    (sensor,) = build_sensors(ingestion_job())
    requests_made = list(sensor(dg.build_sensor_context()))
    assert [r.partition_key for r in requests_made] == [DAY.isoformat()]
    assert not list((tmp_path / "landing").glob("*/*/.collector-*"))
