"""Alerts: a failed run (a stopped sync fails its run) or a failed check posts one message to a webhook.

`CDP_ALERT_WEBHOOK_URL` (a Dagster `EnvVar`) names the webhook; unset, nothing is sent. The body is generic
JSON with Slack's `text` field, so a Slack incoming webhook takes it as is. It never holds the webhook's
address or any configured secret: names, counts, the failure's first line and a link to the run.
`CDP_DAGSTER_URL` (default http://127.0.0.1:3000) is where the UI is, for the link.
"""

from __future__ import annotations

import json
from typing import Any

import dagster as dg
import requests
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from orchestration.errors import shorten

ALERT_TIMEOUT_SECONDS = 10


class AlertWebhook(dg.ConfigurableResource):
    url: str | None = None  # EnvVar("CDP_ALERT_WEBHOOK_URL"): unset -> no alerts
    dagster_url: str = "http://127.0.0.1:3000"

    def run_link(self, run_id: str) -> str:
        return f"{self.dagster_url.rstrip('/')}/runs/{run_id}"

    def post(self, body: dict[str, Any]) -> bool:
        """POST the alert; False (and nothing sent) when no webhook is configured."""
        if not self.url:
            return False
        response = requests.post(
            self.url,
            data=json.dumps(body),
            headers={"Content-Type": "application/json"},
            timeout=ALERT_TIMEOUT_SECONDS,
        )
        response.raise_for_status()
        return True


def alert_resource() -> AlertWebhook:
    import os

    # EnvVar keeps the address out of the UI's resource page; a plain default when the variable is unset.
    url = dg.EnvVar("CDP_ALERT_WEBHOOK_URL") if os.environ.get("CDP_ALERT_WEBHOOK_URL") else None
    dagster_url = (
        dg.EnvVar("CDP_DAGSTER_URL") if os.environ.get("CDP_DAGSTER_URL") else "http://127.0.0.1:3000"
    )
    return AlertWebhook(url=url, dagster_url=dagster_url)


def run_failure_body(run: dg.DagsterRun, failures: dict[str, str], link: str) -> dict[str, Any]:
    steps = "; ".join(f"{step}: {why}" for step, why in failures.items()) or "the run failed"
    stopped = [step for step, why in failures.items() if "sync stopped" in why]
    kind = "sync stopped" if stopped else "run failed"
    return {
        "text": f":rotating_light: CDP {kind}: {run.job_name} ({run.run_id[:8]}): {steps} <{link}|open the run>",
        "kind": kind.replace(" ", "_"),
        "run_id": run.run_id,
        "job": run.job_name,
        "failed_steps": failures,
        "run_url": link,
    }


def _step_failures(context: dg.RunFailureSensorContext) -> dict[str, str]:
    found: dict[str, str] = {}
    for event in context.get_step_failure_events():
        error = event.step_failure_data.error if event.step_failure_data else None
        message = ""
        while error is not None:  # the innermost error says what happened
            message = error.message
            error = error.cause
        found[event.step_key or "run"] = shorten(message.strip().splitlines()[0] if message else "failed")
    return found


@dg.run_failure_sensor(
    name="alert_on_run_failure",
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts one alert per failed run (a stopped sync fails its run) to CDP_ALERT_WEBHOOK_URL.",
)
def alert_on_run_failure(context: dg.RunFailureSensorContext, alerts: AlertWebhook) -> None:
    run = context.dagster_run
    body = run_failure_body(run, _step_failures(context), alerts.run_link(run.run_id))
    alerts.post(body)


def check_failure_body(check: str, asset: str, description: str | None, run_id: str | None, link: str | None):
    where = f" <{link}|open the run>" if link else ""
    return {
        "text": f":warning: CDP check failed: {asset} {check}: {description or 'failed'}{where}",
        "kind": "check_failed",
        "asset": asset,
        "check": check,
        "description": description,
        "run_id": run_id,
        "run_url": link,
    }


@dg.sensor(
    name="alert_on_check_failure",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts one alert when a check starts failing (not again until it passed in between).",
)
def alert_on_check_failure(context: dg.SensorEvaluationContext, alerts: AlertWebhook) -> dg.SkipReason:
    """Looks at each check's latest execution; the cursor keeps the last one seen and which are failing."""
    cursor = json.loads(context.cursor) if context.cursor else None
    keys = sorted(context.repository_def.asset_graph.asset_check_keys, key=lambda k: k.to_user_string())
    latest = context.instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    seen: dict[str, int] = {} if cursor is None else cursor["seen"]
    failing = set() if cursor is None else set(cursor["failing"])
    sent = 0
    for key, record in latest.items():
        name = key.to_user_string()
        if record.status not in (
            AssetCheckExecutionRecordStatus.SUCCEEDED,
            AssetCheckExecutionRecordStatus.FAILED,
        ):
            continue  # planned or skipped: nothing said yet
        new = seen.get(name) != record.id
        seen[name] = record.id
        if record.status == AssetCheckExecutionRecordStatus.SUCCEEDED:
            failing.discard(name)
            continue
        if name in failing or not new:
            continue  # already said
        failing.add(name)
        if cursor is None:
            continue  # the first tick starts from now: turning alerts on does not replay history
        evaluation = record.event.dagster_event.event_specific_data if record.event else None
        run_id = record.run_id or None
        body = check_failure_body(
            key.name,
            key.asset_key.to_user_string(),
            getattr(evaluation, "description", None),
            run_id,
            alerts.run_link(run_id) if run_id else None,
        )
        sent += bool(alerts.post(body))
    context.update_cursor(json.dumps({"seen": seen, "failing": sorted(failing)}))
    return dg.SkipReason(f"{sent} alerts sent")


def alert_sensors() -> list[dg.SensorDefinition]:
    return [alert_on_run_failure, alert_on_check_failure]
