"""Salesforce destination: sObject Collections upsert by external id, <= 200 records, per-record results."""

from __future__ import annotations

import pytest

from reverse_etl.config import SyncConfig
from reverse_etl.engine import run_sync
from tests.reverse_etl.conftest import AUDIENCE, create_audience
from tests.reverse_etl.servers.salesforce import SalesforceServer


@pytest.fixture
def server():
    with SalesforceServer(token="sf") as running:
        yield running


def destination_for(make_destination, server, token="sf"):
    return make_destination(
        "sf", type="salesforce", instance_url=server.address, access_token=token, membership_field="In_VIP__c"
    )


def sync(con, destination, **sync_fields):
    return run_sync(
        con, SyncConfig(audience=AUDIENCE, destination="sf", mode="mirror", **sync_fields), destination
    )


def test_records_are_upserted_200_per_request_by_external_id_with_mapped_fields(
    warehouse, server, make_destination
):
    create_audience(warehouse, 450)
    result = sync(
        warehouse, destination_for(make_destination, server), fields={"Email": "email", "Plan__c": "plan"}
    )
    assert result.delivered["add"] == 450 and result.requests == 3
    assert server.records["p000009"] == {
        "Email": "user9@example.com",
        "Plan__c": "pro",
        "CDP_Profile_Id__c": "p000009",
        "In_VIP__c": True,
    }


def test_exit_clears_the_membership_checkbox(warehouse, server, make_destination):
    destination = destination_for(make_destination, server)
    create_audience(warehouse, 5)
    sync(warehouse, destination)
    warehouse.execute("delete from audience_membership where profile_id = 'p000001'")
    sync(warehouse, destination)
    assert server.records["p000001"]["In_VIP__c"] is False and server.records["p000000"]["In_VIP__c"] is True


def test_per_record_failures_are_rejected_with_salesforce_reason(warehouse, server, make_destination):
    create_audience(warehouse, 20)
    server.reject_keys.add("p000011")
    result = sync(warehouse, destination_for(make_destination, server))
    assert result.rejected == 1 and result.delivered["add"] == 19 and result.requests == 1
    (reason,) = warehouse.execute("select error from sync_failures where record_key = 'p000011'").fetchone()
    assert reason.startswith("INVALID_EMAIL_ADDRESS")


def test_expired_session_stops_the_run(warehouse, server, make_destination):
    create_audience(warehouse, 5)
    result = sync(warehouse, destination_for(make_destination, server, token="expired"))
    assert result.status == "failed" and "INVALID_SESSION_ID" in result.stopped
