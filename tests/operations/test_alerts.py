"""Alerts: a forced failure posts one alert to a local webhook, Slack-compatible, with the run's link and
no secret; a failed check alerts once, not on every tick; nothing is sent when no webhook is configured."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest

from orchestration.defs.alerts import AlertWebhook, alert_on_check_failure, alert_on_run_failure

SECRET = "s3cr3t-token-never-in-alerts"


class Receiver:
    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.raw: list[bytes] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                data = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.raw.append(data)
                receiver.bodies.append(json.loads(data))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook/{SECRET}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    found.thread.start()
    try:
        yield found
    finally:
        found.server.shutdown()
        found.server.server_close()


def _failing_run(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    @dg.asset(key=dg.AssetKey(["sync", "vip", "crm"]))
    def sync_that_stops() -> None:
        raise dg.Failure(description=f"sync stopped: destination refused the batch (token {SECRET[:0]}...)")

    return dg.materialize([sync_that_stops], instance=instance, raise_on_error=False)


def _run_failure_context(instance, result, alerts):
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    return dg.build_run_status_sensor_context(
        sensor_name="alert_on_run_failure",
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
        resources={"alerts": alerts},
    ).for_run_failure()


def test_a_failed_run_posts_one_alert_with_its_link_and_no_secret(receiver: Receiver) -> None:
    alerts = AlertWebhook(url=receiver.url, dagster_url="http://127.0.0.1:3999")
    with dg.instance_for_test() as instance:
        result = _failing_run(instance)
        assert not result.success
        alert_on_run_failure(_run_failure_context(instance, result, alerts))
    (body,) = receiver.bodies
    assert body["run_url"] == f"http://127.0.0.1:3999/runs/{result.run_id}"
    assert body["run_url"] in body["text"]  # Slack shows `text`
    assert body["kind"] == "sync_stopped"
    assert "destination refused the batch" in body["text"]
    assert SECRET not in receiver.raw[0].decode()


def test_nothing_is_sent_without_a_webhook(receiver: Receiver) -> None:
    with dg.instance_for_test() as instance:
        result = _failing_run(instance)
        alert_on_run_failure(_run_failure_context(instance, result, AlertWebhook(url=None)))
    assert receiver.bodies == []


def test_a_failing_check_alerts_once(receiver: Receiver) -> None:
    alerts = AlertWebhook(url=receiver.url)

    @dg.asset
    def audience() -> None:
        return None

    @dg.asset_check(asset=audience)
    def size_moved_less_than_share() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False, description="size moved 80% (100 -> 20)")

    with dg.instance_for_test() as instance:
        definitions = dg.Definitions(assets=[audience], asset_checks=[size_moved_less_than_share])
        context = dg.build_sensor_context(
            instance=instance, resources={"alerts": alerts}, definitions=definitions
        )
        alert_on_check_failure(context)  # the first tick starts from now
        for _ in range(2):  # failing twice in a row: one alert
            dg.materialize([audience, size_moved_less_than_share], instance=instance)
            alert_on_check_failure(context)
    (body,) = receiver.bodies
    assert body["kind"] == "check_failed"
    assert body["check"] == "size_moved_less_than_share" and "80%" in body["text"]
    assert body["run_url"].endswith(body["run_id"])
