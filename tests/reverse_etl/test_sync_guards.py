"""Issue 10, defect 8: no sync may silently do nothing or remove everyone.

- A sync naming an audience that does not exist (misspelled, or retired: its model was removed) is refused
  with the sync and the known audiences named; a retired audience is cleared only by a forced sync.
- A run that would remove more than `max_removal_share` (default 50%) of what the destination holds stops
  with status `stopped` and the reason, in sync_runs, the CLI and the Dagster asset, unless forced.
"""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.settings import DBT_PROJECT_DIR
from reverse_etl.config import ConfigError, SyncConfig
from reverse_etl.demo_server import WebhookServer
from reverse_etl.engine import run_sync
from tests.reverse_etl.conftest import AUDIENCE, create_audience


def flat(text: str) -> str:
    """CLI output with rich's line wrapping undone."""
    return " ".join(text.split())


@pytest.fixture
def server():
    with WebhookServer() as running:
        yield running


@pytest.fixture
def hook(server, make_destination):
    return make_destination("hook", type="webhook", url=server.url)


def runs(con, audience: str = AUDIENCE) -> list[tuple]:
    return con.execute(
        "select status, error_summary, added, removed, forced from sync_runs where audience = ? "
        "order by started_at",
        [audience],
    ).fetchall()


# ----- unknown audiences


def test_known_audiences_are_the_audience_models_plus_the_warehouse(warehouse):
    from orchestration.defs.project import ensure_manifest
    from reverse_etl.audiences import known_audiences, manifest_audiences

    manifest = ensure_manifest().manifest_path
    models = {path.stem for path in (DBT_PROJECT_DIR / "models" / "audiences").glob("*.sql")}
    assert models and manifest_audiences(manifest) == models
    assert known_audiences(warehouse, manifest) == models  # no audience_membership table yet
    create_audience(warehouse, 3)
    assert known_audiences(warehouse, manifest) == models | {AUDIENCE}
    assert known_audiences(warehouse) == {AUDIENCE}


def test_an_audience_model_with_no_members_is_known_and_syncs_nothing(warehouse, hook, server):
    from orchestration.defs.project import ensure_manifest
    from reverse_etl.audiences import known_audiences

    create_audience(warehouse, 3)  # members of `vip` only
    model = sorted(p.stem for p in (DBT_PROJECT_DIR / "models" / "audiences").glob("*.sql"))[0]
    sync = SyncConfig(audience=model, destination="hook", mode="mirror")
    known = known_audiences(warehouse, ensure_manifest().manifest_path)
    result = run_sync(warehouse, sync, hook, known=known)
    assert result.status == "succeeded" and sum(result.planned.values()) == 0
    with pytest.raises(ConfigError, match=f"unknown audience '{model}'"):
        run_sync(warehouse, sync, hook, known=known_audiences(warehouse))  # without the manifest


def test_misspelled_audience_is_refused_even_when_forced(warehouse, hook, server):
    create_audience(warehouse, 5)
    sync = SyncConfig(audience="vpi", destination="hook", mode="mirror")
    for force in (False, True):
        with pytest.raises(ConfigError) as refused:
            run_sync(warehouse, sync, hook, force=force)
        message = str(refused.value)
        assert "sync 'vpi' -> 'hook'" in message and "unknown audience 'vpi'" in message
        assert "known audiences: vip" in message
    assert server.requests == 0
    assert [status for status, *_ in runs(warehouse, "vpi")] == ["refused", "refused"]


def test_retired_audience_is_refused_until_a_forced_sync_clears_it(warehouse, hook, server):
    sync = SyncConfig(audience=AUDIENCE, destination="hook", mode="mirror")
    create_audience(warehouse, 20)
    run_sync(warehouse, sync, hook)
    create_audience(warehouse, 4, audience="other")  # vip's model was removed: no vip rows any more
    with pytest.raises(ConfigError) as refused:
        run_sync(warehouse, sync, hook)
    message = str(refused.value)
    assert "no longer exists (known audiences: other)" in message and "still holds 20" in message
    assert "--force" in message
    assert len(server.members(AUDIENCE)) == 20 and server.records_applied == 20
    cleared = run_sync(warehouse, sync, hook, force=True)
    assert cleared.status == "succeeded" and cleared.delivered["remove"] == 20
    assert server.members(AUDIENCE) == {}
    assert runs(warehouse)[-2:] == [
        ("refused", message, 0, 0, False),
        ("succeeded", None, 0, 20, True),
    ]


def test_cli_refuses_a_misspelled_audience_naming_the_sync_and_known_audiences(tmp_path, monkeypatch, server):
    monkeypatch.setenv("CDP_HOME", str(tmp_path))
    monkeypatch.delenv("CDP_DESTINATIONS", raising=False)
    monkeypatch.setenv("CDP_T_HOOK", server.url)
    (tmp_path / "destinations.yml").write_text(
        "destinations:\n  hook: {type: webhook, url: '${CDP_T_HOOK}'}\n"
        "syncs:\n  - {audience: vpi, destination: hook}\n"
    )
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        create_audience(con, 5)
    from orchestration.defs.project import ensure_manifest

    ensure_manifest()  # as `cdp run` leaves it; `cdp sync` reads the last manifest, never parses
    result = CliRunner().invoke(app, ["sync"])
    output = flat(result.output)
    assert result.exit_code == 1, output
    models = sorted(p.stem for p in (DBT_PROJECT_DIR / "models" / "audiences").glob("*.sql"))
    assert "sync 'vpi' -> 'hook': unknown audience 'vpi'" in output
    assert f"known audiences: {', '.join(sorted([*models, AUDIENCE]))}" in output
    assert server.requests == 0


# ----- removal guard


def test_removing_more_than_half_stops_the_run_until_forced(warehouse, hook, server):
    sync = SyncConfig(audience=AUDIENCE, destination="hook", mode="mirror")
    create_audience(warehouse, 20)
    run_sync(warehouse, sync, hook)
    warehouse.execute("delete from audience_membership where profile_id <= 'p000010'")  # 11 of 20
    requests = server.requests
    for _ in range(2):  # stays stopped, run after run
        stopped = run_sync(warehouse, sync, hook)
        assert stopped.status == "stopped" and sum(stopped.delivered.values()) == 0
        assert "remove 11 of the 20 members" in stopped.guard and "max_removal_share 50%" in stopped.guard
    assert server.requests == requests and len(server.members(AUDIENCE)) == 20
    (held,) = warehouse.execute("select count(*) from sync_snapshots").fetchone()
    assert held == 20
    assert runs(warehouse)[-1] == ("stopped", stopped.guard, 0, 0, False)
    forced = run_sync(warehouse, sync, hook, force=True)
    assert forced.status == "succeeded" and forced.delivered["remove"] == 11
    assert len(server.members(AUDIENCE)) == 9


def test_an_audience_that_empties_is_stopped_not_wiped(warehouse, hook, server):
    sync = SyncConfig(audience=AUDIENCE, destination="hook", mode="mirror")
    create_audience(warehouse, 10)
    run_sync(warehouse, sync, hook)
    warehouse.execute("delete from audience_membership")
    stopped = run_sync(warehouse, sync, hook, known={AUDIENCE})  # still known: its model exists
    assert stopped.status == "stopped" and "remove 10 of the 10 members" in stopped.guard
    assert len(server.members(AUDIENCE)) == 10


def test_the_share_is_a_per_sync_setting_and_half_is_allowed(warehouse, hook, server):
    create_audience(warehouse, 20)
    run_sync(warehouse, SyncConfig(audience=AUDIENCE, destination="hook"), hook)
    warehouse.execute("delete from audience_membership where profile_id <= 'p000009'")  # 10 of 20
    half = run_sync(warehouse, SyncConfig(audience=AUDIENCE, destination="hook"), hook)
    assert half.status == "succeeded" and half.delivered["remove"] == 10
    warehouse.execute("delete from audience_membership where profile_id <= 'p000016'")  # 7 of 10
    strict = SyncConfig(audience=AUDIENCE, destination="hook", max_removal_share=0.6)
    assert run_sync(warehouse, strict, hook).status == "stopped"
    lenient = SyncConfig(audience=AUDIENCE, destination="hook", max_removal_share=0.75)
    assert run_sync(warehouse, lenient, hook).delivered["remove"] == 7
    with pytest.raises(ValueError, match="max_removal_share"):
        SyncConfig(audience=AUDIENCE, destination="hook", max_removal_share=1.5)


@pytest.fixture
def home(tmp_path, monkeypatch, server):
    monkeypatch.setenv("CDP_HOME", str(tmp_path))
    monkeypatch.delenv("CDP_DESTINATIONS", raising=False)
    monkeypatch.setenv("CDP_T_HOOK", server.url)
    (tmp_path / "destinations.yml").write_text(
        "destinations:\n  hook: {type: webhook, url: '${CDP_T_HOOK}'}\n"
        f"syncs:\n  - {{audience: {AUDIENCE}, destination: hook, mode: mirror}}\n"
    )
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        create_audience(con, 12)
    return tmp_path


def shrink(home, keep: int) -> None:
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute(f"delete from audience_membership where profile_id >= 'p{keep:06d}'")


def test_cli_shows_the_guard_exits_non_zero_and_force_applies(home, server):
    runner = CliRunner()
    assert runner.invoke(app, ["sync"]).exit_code == 0
    shrink(home, keep=2)  # 10 of 12 leave
    dry = runner.invoke(app, ["sync", "--dry-run"])
    assert dry.exit_code == 0 and "would stop: removal guard" in flat(dry.output)
    stopped = runner.invoke(app, ["sync"])
    output = flat(stopped.output)
    assert stopped.exit_code == 1, output
    assert "stopped: removal guard: this run would remove 10 of the 12 members" in output
    assert "--force" in output and len(server.members(AUDIENCE)) == 12
    forced = runner.invoke(app, ["sync", "--force"])
    assert forced.exit_code == 0, forced.output
    assert sorted(server.members(AUDIENCE)) == ["p000000", "p000001"]


def test_dagster_asset_fails_with_the_reason_and_runs_when_forced(home, server):
    from orchestration.defs.assets.reverse_etl import sync_asset
    from orchestration.defs.resources import WarehouseResource
    from reverse_etl.config import load_destinations

    (sync,) = load_destinations(home / "destinations.yml").syncs
    asset = sync_asset(sync, dg.AssetKey(["audience_membership"]))
    resources = {"warehouse": WarehouseResource(home=str(home))}
    assert dg.materialize([asset], resources=resources).success
    shrink(home, keep=3)  # 9 of 12 leave
    stopped = dg.materialize([asset], resources=resources, raise_on_error=False)
    assert not stopped.success
    (failure,) = [e for e in stopped.all_events if e.is_step_failure]
    assert "sync stopped: removal guard: this run would remove 9 of the 12" in (
        failure.step_failure_data.error.message
    )
    assert len(server.members(AUDIENCE)) == 12
    config = {"ops": {"sync__vip__hook": {"config": {"force": True}}}}
    forced = dg.materialize([asset], resources=resources, run_config=config)
    (event,) = forced.get_asset_materialization_events()
    assert event.materialization.metadata["removed"].value == 9
    assert len(server.members(AUDIENCE)) == 3
