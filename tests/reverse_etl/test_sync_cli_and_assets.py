"""`cdp sync` and the Dagster sync assets, against a real warehouse file and a real webhook server."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from reverse_etl.demo_server import WebhookServer
from tests.reverse_etl.conftest import AUDIENCE, create_audience, expected_members

DESTINATIONS_YML = """
destinations:
  hook:
    type: webhook
    url: ${CDP_TEST_HOOK_URL}
    secret: ${CDP_TEST_HOOK_SECRET}
    initial_backoff_seconds: 0.01
syncs:
  - {audience: vip, destination: hook, mode: mirror}
"""


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CDP_HOME", str(tmp_path))
    monkeypatch.delenv("CDP_DESTINATIONS", raising=False)
    (tmp_path / "destinations.yml").write_text(DESTINATIONS_YML)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        create_audience(con, 120)
    return tmp_path


@pytest.fixture
def server(monkeypatch):
    with WebhookServer(secret="cli-secret") as running:
        monkeypatch.setenv("CDP_TEST_HOOK_URL", running.url)
        monkeypatch.setenv("CDP_TEST_HOOK_SECRET", "cli-secret")
        yield running


def test_cdp_sync_dry_run_then_real_run(home, server):
    runner = CliRunner()
    dry = runner.invoke(app, ["sync", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.output and "120" in dry.output and server.requests == 0
    assert "@example.com" not in dry.output  # the sample is redacted
    # An ordinary 80-column terminal: the status column must not be cut to "succe…".
    real = runner.invoke(
        app, ["sync", "--audience", AUDIENCE, "--destination", "hook"], env={"COLUMNS": "80"}
    )
    assert real.exit_code == 0, real.output
    assert "succeeded" in real.output, real.output
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert server.members(AUDIENCE) == expected_members(con)


def test_cdp_sync_reports_a_missing_secret_and_exits_non_zero(home, server, monkeypatch):
    monkeypatch.delenv("CDP_TEST_HOOK_SECRET")
    result = CliRunner().invoke(app, ["sync"])
    assert result.exit_code == 1 and "CDP_TEST_HOOK_SECRET is not set" in result.output
    assert server.requests == 0


def test_sync_asset_materialises_with_counts_as_metadata(home, server):
    from orchestration.defs.assets.reverse_etl import sync_asset
    from orchestration.defs.resources import WarehouseResource
    from reverse_etl.config import load_destinations

    # The dbt wiring (`get_asset_key_for_model`) is exercised by the pipeline's end-to-end tests;
    # here the upstream key is given directly so this test needs no dbt parse.
    upstream = dg.AssetKey(["audience_membership"])
    (sync,) = load_destinations(home / "destinations.yml").syncs
    asset = sync_asset(sync, upstream)
    assert asset.key == dg.AssetKey(["sync", AUDIENCE, "hook"])
    assert upstream in asset.asset_deps[asset.key]
    resources = {"warehouse": WarehouseResource(home=str(home))}
    result = dg.materialize([asset], resources=resources)
    (event,) = result.get_asset_materialization_events()
    metadata = {k: v.value for k, v in event.materialization.metadata.items()}
    assert (metadata["added"], metadata["changed"], metadata["removed"], metadata["failed"]) == (120, 0, 0, 0)
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("delete from audience_membership where profile_id < 'p000010'")
    again = dg.materialize([asset], resources=resources)
    (event,) = again.get_asset_materialization_events()
    assert event.materialization.metadata["removed"].value == 10
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert server.members(AUDIENCE) == expected_members(con)
