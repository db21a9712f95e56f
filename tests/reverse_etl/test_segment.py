"""Segment-compatible destination: Engage-style identify/track on enter and exit, deterministic
messageIds, basic auth, 500 KB per request and 32 KB per message."""

from __future__ import annotations

import pytest

from reverse_etl.config import SyncConfig
from reverse_etl.engine import run_sync
from tests.reverse_etl.conftest import AUDIENCE, create_audience
from tests.reverse_etl.servers.segment import MAX_REQUEST, SegmentServer


@pytest.fixture
def server():
    with SegmentServer(write_key="wk") as running:
        yield running


def sync(con, destination):
    return run_sync(con, SyncConfig(audience=AUDIENCE, destination="seg", mode="mirror"), destination)


def test_enter_and_exit_send_identify_with_trait_and_audience_events(warehouse, server, make_destination):
    destination = make_destination("seg", type="segment", base_url=server.address, write_key="wk")
    create_audience(warehouse, 4)
    sync(warehouse, destination)
    assert server.users["u1"][AUDIENCE] is True and server.users["u1"]["plan"] == "free"
    warehouse.execute("delete from audience_membership where profile_id = 'p000001'")
    warehouse.execute("update audience_membership set plan = 'gold' where profile_id = 'p000002'")
    sync(warehouse, destination)
    assert server.users["u1"][AUDIENCE] is False and server.users["u2"]["plan"] == "gold"
    events = sorted(server.events)
    assert events.count(("u1", "Audience Entered")) == 1 and ("u1", "Audience Exited") in events
    assert [e for e in events if e[0] == "u2"] == [("u2", "Audience Entered")]  # a change is no new entry


def test_message_ids_are_deterministic_so_a_resend_is_deduplicated(warehouse, server, make_destination):
    destination = make_destination("seg", type="segment", base_url=server.address, write_key="wk")
    create_audience(warehouse, 10)
    server.fail_next("apply_then_timeout")
    server.hang_seconds = 0.6
    destination.settings.timeout_seconds = 0.3
    sync(warehouse, destination)
    assert len(server.message_ids) == 20 and server.duplicate_deliveries == 1
    assert len(server.events) == 10


def test_batches_stay_under_500kb_and_oversized_messages_are_rejected_locally(
    warehouse, server, make_destination
):
    destination = make_destination("seg", type="segment", base_url=server.address, write_key="wk")
    create_audience(warehouse, 400)
    warehouse.execute("update audience_membership set plan = repeat('x', 2000)")  # ~2.2 KB per member
    warehouse.execute("update audience_membership set plan = repeat('y', 40000) where profile_id = 'p000007'")
    result = sync(warehouse, destination)
    assert result.delivered["add"] == 399 and result.rejected == 1
    # ~880 KB of messages: split by size into requests the server accepted first time.
    assert result.requests in (2, 3) and result.retries == 0
    assert 400_000 < server.largest_request <= MAX_REQUEST
    (reason,) = warehouse.execute("select error from sync_failures where record_key = 'p000007'").fetchone()
    assert "at most 32000" in reason


def test_wrong_write_key_is_fatal(warehouse, server, make_destination):
    destination = make_destination("seg", type="segment", base_url=server.address, write_key="nope")
    create_audience(warehouse, 3)
    result = sync(warehouse, destination)
    assert result.status == "failed" and "401" in result.stopped and server.users == {}
