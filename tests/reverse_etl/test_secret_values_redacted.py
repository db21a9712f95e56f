"""Issue 10, defect 5: secrets are redacted by value wherever text leaves a sync.

A `${ENV}` secret in a webhook URL's path or query string, and a custom auth header that the destination
echoes in its error body, must not appear in CLI output, `sync_runs`, `sync_failures`, logs or Dagster
events, in any form they take on the wire (raw, percent-encoded). The secrets below match none of the
keyword patterns (no `token=`, no `Bearer`), so only masking by value can catch them.
"""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import quote, quote_plus, unquote

import dagster as dg
import duckdb
import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from reverse_etl.contract_server import ContractServer, Reply
from tests.reverse_etl.conftest import AUDIENCE, create_audience

SECRET_MASK = "<secret>"  # what reverse_etl.redaction writes in place of a secret
PATH_SECRET = "Pth7x9QzLm2vR"
QUERY_SECRET = "Qv 7/Kp!zW3 n"  # a space and a slash: sent percent-encoded, echoed either way
HEADER_SECRET = "hdr-Z8k2mQ-Yt"


def wire_forms(secret: str) -> set[str]:
    """How a secret can show up in text: raw, and percent-encoded as requests and servers write it."""
    return {secret, quote(secret, safe=""), quote(secret, safe="/"), quote(secret, safe="!/")}


ALL_FORMS = set().union(*(wire_forms(s) for s in (PATH_SECRET, QUERY_SECRET, HEADER_SECRET)))


class EchoingServer(ContractServer):
    """A destination that refuses everything and, like many, echoes the request in its error body."""

    def __init__(self, status: int) -> None:
        super().__init__()
        self.status = status

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        echo = {"path": path, "decoded": unquote(path), "auth": headers.get("x-custom-auth")}
        return Reply(self.status, {"error": "refused", **echo})


def destinations_yml(style: str, port: int) -> str:
    """The webhook URL either built from secret parts, or held whole in one variable."""
    url = (
        f"http://127.0.0.1:{port}/hook/${{CDP_T_PATH}}?sig=${{CDP_T_QUERY}}"
        if style == "parts"
        else "${CDP_T_URL}"
    )
    return f"""
destinations:
  hook:
    type: webhook
    url: "{url}"
    headers: {{X-Custom-Auth: "${{CDP_T_HEADER}}"}}
    max_attempts: 2
    initial_backoff_seconds: 0.01
    max_backoff_seconds: 0.02
    timeout_seconds: 2
syncs:
  - {{audience: {AUDIENCE}, destination: hook, mode: mirror}}
"""


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CDP_HOME", str(tmp_path))
    monkeypatch.delenv("CDP_DESTINATIONS", raising=False)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        create_audience(con, 6)
    return tmp_path


def configure(home, monkeypatch, style: str, port: int) -> None:
    monkeypatch.setenv("CDP_T_PATH", PATH_SECRET)
    monkeypatch.setenv("CDP_T_QUERY", QUERY_SECRET)
    monkeypatch.setenv("CDP_T_HEADER", HEADER_SECRET)
    monkeypatch.setenv("CDP_T_URL", f"http://127.0.0.1:{port}/hook/{PATH_SECRET}?sig={QUERY_SECRET}")
    (home / "destinations.yml").write_text(destinations_yml(style, port))


def state_text(home) -> str:
    """Every text column of the sync state tables."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        runs = con.execute("select cast(columns(*) as varchar) from sync_runs").fetchall()
        failures = con.execute("select cast(columns(*) as varchar) from sync_failures").fetchall()
    return repr(runs) + repr(failures)


def assert_no_secret(text: str, where: str) -> None:
    leaked = sorted(form for form in ALL_FORMS if form in text)
    assert not leaked, f"{where} leaks {leaked}"


@pytest.mark.parametrize("style", ["parts", "whole"])
def test_echoed_url_and_header_secrets_are_masked_in_cli_output_and_state(home, monkeypatch, caplog, style):
    caplog.set_level(logging.DEBUG)
    with EchoingServer(status=500) as server:
        configure(home, monkeypatch, style, int(server.address.rsplit(":", 1)[1]))
        result = CliRunner().invoke(app, ["sync"])
    assert server.requests == 2  # it really was asked twice, and answered with the echo each time
    assert result.exit_code == 1, result.output
    assert "stopped" in result.output and SECRET_MASK in result.output  # the error is shown, masked
    assert_no_secret(result.output, "CLI output")
    text = state_text(home)
    assert "HTTP 500" in text and SECRET_MASK in text
    assert_no_secret(text, "sync_runs")
    assert_no_secret(caplog.text, "logs")


def test_per_record_rejections_carry_the_echo_masked(home, monkeypatch):
    """A 400 is split down to single records: every sync_failures.error holds the echoed body."""
    with EchoingServer(status=400) as server:
        configure(home, monkeypatch, "parts", int(server.address.rsplit(":", 1)[1]))
        result = CliRunner().invoke(app, ["sync"])
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        errors = [row[0] for row in con.execute("select error from sync_failures").fetchall()]
        (summary,) = con.execute("select error_summary from sync_runs where status = 'partial'").fetchone()
    assert len(errors) == 6 and all("HTTP 400" in e and SECRET_MASK in e for e in errors)
    for error in [*errors, summary]:
        assert_no_secret(error, "sync_failures / sync_runs")


def test_connection_errors_quoting_the_url_are_masked(home, monkeypatch):
    """No server at all: requests' own message quotes the URL path and query."""
    with EchoingServer(status=500) as server:
        port = int(server.address.rsplit(":", 1)[1])
    configure(home, monkeypatch, "whole", port)  # the port is closed now
    result = CliRunner().invoke(app, ["sync"])
    assert result.exit_code == 1 and "connection failed" in result.output, result.output
    assert SECRET_MASK in result.output
    assert_no_secret(result.output, "CLI output")
    assert_no_secret(state_text(home), "sync_runs")


def test_dagster_metadata_events_and_logs_hold_no_secret(home, monkeypatch, capfd):
    from orchestration.defs.assets.reverse_etl import sync_asset
    from orchestration.defs.resources import WarehouseResource
    from reverse_etl.config import load_destinations

    with EchoingServer(status=500) as server:
        configure(home, monkeypatch, "parts", int(server.address.rsplit(":", 1)[1]))
        (sync,) = load_destinations(home / "destinations.yml").syncs
        asset = sync_asset(sync, dg.AssetKey(["audience_membership"]))
        result = dg.materialize(
            [asset], resources={"warehouse": WarehouseResource(home=str(home))}, raise_on_error=False
        )
    assert not result.success and server.requests == 2
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.message
    assert "sync stopped" in message and SECRET_MASK in message
    events = repr(result.all_events)
    assert "HTTP 500" in events
    assert_no_secret(events, "Dagster events (metadata, failure, logs)")
    captured = capfd.readouterr()
    assert_no_secret(captured.out + captured.err, "process output")


def test_registered_secret_is_masked_in_every_wire_form():
    from reverse_etl.redaction import redact, register_secret

    secret = "s3cr et/+&=x"
    register_secret(secret)
    encoded = quote(secret, safe="")
    lower_hex = re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), encoded)
    forms = [secret, encoded, lower_hex, quote_plus(secret), json.dumps({"v": secret})]
    cleaned = redact(" | ".join(forms))
    assert cleaned.count(SECRET_MASK) == len(forms) and "s3cr" not in cleaned, cleaned
