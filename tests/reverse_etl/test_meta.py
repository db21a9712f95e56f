"""Meta Custom Audiences: normalised SHA-256 emails, POST to add and DELETE to remove, <= 10,000 per
request, throttling and token errors read from the Graph API error code."""

from __future__ import annotations

import hashlib

import pytest

from reverse_etl.config import SyncConfig
from reverse_etl.contract_server import Reply
from reverse_etl.destinations.meta import normalise_email, normalise_phone
from reverse_etl.engine import run_sync
from tests.reverse_etl.conftest import AUDIENCE, create_audience
from tests.reverse_etl.servers.meta import MetaServer


@pytest.fixture
def server():
    with MetaServer(token="fb", audience_id="42") as running:
        yield running


def meta(make_destination, server, **extra):
    return make_destination(
        "fb",
        type="meta_custom_audience",
        base_url=server.address,
        access_token="fb",
        audience_id="42",
        **extra,
    )


def sync(con, destination):
    return run_sync(con, SyncConfig(audience=AUDIENCE, destination="fb", mode="mirror"), destination)


def test_identifiers_are_normalised_before_hashing():
    assert normalise_email("  Jane.Doe@Example.COM ") == "jane.doe@example.com"
    assert normalise_email("not an email") is None
    assert normalise_phone("+1 (415) 555-0100") == "14155550100"


def test_members_are_added_as_sha256_of_normalised_email_and_removed_with_delete(
    warehouse, server, make_destination
):
    create_audience(warehouse, 12_000)
    warehouse.execute(
        "update audience_membership set email = '  USER0@Example.com ' where profile_id = 'p000000'"
    )
    destination = meta(make_destination, server)
    result = sync(warehouse, destination)
    assert result.requests == 2  # 10,000 per request
    assert hashlib.sha256(b"user0@example.com").hexdigest() in server.members
    assert len(server.members) == 12_000
    warehouse.execute("delete from audience_membership where profile_id < 'p000100'")
    assert sync(warehouse, destination).delivered["remove"] == 100
    assert (
        len(server.members) == 11_900
        and hashlib.sha256(b"user0@example.com").hexdigest() not in server.members
    )


def test_throttling_reported_as_400_with_code_is_retried(warehouse, server, make_destination, monkeypatch):
    create_audience(warehouse, 10)
    original = server.handle
    calls = []

    def throttle_once(*args):
        calls.append(1)
        if len(calls) == 1:
            return Reply(400, {"error": {"code": 80003, "message": "too many calls to this ad-account"}})
        return original(*args)

    monkeypatch.setattr(server, "handle", throttle_once)
    result = sync(warehouse, meta(make_destination, server))
    assert result.retries == 1 and len(server.members) == 10


def test_invalid_token_is_fatal_and_the_token_is_not_in_the_error(warehouse, server, make_destination):
    create_audience(warehouse, 3)
    destination = make_destination(
        "fb",
        type="meta_custom_audience",
        base_url=server.address,
        access_token="EAAB-secret",
        audience_id="42",
    )
    result = sync(warehouse, destination)
    assert result.status == "failed" and "190" in result.stopped and "EAAB" not in result.stopped


def test_members_without_email_are_rejected_locally(warehouse, server, make_destination):
    create_audience(warehouse, 3)
    warehouse.execute("update audience_membership set email = null where profile_id = 'p000001'")
    result = sync(warehouse, meta(make_destination, server))
    assert result.rejected == 1 and len(server.members) == 2
