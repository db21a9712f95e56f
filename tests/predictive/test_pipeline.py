"""The pipeline on planted futures: scores land in profile_predictions, profile_traits, audiences and
`cdp profile`; every model's run is in model_runs; a rerun on unchanged data changes nothing."""

from __future__ import annotations

import json

import dagster as dg
import pandas as pd
from typer.testing import CliRunner

from orchestration.cli import app
from tests.conftest import cdp_home
from tests.predictive.conftest import PlantedWarehouse

SCORES = [
    "churn_probability",
    "purchase_propensity_30d",
    "predicted_ltv_90d",
    "brand_affinity_nimbus",
    "persona",
]


def test_every_model_beats_its_baseline_and_its_check_passes(planted: PlantedWarehouse) -> None:
    checks = {
        evaluation.check_name: evaluation
        for evaluation in planted.first_run.get_asset_check_evaluations()
        if evaluation.asset_key == dg.AssetKey("profile_predictions")
    }
    print({name: check.passed for name, check in sorted(checks.items())})
    for model in ("churn", "purchase_30d", "ltv_90d", "brand_affinity", "personas"):
        assert checks[f"{model}_beats_baseline"].passed, model
    # No planted person subscribes to pro after the cutoff: a single class, skipped, not failed or published.
    goal = checks["goal_pro_subscription_beats_baseline"]
    assert not goal.passed and goal.severity == dg.AssetCheckSeverity.WARN
    assert "single class" in goal.description


def test_profile_traits_carry_the_scores(planted: PlantedWarehouse) -> None:
    with planted.connect() as con:
        traits = con.execute(
            f"select profile_id, {', '.join(SCORES)}, recommended_products from profile_traits"
        ).df()
        predictions = con.execute(f"select profile_id, {', '.join(SCORES)} from profile_predictions").df()
    assert len(traits) == len(planted.truth)
    joined = traits.merge(predictions, on="profile_id", suffixes=("", "_source"))
    for column in SCORES:
        assert traits[column].notna().all(), column
        assert (joined[column] == joined[f"{column}_source"]).all(), column
    assert traits["churn_probability"].between(0, 1).all()
    assert (traits["predicted_ltv_90d"] >= 0).all()
    assert traits["recommended_products"].str.count(",").max() == 2  # three products


def test_model_runs_record_metrics_next_to_baselines(planted: PlantedWarehouse) -> None:
    with planted.connect() as con:
        runs = con.execute(
            "select model, metrics, baseline_metrics, published, skipped_reason, cutoff from model_runs"
        ).df()
    by_model = runs.set_index("model")
    churn = json.loads(by_model.at["churn", "metrics"])
    baseline = json.loads(by_model.at["churn", "baseline_metrics"])
    assert churn["auc"] > baseline["auc"] and churn["brier"] < baseline["brier"]
    ltv = json.loads(by_model.at["ltv_90d", "metrics"])
    assert ltv["mae"] < json.loads(by_model.at["ltv_90d", "baseline_metrics"])["mae"]
    assert by_model.at["personas", "published"]
    assert by_model.at["goal_pro_subscription", "skipped_reason"].startswith("a single class")
    assert str(by_model.at["churn", "cutoff"]) == "2025-12-02 00:00:00"  # 90 days before as_of


def test_brand_affinity_audience_reads_predicted_affinities(planted: PlantedWarehouse) -> None:
    with planted.connect() as con:
        members = con.execute(
            """
            select traits.*
            from audience_membership as members
            inner join profile_traits as traits using (profile_id)
            where members.audience = 'brand_affinity_targets'
            """
        ).df()
        everyone = con.execute("select count(*) from profile_traits").fetchone()[0]
    assert 0 < len(members) < everyone
    named = members[["brand_affinity_northwind", "brand_affinity_bluepeak", "brand_affinity_copperline"]].max(
        axis=1
    )
    pair = members[["brand_affinity_nimbus", "brand_affinity_oakhurst"]].min(axis=1)
    assert ((named >= 0.5) | (pair >= 0.3)).all()


def test_cdp_profile_shows_the_predictions(planted: PlantedWarehouse) -> None:
    user_id = planted.truth["user_id"].iloc[0]
    with cdp_home(planted.home):
        shown = CliRunner().invoke(app, ["profile", user_id], env={"COLUMNS": "200"})
        as_json = CliRunner().invoke(app, ["profile", user_id, "--json"])
    assert shown.exit_code == 0, shown.output
    assert "Predictions" in shown.output and "churn_probability" in shown.output and "persona" in shown.output
    traits = json.loads(as_json.output)["traits"]
    assert 0 <= traits["churn_probability"] <= 1 and traits["persona"]


def test_rerun_on_unchanged_data_changes_no_score_or_persona(planted: PlantedWarehouse) -> None:
    from orchestration.defs.runner import load_definitions

    columns = "* exclude (scored_at, model_run_id)"
    with planted.connect() as con:
        before = con.execute(f"select {columns} from profile_predictions order by profile_id").df()
    with cdp_home(planted.home):
        defs = load_definitions()
        result = dg.materialize(
            [defs.get_assets_def("profile_predictions")], resources=defs.resources, raise_on_error=False
        )
    assert result.success
    with planted.connect() as con:
        after = con.execute(f"select {columns} from profile_predictions order by profile_id").df()
        personas = con.execute(
            "select metrics, state from model_runs where model = 'personas' order by trained_at, run_id"
        ).fetchall()
    pd.testing.assert_frame_equal(before, after)
    first, second = (json.loads(state) for _, state in personas[-2:])
    assert first["names"] == second["names"]
    assert json.loads(personas[-1][0])["matched_previous"] == len(
        second["names"]
    )  # every persona carried over
    print("personas:", second["names"])
