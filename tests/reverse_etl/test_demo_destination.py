"""The `demo` destination: the webhook receiver of `cdp demo`, started by each sync, state kept on disk."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
import requests

from orchestration.demo import demo_destinations_yml
from reverse_etl.config import SyncConfig, load_destinations
from reverse_etl.demo_server import DemoDestination
from reverse_etl.engine import run_sync
from reverse_etl.runner import sync_one
from tests.reverse_etl.conftest import create_audience

AUDIENCE = "trial_support_inactive"


def state(folder: Path) -> dict[str, dict[str, object]]:
    return json.loads((folder / "state.json").read_text())[AUDIENCE]


def test_syncs_need_no_running_server_nor_environment(warehouse, tmp_path, monkeypatch):
    for name in ("CDP_DEMO_WEBHOOK_URL", "CDP_DEMO_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "demo_destination"
    path = tmp_path / "destinations.yml"
    path.write_text(demo_destinations_yml(folder))
    (demo_sync,) = load_destinations(path).syncs
    create_audience(warehouse, 30, audience=AUDIENCE)

    first = sync_one(warehouse, demo_sync, path)
    assert first.status == "succeeded" and first.delivered["add"] == 30
    assert len(state(folder)) == 30
    assert sum(sync_one(warehouse, demo_sync, path).delivered.values()) == 0  # only changes are sent

    warehouse.execute("delete from audience_membership where profile_id < 'p000005'")
    mirrored = sync_one(warehouse, demo_sync, path)
    assert mirrored.delivered["remove"] == 5
    assert set(state(folder)) == {f"p{i:06d}" for i in range(5, 30)}


def test_each_batch_is_applied_once_even_across_restarts(warehouse, tmp_path, make_destination):
    folder = tmp_path / "demo"
    create_audience(warehouse, 30, audience=AUDIENCE)
    destination = make_destination("demo_webhook", type="demo", folder=str(folder))
    destination.receiver.fail_next("apply_then_timeout")
    destination.receiver.hang_seconds = 0.2
    result = run_sync(warehouse, SyncConfig(audience=AUDIENCE, destination="demo_webhook"), destination)
    # The first answer was lost (504 after applying): the resend carried the same Idempotency-Key.
    assert result.delivered["add"] == 30 and destination.receiver.duplicate_deliveries == 1
    log = [json.loads(line) for line in (folder / "received.jsonl").read_text().splitlines()]
    assert [(entry["operation"], entry["records"]) for entry in log] == [("add", 30)]

    applied_keys = json.loads((folder / "idempotency_keys.json").read_text())["answers"]
    assert len(applied_keys) == 1

    with DemoDestination(folder) as restarted:
        assert len(restarted.state[AUDIENCE]) == 30
        repeat = {
            "audience": AUDIENCE,
            "operation": "add",
            "records": [{"type": "add", "key": "intruder", "fields": {}}],
        }
        answer = requests.post(
            restarted.url,
            data=orjson.dumps(repeat),
            headers={"Idempotency-Key": next(iter(applied_keys))},
            timeout=5,
        )
        assert answer.status_code == 200
        assert restarted.duplicate_deliveries == 1 and "intruder" not in restarted.state[AUDIENCE]


@pytest.mark.parametrize("setting", [{"url": "http://127.0.0.1:1/hook"}, {}])
def test_settings_are_checked(make_destination, tmp_path, setting):
    from reverse_etl.config import ConfigError

    with pytest.raises(ConfigError, match="demo"):
        make_destination("demo_webhook", type="demo", **setting)
