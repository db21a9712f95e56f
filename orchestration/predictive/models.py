"""Training on a time split: features at the cutoff, labels from the windows after it. Each model is fitted
on a seeded 75 % of the labelled profiles and judged on the other 25 % against a trivial baseline (the base
rate for a classifier, the mean for a value), then scores every profile's features at as_of."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import average_precision_score, brier_score_loss, mean_absolute_error, roc_auc_score

MIN_LABELLED = 200  # fewer labelled profiles than this: skipped, not trained
MIN_CLASS = 20  # fewer of the rarer class than this: skipped
HOLDOUT_SHARE = 0.25
AUC_MARGIN = 0.02  # a classifier must beat the baseline's 0.5 AUC by at least this

# Boosting for every model: small trees (8 leaves) at a high learning rate, stopped once the loss on a
# seeded 10 % of the training rows has not improved for 5 rounds (at any size; sklearn's "auto" only stops
# from 10k rows, so smaller runs fitted every round and overfitted). Scoring costs one pass over the rows
# per tree, so trees are the scoring time: ~60 per model at 100k profiles instead of ~90 of 31 leaves,
# with held-out AUC and MAE within 0.005 of the bigger models and better at 5k (benchmarks/predictive.py,
# tests/predictive/test_planted_accuracy.py).
BOOSTING: dict[str, Any] = {
    "max_iter": 300,
    "learning_rate": 0.2,
    "max_leaf_nodes": 8,
    "early_stopping": True,
    "validation_fraction": 0.1,
    "n_iter_no_change": 5,
}


@dataclass
class ModelOutcome:
    """One model of one run: its scores (or none), its quality against its baseline, and whether it is published."""

    model: str
    columns: list[str]
    scores: pd.DataFrame | None  # indexed by profile_id, one column per entry of `columns`
    metrics: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None  # why nothing was trained
    beats_baseline: bool = False
    training_rows: int = 0
    holdout_rows: int = 0
    holdout_predictions: np.ndarray | None = None  # on the held-out rows (holdout_mask), for combined metrics
    estimators: dict[str, Any] = field(
        default_factory=dict
    )  # column -> fitted estimator, to score other frames

    @property
    def published(self) -> bool:
        return self.skipped is None and self.beats_baseline and self.scores is not None


def holdout_mask(n: int, seed: int) -> np.ndarray:
    """The held-out rows: a seeded permutation, so the split is the same for the same data and seed."""
    mask = np.zeros(n, dtype=bool)
    mask[np.random.default_rng(seed).permutation(n)[: int(round(n * HOLDOUT_SHARE))]] = True
    return mask


def _skip_reason(labels: pd.Series) -> str | None:
    labels = labels.dropna()
    if len(labels) < MIN_LABELLED:
        return f"too few labelled profiles: {len(labels)} (at least {MIN_LABELLED} needed)"
    counts = labels.astype(bool).value_counts()
    if len(counts) < 2:
        return f"a single class: every labelled profile is {bool(counts.index[0])}"
    if counts.min() < MIN_CLASS:
        return f"too few of one class: {int(counts.min())} (at least {MIN_CLASS} needed)"
    return None


def train_classifier(
    model: str, column: str, x_train: pd.DataFrame, labels: pd.Series, x_score: pd.DataFrame, seed: int
) -> ModelOutcome:
    """A gradient-boosted classifier; AUC, average precision and Brier score next to the base rate's."""
    reason = _skip_reason(labels)
    if reason:
        return ModelOutcome(model, [column], None, skipped=reason)
    y = labels.astype(bool).to_numpy()
    held = holdout_mask(len(y), seed)
    estimator = HistGradientBoostingClassifier(**BOOSTING, random_state=seed)
    estimator.fit(x_train[~held], y[~held])
    predicted = estimator.predict_proba(x_train[held])[:, 1]
    rate = float(y[~held].mean())
    y_held = y[held]
    outcome = ModelOutcome(
        model, [column], None, training_rows=int((~held).sum()), holdout_rows=int(held.sum())
    )
    outcome.holdout_predictions = predicted
    if y_held.min() == y_held.max():
        outcome.skipped = "the held-out profiles hold a single class"
        return outcome
    outcome.metrics = {
        "auc": float(roc_auc_score(y_held, predicted)),
        "average_precision": float(average_precision_score(y_held, predicted)),
        "brier": float(brier_score_loss(y_held, predicted)),
        "positive_rate": float(y_held.mean()),
    }
    outcome.baseline = {
        "auc": 0.5,
        "average_precision": float(y_held.mean()),
        "brier": float(brier_score_loss(y_held, np.full(len(y_held), rate))),
    }
    outcome.beats_baseline = (
        outcome.metrics["auc"] >= outcome.baseline["auc"] + AUC_MARGIN
        and outcome.metrics["brier"] < outcome.baseline["brier"]
    )
    outcome.estimators[column] = estimator
    outcome.scores = pd.DataFrame({column: estimator.predict_proba(x_score)[:, 1]}, index=x_score.index)
    return outcome


def train_regressor(
    model: str, column: str, x_train: pd.DataFrame, values: pd.Series, x_score: pd.DataFrame, seed: int
) -> ModelOutcome:
    """A gradient-boosted regressor of a non-negative value; MAE next to the mean predictor's."""
    values = values.astype("float64")
    if values.notna().sum() < MIN_LABELLED:
        return ModelOutcome(
            model, [column], None, skipped=f"too few labelled profiles: {int(values.notna().sum())}"
        )
    if values.nunique() < 2:
        return ModelOutcome(
            model, [column], None, skipped=f"a single value: every labelled profile has {values.iloc[0]}"
        )
    y = values.to_numpy()
    held = holdout_mask(len(y), seed)
    estimator = HistGradientBoostingRegressor(**BOOSTING, random_state=seed)
    estimator.fit(x_train[~held], y[~held])
    predicted = np.maximum(estimator.predict(x_train[held]), 0)
    mean = float(y[~held].mean())
    outcome = ModelOutcome(
        model, [column], None, training_rows=int((~held).sum()), holdout_rows=int(held.sum())
    )
    outcome.metrics = {
        "mae": float(mean_absolute_error(y[held], predicted)),
        "mean_value": float(y[held].mean()),
    }
    outcome.baseline = {"mae": float(mean_absolute_error(y[held], np.full(held.sum(), mean)))}
    outcome.metrics["mae_ratio"] = outcome.metrics["mae"] / max(outcome.baseline["mae"], 1e-9)
    outcome.beats_baseline = outcome.metrics["mae"] < outcome.baseline["mae"]
    outcome.estimators[column] = estimator
    outcome.scores = pd.DataFrame({column: np.maximum(estimator.predict(x_score), 0)}, index=x_score.index)
    return outcome


def brand_similarity(shares: pd.DataFrame, brands: list[str], top: int = 2) -> dict[str, list[str]]:
    """Each brand's most similar brands from co-purchase: cosine similarity of the profiles' order shares."""
    matrix = shares.to_numpy(dtype="float64")
    norms = np.linalg.norm(matrix, axis=0)
    cosine = (matrix.T @ matrix) / np.maximum(np.outer(norms, norms), 1e-12)
    np.fill_diagonal(cosine, -np.inf)
    return {
        brand: [brands[j] for j in np.argsort(-cosine[i], kind="stable")[:top]]
        for i, brand in enumerate(brands)
    }
