"""The Segment HTTP tracking API as the collector speaks it: auth, endpoints, gzip, limits."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import requests

from orchestration.collector.server import Collector
from tests.collector.conftest import landed_lines


def _basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def test_each_call_endpoint_lands_its_event_tagged_with_the_source_of_the_write_key(
    collector: Collector, landing: Path
) -> None:
    calls = {
        "track": {"event": "Order Completed", "userId": "u1"},
        "identify": {"userId": "u1", "traits": {"plan": "pro"}},
        "page": {"name": "Home", "anonymousId": "a1"},
        "screen": {"name": "Cart", "anonymousId": "a1"},
        "group": {"groupId": "g1", "userId": "u1"},
        "alias": {"previousId": "a1", "userId": "u1"},
    }
    for call, body in calls.items():
        response = requests.post(f"{collector.url}/v1/{call}", json=body, headers=_basic("wk-server-456"))
        assert response.status_code == 200, response.text
        assert response.json() == {"success": True}
    events = [json.loads(raw) for raw in landed_lines(landing)]
    assert sorted(e["type"] for e in events) == sorted(calls)
    assert all(e["messageId"] and e["receivedAt"] for e in events)
    assert {p.parent.name for p in landing.glob("*/*/.collector-*")} == {"server"}


def test_write_key_in_the_body_works_and_is_never_written_to_disk(
    collector: Collector, landing: Path
) -> None:
    body = {"writeKey": "wk-web-123", "batch": [{"type": "track", "event": "A", "userId": "u"}]}
    response = requests.post(f"{collector.url}/v1/batch", json=body)
    assert response.status_code == 200
    stored = b"".join(landed_lines(landing))
    assert b'"event":"A"' in stored
    assert b"wk-web-123" not in stored


def test_unknown_or_missing_write_key_is_401_with_a_json_error(collector: Collector, landing: Path) -> None:
    event = {"batch": [{"type": "track", "event": "A", "userId": "u"}]}
    unknown = requests.post(f"{collector.url}/v1/batch", json=event, headers=_basic("nope"))
    missing = requests.post(f"{collector.url}/v1/batch", json=event)
    assert (unknown.status_code, missing.status_code) == (401, 401)
    assert unknown.json()["success"] is False and "write key" in unknown.json()["message"]
    assert landed_lines(landing) == []


def test_gzip_batch_bodies_are_accepted_and_batch_sent_at_and_context_reach_each_event(
    collector: Collector, landing: Path
) -> None:
    body = {
        "batch": [
            {"type": "track", "event": "A", "userId": "u", "context": {"ip": "1.2.3.4"}},
            {"type": "identify", "userId": "u"},
        ],
        "sentAt": "2026-11-02T10:00:00Z",
        "context": {"library": {"name": "curl"}},
    }
    response = requests.post(
        f"{collector.url}/v1/batch",
        data=gzip.compress(json.dumps(body).encode()),
        headers={**_basic("wk-web-123"), "Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    first, second = (json.loads(raw) for raw in landed_lines(landing))
    assert first["sentAt"] == second["sentAt"] == "2026-11-02T10:00:00Z"
    assert first["context"] == {"ip": "1.2.3.4"}  # an event's own context wins
    assert second["context"] == {"library": {"name": "curl"}}


def test_limits_are_answered_with_400_and_a_json_error_and_nothing_lands(
    collector: Collector, landing: Path
) -> None:
    big_event = {"type": "track", "event": "A", "userId": "u", "properties": {"x": "y" * 33_000}}
    too_big_event = requests.post(
        f"{collector.url}/v1/batch", json={"batch": [big_event]}, headers=_basic("wk-web-123")
    )
    single = requests.post(f"{collector.url}/v1/track", json=big_event, headers=_basic("wk-web-123"))
    many = [{"type": "track", "event": "A", "userId": "u", "properties": {"x": "y" * 20_000}}] * 30
    too_big_batch = requests.post(
        f"{collector.url}/v1/batch", json={"batch": many}, headers=_basic("wk-web-123")
    )
    bomb = gzip.compress(json.dumps({"batch": many * 10}).encode())
    gzip_bomb = requests.post(
        f"{collector.url}/v1/batch", data=bomb, headers={**_basic("wk-web-123"), "Content-Encoding": "gzip"}
    )
    for response in (too_big_event, single, too_big_batch, gzip_bomb):
        assert response.status_code == 400, response.text
        assert response.json()["success"] is False and "KB" in response.json()["message"]
    assert landed_lines(landing) == []


def test_malformed_bodies_are_400_and_unknown_paths_404(collector: Collector) -> None:
    headers = _basic("wk-web-123")
    assert requests.post(f"{collector.url}/v1/batch", data=b"{not json", headers=headers).status_code == 400
    assert requests.post(f"{collector.url}/v1/batch", json={"batch": "x"}, headers=headers).status_code == 400
    assert requests.post(f"{collector.url}/v1/batch", json={"batch": [1]}, headers=headers).status_code == 400
    assert requests.post(f"{collector.url}/v1/track", json=[1], headers=headers).status_code == 400
    assert requests.post(f"{collector.url}/v1/purchase", json={}, headers=headers).status_code == 404
    assert requests.get(f"{collector.url}/health").status_code == 200
