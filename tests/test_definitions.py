"""`dagster dev` and `cdp run` load the same code location from workspace.yaml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from orchestration.settings import PROJECT_ROOT


def test_workspace_points_at_the_definitions_module() -> None:
    workspace = yaml.safe_load((PROJECT_ROOT / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["python_module"]["module_name"] == "orchestration.defs.definitions"


def test_definitions_validate_with_the_dagster_cli(tmp_path: Path) -> None:
    dagster = Path(sys.executable).parent / "dagster"
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT,
        env={"PATH": str(dagster.parent), "CDP_HOME": str(tmp_path), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_asset_graph_has_ingestion_dbt_and_sync_assets(tmp_path: Path) -> None:
    from orchestration.defs.runner import load_definitions
    from tests.conftest import cdp_home

    with cdp_home(tmp_path):
        (tmp_path / "destinations.yml").write_text(
            "destinations:\n  hook: {type: webhook, url: 'http://127.0.0.1:9/x'}\n"
            "syncs:\n  - {audience: trial_support_inactive, destination: hook}\n"
        )
        keys = {k.to_user_string() for k in load_definitions().resolve_asset_graph().get_all_asset_keys()}
    assert {"raw_events", "profiles", "identity_graph", "profile_traits", "audience_membership"} <= keys
    assert "sync/trial_support_inactive/hook" in keys


def test_a_model_edited_after_parsing_triggers_a_new_parse() -> None:
    import os

    from orchestration.defs.project import _manifest_is_stale, dbt_project, ensure_manifest

    project = ensure_manifest()
    assert not _manifest_is_stale(project)
    model = PROJECT_ROOT / "dbt_project" / "models" / "marts" / "audience_membership.sql"
    before = model.stat()
    try:
        os.utime(model, (before.st_atime, project.manifest_path.stat().st_mtime + 60))
        assert _manifest_is_stale(dbt_project())
    finally:
        os.utime(model, (before.st_atime, before.st_mtime))
    assert not _manifest_is_stale(project)


def test_a_model_dbt_built_without_an_event_is_reported(tmp_path: Path) -> None:
    """A dbt event lost on stdout (Spark's progress bar ran into it) skipped every model downstream while
    the run succeeded: the build step names such models instead."""
    import json

    import dagster as dg

    from orchestration.defs.assets.dbt import unreported_models

    results = tmp_path / "run_results.json"
    results.write_text(
        json.dumps(
            {
                "results": [
                    {"unique_id": "model.cdp.profiles", "status": "success"},
                    {"unique_id": "model.cdp.identity_graph", "status": "success"},
                    {"unique_id": "model.cdp.profile_traits", "status": "error"},
                    {"unique_id": "test.cdp.unique_profiles_profile_id", "status": "pass"},
                ]
            }
        )
    )
    reported = [dg.Output(None, "identity_graph", metadata={"unique_id": "model.cdp.identity_graph"})]
    assert unreported_models(results, reported) == ["profiles"]
    everything = [*reported, dg.Output(None, "profiles", metadata={"unique_id": "model.cdp.profiles"})]
    assert unreported_models(results, everything) == []
