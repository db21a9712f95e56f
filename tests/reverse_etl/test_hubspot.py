"""HubSpot destination: batch upsert by email, <= 100 inputs, membership property, partial errors."""

from __future__ import annotations

import time

import pytest

from reverse_etl.config import SyncConfig
from reverse_etl.engine import run_sync
from tests.reverse_etl.conftest import AUDIENCE, create_audience
from tests.reverse_etl.servers.hubspot import HubSpotServer


@pytest.fixture
def server():
    with HubSpotServer(token="tok") as running:
        yield running


def settings(server, **extra):
    return {"type": "hubspot", "base_url": server.address, "access_token": "tok", **extra}


def sync(con, destination):
    return run_sync(con, SyncConfig(audience=AUDIENCE, destination="hs", mode="mirror"), destination)


def test_contacts_are_upserted_100_per_request_at_the_default_rate_limit(warehouse, server, make_destination):
    create_audience(warehouse, 450)
    started = time.monotonic()
    result = sync(warehouse, make_destination("hs", **settings(server)))
    assert result.delivered["add"] == 450 and result.requests == 5
    assert time.monotonic() - started >= 4 / 9  # five requests at <= 9 per second
    assert server.contacts["user7@example.com"] == {
        "profile_id": "p000007",
        "user_id": "u7",
        "plan": "free",
        AUDIENCE: "true",
    }


def test_exit_sets_the_membership_property_false(warehouse, server, make_destination):
    destination = make_destination(
        "hs", **settings(server, rate_limit_per_second=1000, membership_property="in_vip")
    )
    create_audience(warehouse, 5)
    sync(warehouse, destination)
    warehouse.execute("delete from audience_membership where profile_id = 'p000003'")
    assert sync(warehouse, destination).delivered["remove"] == 1
    assert server.contacts["user3@example.com"]["in_vip"] == "false"
    assert server.contacts["user2@example.com"]["in_vip"] == "true"


def test_partial_errors_reject_only_the_named_inputs(warehouse, server, make_destination):
    create_audience(warehouse, 50)
    server.reject_keys.update({"p000004", "p000040"})
    result = sync(warehouse, make_destination("hs", **settings(server, rate_limit_per_second=1000)))
    assert result.requests == 1 and result.rejected == 2 and result.delivered["add"] == 48
    reasons = dict(
        warehouse.execute("select record_key, error from sync_failures where permanent").fetchall()
    )
    assert set(reasons) == {"p000004", "p000040"} and "VALIDATION_ERROR" in reasons["p000004"]


def test_members_without_email_are_rejected_before_sending(warehouse, server, make_destination):
    create_audience(warehouse, 5)
    warehouse.execute("update audience_membership set email = null where profile_id = 'p000002'")
    result = sync(warehouse, make_destination("hs", **settings(server, rate_limit_per_second=1000)))
    assert result.rejected == 1 and len(server.contacts) == 4
