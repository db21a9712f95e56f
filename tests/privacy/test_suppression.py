"""The suppression list applied to new events: by the loader (set-based, quarantined with no raw text)
and by the collector (acknowledged, never landed). Small real warehouses and a real collector."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from pathlib import Path

import duckdb
import pytest
import requests

from orchestration.collector.server import Collector
from orchestration.ingestion.loader import load_files
from orchestration.privacy.forget import forget
from orchestration.privacy.suppression import (
    SUPPRESSION_FILE,
    identifier_hash,
    privacy_salt,
    suppress,
    write_suppression_file,
)
from tests.collector.conftest import WRITE_KEYS, landed_lines

DAY = dt.date(2026, 3, 1)
NOW = dt.datetime(2026, 3, 2)


def _event(n: int, **fields: object) -> dict[str, object]:
    return {
        "messageId": f"m{n}",
        "type": "track",
        "event": "Viewed",
        "timestamp": "2026-03-01T10:00:00Z",
        **fields,
    }


def _write(path: Path, events: list[dict[str, object]], extra_lines: tuple[str, ...] = ()) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(json.dumps(e) + "\n" for e in events) + "".join(line + "\n" for line in extra_lines)
    )
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def con(home: Path):
    home.mkdir()
    connection = duckdb.connect(str(home / "warehouse.duckdb"))
    yield connection
    connection.close()


def _alice_events(start: int) -> list[dict[str, object]]:
    """Alice as each identifier field names her, in the case and padding people send."""
    return [
        _event(start, userId="alice-1"),
        _event(start + 1, anonymousId="anon-b", traits={"email": " Alice@Example.COM "}, type="identify"),
        _event(start + 2, anonymousId="anon-c", context={"traits": {"email": "alice@example.com"}}),
        _event(start + 3, anonymousId="anon-d", properties={"email": "ALICE@example.com"}),
    ]


@pytest.mark.parametrize("exact_path", [False, True], ids=["fast_path", "exact_path"])
def test_loader_quarantines_suppressed_events_without_their_text(con, home: Path, exact_path: bool) -> None:
    landing = home / "landing" / DAY.isoformat() / "web"
    salt = privacy_salt(con)
    suppress(con, [identifier_hash(salt, "alice@example.com"), identifier_hash(salt, "alice-1")], "r1")
    bob = [_event(n, userId="bob-2") for n in range(100, 103)]
    # A broken line sends the file through the exact path, which stages every record as text.
    broken = ("{not json",) if exact_path else ()
    result = load_files(con, [_write(landing / "new.jsonl", _alice_events(1) + bob, broken)], DAY, NOW)
    kept = {m for (m,) in con.execute("select message_id from raw_events").fetchall()}
    quarantined = con.execute(
        "select raw, reason, line_number from rejected_events where reason like 'suppressed%' order by line_number"
    ).fetchall()
    loaded, rejected = con.execute("select events_loaded, events_rejected from loaded_files").fetchone()
    assert kept == {"m100", "m101", "m102"}
    assert [line for _, _, line in quarantined] == [1, 2, 3, 4]
    assert all(raw is None for raw, _, _ in quarantined)  # their data is not kept in the quarantine
    assert all("alice" not in reason.lower() for _, reason, _ in quarantined)
    assert (loaded, rejected) == (3, 4 + len(broken))
    assert (result.accepted, result.rejected) == (3, 4 + len(broken))


def test_loader_leaves_a_warehouse_without_a_suppression_list_as_it_is(con, home: Path) -> None:
    landing = home / "landing" / DAY.isoformat() / "web"
    load_files(con, [_write(landing / "a.jsonl", _alice_events(1))], DAY, NOW)
    tables = {t for (t,) in con.execute("select table_name from information_schema.tables").fetchall()}
    assert con.execute("select count(*) from raw_events").fetchone()[0] == 4
    assert "suppressed_identifiers" not in tables


def test_forget_with_suppress_deletes_now_and_drops_what_comes_later(con, home: Path) -> None:
    landing = home / "landing" / DAY.isoformat() / "web"
    bob = [_event(n, userId="bob-2") for n in range(100, 102)]
    load_files(con, [_write(landing / "first.jsonl", _alice_events(1) + bob)], DAY, NOW)
    report = forget(con, home, "Alice@example.com", suppress_future=True)
    assert report.deleted["raw_events"] == 3  # the events naming her email (alice-1 was never linked)
    assert report.landing_lines == 3 and report.suppressed >= 1
    later = _alice_events(10)[1:] + [_event(200, userId="bob-2")]
    load_files(con, [_write(landing / "second.jsonl", later)], DAY, NOW)
    kept = sorted(m for (m,) in con.execute("select message_id from raw_events").fetchall())
    assert kept == ["m1", "m100", "m101", "m200"]
    (suppressed,) = con.execute(
        "select count(*) from rejected_events where reason like 'suppressed%'"
    ).fetchone()
    assert suppressed == 3
    published = json.loads((home / SUPPRESSION_FILE).read_text())
    assert "alice" not in json.dumps(published).lower() and len(published["hashes"]) == report.suppressed


def _basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def test_collector_acknowledges_suppressed_events_but_never_lands_them(con, home: Path) -> None:
    landing = home / "landing"
    with Collector(landing, WRITE_KEYS, port=0) as collector:
        # Published after the collector started: it picks the list up without a restart.
        salt = privacy_salt(con)
        suppress(con, [identifier_hash(salt, "alice@example.com")], "r1")
        write_suppression_file(con, home)
        time.sleep(1.2)
        batch = {
            "batch": [
                {"type": "identify", "userId": "u-alice", "traits": {"email": "ALICE@example.com"}},
                {
                    "type": "track",
                    "event": "Viewed",
                    "anonymousId": "a",
                    "properties": {"email": "alice@example.com"},
                },
                {"type": "track", "event": "Viewed", "userId": "bob-2"},
            ],
            "context": {"traits": {"email": "bob@example.com"}},
        }
        response = requests.post(f"{collector.url}/v1/batch", json=batch, headers=_basic("wk-web-123"))
        assert response.status_code == 200 and response.json() == {"success": True}
        single = {"event": "Viewed", "userId": "x", "context": {"traits": {"email": " alice@EXAMPLE.com"}}}
        response = requests.post(f"{collector.url}/v1/track", json=single, headers=_basic("wk-web-123"))
        assert response.status_code == 200
    lines = landed_lines(landing)
    assert [json.loads(line)["userId"] for line in lines] == ["bob-2"]
    assert all(b"alice" not in line.lower() for line in lines)
