"""Bad input: too few labels or one class skip a model with a reason and keep its previous scores; a model
no better than its baseline is not published and fails its check; a goal naming an unknown event fails
at load, naming the goal."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pytest

from orchestration.defs.assets.predictive import check_result, prediction_columns
from orchestration.predictive.run import SCORING_MODELS, run_models
from orchestration.predictive.settings import GoalError, load_settings, parse_goals
from orchestration.predictive.warehouse import previous_personas, publish, read_features
from orchestration.settings import DBT_PROJECT_DIR
from tests.predictive.conftest import PlantedWarehouse

TRACKED = ["Order Completed", "Subscription Started"]


@pytest.fixture(scope="module")
def frames(planted: PlantedWarehouse):
    with planted.connect() as con:
        return read_features(con)


def test_too_few_labelled_profiles_skip_with_a_reason(frames) -> None:
    training, scoring = frames
    few = training[training["events_total"] > 0].head(150)
    run = run_models(few, scoring, load_settings(), seed=1, models={"churn": SCORING_MODELS["churn"]})
    (churn,) = run.outcomes
    assert not churn.published and churn.scores is None
    assert churn.skipped == "too few labelled profiles: 150 (at least 200 needed)"
    result = check_result(churn)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert "too few labelled profiles" in result.description and "previous scores kept" in result.description


def test_a_single_class_skips_and_keeps_the_previous_scores(
    planted: PlantedWarehouse, frames, tmp_path: Path
) -> None:
    training, scoring = frames
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(planted.warehouse, copy)
    nobody_churns = training.assign(label_churned_30d=False)
    settings = load_settings()
    with duckdb.connect(str(copy)) as con:
        before = con.execute(
            "select profile_id, churn_probability, purchase_propensity_30d from profile_predictions order by 1"
        ).df()
        run = run_models(nobody_churns, scoring, settings, seed=99, previous_personas=previous_personas(con))
        churn = next(o for o in run.outcomes if o.model == "churn")
        assert churn.skipped == "a single class: every labelled profile is False"
        publish(
            con,
            run,
            settings,
            "single-class-run",
            dt.datetime(2026, 3, 2),
            None,
            prediction_columns(settings, run.all_outcomes),
        )
        after = con.execute(
            "select profile_id, churn_probability, purchase_propensity_30d from profile_predictions order by 1"
        ).df()
        recorded = con.execute(
            "select published, skipped_reason from model_runs where run_id = 'single-class-run' and model = 'churn'"
        ).fetchone()
    assert (after["churn_probability"] == before["churn_probability"]).all()  # kept
    assert not (
        after["purchase_propensity_30d"] == before["purchase_propensity_30d"]
    ).all()  # seed 99: republished
    assert recorded == (False, "a single class: every labelled profile is False")


def test_a_model_no_better_than_its_baseline_is_not_published(
    planted: PlantedWarehouse, frames, tmp_path: Path
) -> None:
    training, scoring = frames
    coin_flips = np.random.default_rng(3).random(len(training)) < 0.3  # labels unrelated to any feature
    noise = training.assign(label_churned_30d=coin_flips)
    run = run_models(noise, scoring, load_settings(), seed=1, models={"churn": SCORING_MODELS["churn"]})
    (churn,) = run.outcomes
    print(f"churn on coin flips: AUC {churn.metrics['auc']:.3f} vs baseline {churn.baseline['auc']}")
    assert churn.skipped is None and not churn.beats_baseline and not churn.published
    assert "churn_probability" not in run.scores
    result = check_result(churn)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["baseline_auc"].value == 0.5


def test_goal_with_an_unknown_event_names_the_goal() -> None:
    goals = [{"name": "renewal", "event": "Subscription Renewed", "horizon_days": 30}]
    with pytest.raises(GoalError, match="predictive goal 'renewal': unknown event 'Subscription Renewed'"):
        parse_goals(goals, TRACKED)


def test_goal_with_a_bad_horizon_names_the_goal_and_field() -> None:
    goals = [{"name": "big_order", "event": "Order Completed", "horizon_days": 0}]
    with pytest.raises(GoalError, match="predictive goal 'big_order': horizon_days: "):
        parse_goals(goals, TRACKED)


def test_code_location_load_fails_on_a_bad_goal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestration.defs.assets.predictive import build_predictive_assets

    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    text = (project / "dbt_project.yml").read_text()
    bad = text.replace(
        "event: Subscription Started, where: {plan: pro}", "event: Plan Upgraded, where: {plan: pro}"
    )
    assert bad != text
    (project / "dbt_project.yml").write_text(bad)
    monkeypatch.setenv("CDP_DBT_PROJECT_DIR", str(project))
    with pytest.raises(GoalError, match="predictive goal 'pro_subscription': unknown event 'Plan Upgraded'"):
        build_predictive_assets(None)  # fails before it looks at the dbt assets


def test_identical_behaviour_skips_personas_with_a_reason(frames) -> None:
    # A small warehouse where every active profile looks the same: k-means finds one group, silhouette is
    # undefined, and the run must skip personas (and still publish the rest) rather than fail.
    training, scoring = frames
    active = scoring[scoring["events_total"] > 0].head(80)
    alike = active.iloc[[0] * len(active)].assign(profile_id=active["profile_id"].to_numpy())
    run = run_models(training, alike, load_settings(), seed=3, models={"churn": SCORING_MODELS["churn"]})
    assert run.personas is None and not run.persona_outcome.published
    assert run.persona_outcome.skipped.startswith("behaviour does not split into groups: 1 distinct")
    assert run.outcomes[0].published
