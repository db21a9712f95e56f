"""Braze destination: /users/track attributes keyed by external_id, <= 75 per request, minor errors by index."""

from __future__ import annotations

import pytest

from reverse_etl.config import SyncConfig
from reverse_etl.engine import run_sync
from tests.reverse_etl.conftest import AUDIENCE, create_audience
from tests.reverse_etl.servers.braze import BrazeServer


@pytest.fixture
def server():
    with BrazeServer(api_key="bz") as running:
        yield running


def braze(make_destination, server, key="bz"):
    return make_destination("bz", type="braze", rest_endpoint=server.address, api_key=key)


def sync(con, destination):
    return run_sync(con, SyncConfig(audience=AUDIENCE, destination="bz", mode="mirror"), destination)


def test_attributes_are_sent_75_per_request_and_exit_sets_the_flag_false(warehouse, server, make_destination):
    destination = braze(make_destination, server)
    create_audience(warehouse, 160)
    result = sync(warehouse, destination)
    assert result.delivered["add"] == 160 and result.requests == 3
    assert server.users["u5"] == {
        "profile_id": "p000005",
        "email": "user5@example.com",
        "plan": "free",
        AUDIENCE: True,
    }
    warehouse.execute("delete from audience_membership where profile_id = 'p000005'")
    sync(warehouse, destination)
    assert server.users["u5"][AUDIENCE] is False


def test_minor_errors_reject_the_indexed_objects_only(warehouse, server, make_destination):
    create_audience(warehouse, 30)
    server.reject_keys.add("p000017")
    result = sync(warehouse, braze(make_destination, server))
    assert result.rejected == 1 and result.delivered["add"] == 29
    assert "u17" not in server.users and "u18" in server.users


def test_members_without_external_id_are_rejected_locally_and_bad_key_is_fatal(
    warehouse, server, make_destination
):
    create_audience(warehouse, 4)
    warehouse.execute("update audience_membership set user_id = null where profile_id = 'p000000'")
    assert sync(warehouse, braze(make_destination, server)).rejected == 1
    warehouse.execute("update audience_membership set plan = 'x'")
    result = sync(warehouse, braze(make_destination, server, key="wrong"))
    assert result.status == "failed" and "401" in result.stopped
