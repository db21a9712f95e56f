"""Bad configuration or data is refused before anything is sent, with a message a person understands."""

from __future__ import annotations

import pytest

from reverse_etl.config import (
    ConfigError,
    DestinationConfig,
    SyncConfig,
    build_destination,
    load_destinations,
)
from reverse_etl.demo_server import WebhookServer
from reverse_etl.diff import AudienceDataError
from reverse_etl.engine import run_sync
from tests.reverse_etl.conftest import AUDIENCE, create_audience


@pytest.fixture
def server():
    with WebhookServer() as running:
        yield running


def test_unknown_destination_type_is_refused_naming_the_known_ones(tmp_path):
    path = tmp_path / "destinations.yml"
    path.write_text("destinations:\n  crm:\n    type: hubspott\n")
    with pytest.raises(ConfigError, match=r"unknown destination type 'hubspott' \(known: .*webhook"):
        load_destinations(path)


def test_sync_naming_an_undefined_destination_is_refused(tmp_path):
    path = tmp_path / "destinations.yml"
    path.write_text("destinations: {}\nsyncs:\n  - {audience: vip, destination: nowhere}\n")
    with pytest.raises(ConfigError, match="unknown destination 'nowhere'"):
        load_destinations(path)


def test_literal_secrets_in_destinations_yml_are_refused(tmp_path):
    path = tmp_path / "destinations.yml"
    path.write_text("destinations:\n  crm:\n    type: hubspot\n    access_token: pat-na1-123456\n")
    with pytest.raises(
        ConfigError, match=r"literal value for 'access_token'.*\$\{CRM_ACCESS_TOKEN\}"
    ) as error:
        load_destinations(path)
    assert "pat-na1" not in str(error.value)
    path.write_text("destinations:\n  crm:\n    type: hubspot\n    access_token: ${HS_TOKEN}\n")
    assert load_destinations(path).destinations["crm"].type == "hubspot"


def test_missing_environment_variable_is_named_and_secret_values_never_echoed(monkeypatch):
    monkeypatch.delenv("CDP_TEST_HOOK_URL", raising=False)
    config = DestinationConfig.model_validate({"type": "webhook", "url": "${CDP_TEST_HOOK_URL}"})
    with pytest.raises(ConfigError, match="environment variable CDP_TEST_HOOK_URL is not set"):
        build_destination("hook", config)
    monkeypatch.setenv("CDP_TEST_SECRET", "hunter2-very-secret")
    bad = DestinationConfig.model_validate(
        {
            "type": "webhook",
            "url": "http://127.0.0.1:1/hook",
            "secret": "${CDP_TEST_SECRET}",
            "timeout_seconds": -1,
        }
    )
    with pytest.raises(ConfigError) as error:
        build_destination("hook", bad)
    assert "timeout_seconds" in str(error.value) and "hunter2" not in str(error.value)


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest/meta-data", "http://metadata.google.internal/", "http://[fe80::1]/hook"],
)
def test_link_local_and_metadata_urls_are_refused(url):
    with pytest.raises(ConfigError, match="link-local|metadata"):
        build_destination("hook", DestinationConfig.model_validate({"type": "webhook", "url": url}))


def test_metadata_address_is_allowed_only_when_explicitly_asked():
    config = {"type": "webhook", "url": "https://169.254.169.254/hook", "allow_link_local": True}
    assert build_destination("hook", DestinationConfig.model_validate(config)).name == "hook"


def test_plain_http_is_refused_for_non_loopback_hosts():
    with pytest.raises(ConfigError, match="plain http"):
        build_destination(
            "hook", DestinationConfig.model_validate({"type": "webhook", "url": "http://10.1.2.3/h"})
        )


def test_audience_without_its_key_column_is_refused(warehouse, server, make_destination):
    create_audience(warehouse, 5)
    sync = SyncConfig(audience=AUDIENCE, destination="dest", key="customer_id")
    with pytest.raises(AudienceDataError, match="no key column 'customer_id'"):
        run_sync(warehouse, sync, make_destination(type="webhook", url=server.url))
    assert server.requests == 0


def test_duplicate_and_null_keys_are_refused_naming_the_offending_keys(warehouse, server, make_destination):
    create_audience(warehouse, 20)
    warehouse.execute(
        "update audience_membership set user_id = 'u1' where profile_id in ('p000002', 'p000003')"
    )
    warehouse.execute("update audience_membership set user_id = null where profile_id = 'p000009'")
    sync = SyncConfig(audience=AUDIENCE, destination="dest", key="user_id")
    with pytest.raises(AudienceDataError) as error:
        run_sync(warehouse, sync, make_destination(type="webhook", url=server.url))
    message = str(error.value)
    assert "NON_UNIQUE_PRIMARY_KEY" in message and "u1 (x3)" in message and "1 row(s) with a null" in message
    assert server.requests == 0
    status, summary = warehouse.execute("select status, error_summary from sync_runs").fetchone()
    assert status == "refused" and "NON_UNIQUE_PRIMARY_KEY" in summary


def test_field_mapping_naming_a_missing_column_is_refused(warehouse, server, make_destination):
    create_audience(warehouse, 5)
    sync = SyncConfig(audience=AUDIENCE, destination="dest", fields={"Email": "email", "Phone": "phone"})
    with pytest.raises(AudienceDataError, match="Phone <- phone"):
        run_sync(warehouse, sync, make_destination(type="webhook", url=server.url))
    assert server.requests == 0


def test_field_mapping_shapes_the_payload(warehouse, server, make_destination):
    create_audience(warehouse, 3)
    sync = SyncConfig(audience=AUDIENCE, destination="dest", fields={"Email": "email", "tier": "plan"})
    run_sync(warehouse, sync, make_destination(type="webhook", url=server.url))
    assert server.members(AUDIENCE)["p000000"] == {"Email": "user0@example.com", "tier": "pro"}


def test_dry_run_sends_nothing_and_shows_counts_and_a_redacted_sample(warehouse, server, make_destination):
    create_audience(warehouse, 40)
    destination = make_destination(type="webhook", url=server.url)
    result = run_sync(warehouse, SyncConfig(audience=AUDIENCE, destination="dest"), destination, dry_run=True)
    assert server.requests == 0 and result.planned == {"add": 40, "change": 0, "remove": 0}
    sample = result.sample["add"]["records"]
    assert len(sample) == 3 and sample[0]["fields"]["email"] == "<email>"
    assert warehouse.execute("select count(*) from sync_snapshots").fetchone() == (0,)
    assert warehouse.execute("select status from sync_runs").fetchall() == [("dry_run",)]
