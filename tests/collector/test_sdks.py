"""The official SDKs, pointed at a local collector: what they send arrives in `raw_events`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.collector.server import Collector
from orchestration.defs.assets.ingestion import raw_events
from orchestration.defs.resources import WarehouseResource
from tests.collector.conftest import WRITE_KEYS


def _load_today(home: Path) -> duckdb.DuckDBPyConnection:
    """Materialise today's `raw_events` partition, as the sensor's run would."""
    today = dt.datetime.now(dt.UTC).date().isoformat()
    result = dg.materialize(
        [raw_events], resources={"warehouse": WarehouseResource(home=str(home))}, partition_key=today
    )
    assert result.success
    return duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "landing").mkdir()
    return tmp_path


def test_segment_analytics_python_events_arrive_in_raw_events(home: Path) -> None:
    from segment.analytics import Client

    errors: list[Exception] = []
    with Collector(home / "landing", WRITE_KEYS) as collector:
        client = Client(
            "wk-web-123", host=collector.url, on_error=lambda e, batch: errors.append(e), gzip=True
        )
        client.identify("user-1", {"email": "ada@example.com", "plan": "pro"}, anonymous_id="anon-1")
        client.track("user-1", "Order Completed", {"revenue": 42.5, "currency": "EUR"})
        client.page("user-1", "Docs", "Getting Started", {"path": "/docs"})
        client.screen("user-1", "App", "Cart")
        client.group("user-1", "org-9", {"name": "Acme"})
        client.alias("anon-1", "user-1")
        client.flush()
        client.shutdown()
    assert errors == []

    with _load_today(home) as con:
        rows = con.execute(
            "select type, event, user_id, anonymous_id, group_id, previous_id, source, "
            "properties ->> 'currency', traits ->> 'email', context -> 'library' ->> 'name', "
            'is_future_timestamp, "timestamp" <= received_at + interval 1 minute '
            "from raw_events order by type"
        ).fetchall()
        assert con.execute("select count(*) from rejected_events").fetchone()[0] == 0
    by_type = {row[0]: row for row in rows}
    assert sorted(by_type) == ["alias", "group", "identify", "page", "screen", "track"]
    assert by_type["track"][1:3] == ("Order Completed", "user-1")
    assert by_type["track"][7] == "EUR"
    assert by_type["identify"][8] == "ada@example.com"
    assert by_type["group"][4] == "org-9"
    assert by_type["alias"][5] == "anon-1"
    assert {row[6] for row in rows} == {"web"}
    assert {row[9] for row in rows} == {"analytics-python"}
    assert not any(row[10] for row in rows) and all(row[11] for row in rows)


def test_rudder_sdk_python_events_arrive_in_raw_events(home: Path) -> None:
    import rudderstack.analytics as rudder_analytics

    with Collector(home / "landing", WRITE_KEYS) as collector:
        rudder_analytics.write_key = "wk-server-456"
        rudder_analytics.dataPlaneUrl = collector.url
        rudder_analytics.default_client = None
        rudder_analytics.track("user-2", "Signed Up", {"plan": "trial"})
        rudder_analytics.identify("user-2", {"email": "grace@example.com"})
        rudder_analytics.flush()
        rudder_analytics.shutdown()
        rudder_analytics.default_client = None

    with _load_today(home) as con:
        rows = con.execute("select type, event, user_id, source from raw_events order by type").fetchall()
    assert rows == [("identify", None, "user-2", "server"), ("track", "Signed Up", "user-2", "server")]
