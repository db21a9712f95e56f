"""The webhook destination against its contract server: signatures, idempotency, batching, modes."""

from __future__ import annotations

import pytest

from reverse_etl.config import SyncConfig
from reverse_etl.demo_server import WebhookServer
from reverse_etl.engine import run_sync
from tests.reverse_etl.conftest import AUDIENCE, create_audience, expected_members

SECRET = "s3cret-value"


@pytest.fixture
def server():
    with WebhookServer(secret=SECRET) as running:
        yield running


@pytest.fixture
def webhook(server, make_destination):
    return make_destination(type="webhook", url=server.url, secret=SECRET)


def sync(con, destination, mode="mirror", **kwargs):
    return run_sync(
        con, SyncConfig(audience=AUDIENCE, destination=destination.name, mode=mode), destination, **kwargs
    )


def test_first_sync_sends_everyone_in_signed_batches_and_rerun_sends_nothing(warehouse, server, webhook):
    create_audience(warehouse, 2500)
    first = sync(warehouse, webhook)
    assert first.delivered["add"] == 2500
    assert server.applied_batches == 3  # 1000 records per batch, the documented limit
    assert server.members(AUDIENCE) == expected_members(warehouse)
    second = sync(warehouse, webhook)
    assert sum(second.delivered.values()) == 0 and second.requests == 0


def test_mirror_sends_adds_changes_and_removes_until_destination_equals_audience(warehouse, server, webhook):
    create_audience(warehouse, 300)
    sync(warehouse, webhook)
    warehouse.execute("delete from audience_membership where profile_id < 'p000010'")
    warehouse.execute(
        "update audience_membership set plan = 'enterprise' where profile_id between 'p000100' and 'p000104'"
    )
    warehouse.execute(
        "insert into audience_membership select audience, 'new' || profile_id, entered_at, email, user_id, plan "
        "from audience_membership limit 7"
    )
    result = sync(warehouse, webhook)
    assert result.delivered == {"add": 7, "change": 5, "remove": 10}
    assert server.members(AUDIENCE) == expected_members(warehouse)
    runs = warehouse.execute(
        "select status, added, changed, removed, failed from sync_runs order by started_at"
    ).fetchall()
    assert runs[-1] == ("succeeded", 7, 5, 10, 0)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("upsert", {"add": 4, "change": 2, "remove": 0}),
        ("insert", {"add": 4, "change": 0, "remove": 0}),
        ("update", {"add": 0, "change": 2, "remove": 0}),
        ("mirror", {"add": 4, "change": 2, "remove": 3}),
    ],
)
def test_sync_modes_send_only_their_operations(warehouse, server, webhook, mode, expected):
    create_audience(warehouse, 20)
    sync(warehouse, webhook, mode="mirror")
    warehouse.execute("delete from audience_membership where profile_id in ('p000000', 'p000001', 'p000002')")
    warehouse.execute("update audience_membership set plan = 'x' where profile_id in ('p000010', 'p000011')")
    warehouse.execute(
        "insert into audience_membership select audience, 'n' || profile_id, entered_at, email, user_id, plan "
        "from audience_membership limit 4"
    )
    result = sync(warehouse, webhook, mode=mode)
    assert result.delivered == expected
    held = server.members(AUDIENCE)
    assert ("p000000" in held) == (mode != "mirror")
    assert (held["p000010"]["plan"] == "x") == (mode in ("upsert", "update", "mirror"))


def test_full_resync_resends_everyone(warehouse, server, webhook):
    create_audience(warehouse, 50)
    sync(warehouse, webhook)
    server.state.clear()  # the destination lost everything
    result = sync(warehouse, webhook, full_resync=True)
    assert result.delivered["add"] == 50
    assert server.members(AUDIENCE) == expected_members(warehouse)


def test_wrong_secret_stops_the_run_and_loses_nothing(warehouse, server, make_destination):
    create_audience(warehouse, 30)
    wrong = make_destination(type="webhook", url=server.url, secret="not-the-secret")
    result = sync(warehouse, wrong)
    assert result.status == "failed" and "HTTP 401" in result.stopped
    assert result.failed == 30 and server.members(AUDIENCE) == {}
    right = make_destination(type="webhook", url=server.url, secret=SECRET)
    assert sync(warehouse, right).delivered["add"] == 30
