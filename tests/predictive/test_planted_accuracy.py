"""Acceptance on held-out planted people: models trained on a quarter-less sample of the warehouse's
features at the cutoff score the held-out quarter, whose futures the generator planted and recorded."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score, mean_absolute_error, roc_auc_score

from orchestration.predictive.features import model_matrix, persona_matrix
from orchestration.predictive.personas import find_personas
from orchestration.predictive.run import run_models
from orchestration.predictive.settings import load_settings
from orchestration.predictive.warehouse import read_features
from tests.predictive.conftest import PlantedWarehouse

SEED = 5


@dataclass(frozen=True)
class HeldOut:
    scores: pd.DataFrame  # held-out profiles: their scores (features at the cutoff) joined to ground truth
    mean_revenue: float  # the mean predictor: mean future revenue of the training profiles
    settings: object


@pytest.fixture(scope="module")
def held_out(planted: PlantedWarehouse) -> HeldOut:
    with planted.connect() as con:
        training, _ = read_features(con)
    ids = training["profile_id"].to_numpy()
    test_ids = set(np.random.default_rng(SEED).permutation(ids)[: len(ids) // 4])
    held = training["profile_id"].isin(test_ids)
    settings = load_settings()
    run = run_models(training[~held], training[held], settings, seed=SEED)
    scores = run.scores.join(planted.truth.drop(columns=["persona"]), how="inner")
    mean_revenue = float(training.loc[~held & (training["events_total"] > 0), "label_revenue_90d"].mean())
    return HeldOut(scores, mean_revenue, settings)


def test_churn_auc(held_out: HeldOut) -> None:
    auc = roc_auc_score(held_out.scores["will_churn_30d"], held_out.scores["churn_probability"])
    print(f"churn AUC on held-out planted people: {auc:.3f} (target >= 0.80)")
    assert auc >= 0.80


def test_purchase_propensity_auc(held_out: HeldOut) -> None:
    auc = roc_auc_score(held_out.scores["will_purchase_30d"], held_out.scores["purchase_propensity_30d"])
    print(f"purchase propensity AUC: {auc:.3f} (target >= 0.75)")
    assert auc >= 0.75


def test_ltv_beats_the_mean_predictor(held_out: HeldOut) -> None:
    truth = held_out.scores["revenue_90d"]
    mae = mean_absolute_error(truth, held_out.scores["predicted_ltv_90d"])
    baseline = mean_absolute_error(truth, np.full(len(truth), held_out.mean_revenue))
    print(f"LTV 90d MAE {mae:.1f} vs mean predictor {baseline:.1f}: {mae / baseline:.2f}x (target <= 0.8x)")
    assert mae <= 0.8 * baseline


def test_brand_lovers_top_brand_is_their_favourite(held_out: HeldOut) -> None:
    lovers = held_out.scores[held_out.scores["brand_lover"]]
    columns = list(held_out.settings.brand_columns.values())
    top = np.array(held_out.settings.brands)[lovers[columns].to_numpy().argmax(axis=1)]
    hit_rate = float((top == lovers["favorite_brand"].to_numpy()).mean())
    print(f"brand affinity top-1 hit rate for {len(lovers)} brand lovers: {hit_rate:.3f} (target >= 0.8)")
    assert len(lovers) > 100 and hit_rate >= 0.8


def test_personas_recover_the_planted_ones(planted: PlantedWarehouse) -> None:
    with planted.connect() as con:
        training, _ = read_features(con)
    training = training[training["events_total"] > 0]
    matrix = model_matrix(training).set_index(training["profile_id"])
    personas = find_personas(persona_matrix(matrix), SEED)
    planted_personas = planted.truth.loc[matrix.index, "persona"]
    ari = adjusted_rand_score(planted_personas, personas.labels)
    print(f"personas {personas.sizes}, silhouette {personas.silhouette:.2f}, ARI {ari:.3f} (target >= 0.6)")
    assert 3 <= len(personas.names) <= 6
    assert ari >= 0.6
