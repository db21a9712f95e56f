"""Scoring other frames with a run's fitted models (what benchmarks/predictive.py times) gives the run's own
scores, and a second run on the same data and seed gives the same scores and personas."""

from __future__ import annotations

import pandas as pd

from orchestration.predictive.run import rescore, run_models
from orchestration.predictive.settings import load_settings
from orchestration.predictive.warehouse import read_features
from tests.predictive.conftest import PlantedWarehouse


def test_rescore_and_rerun_match_the_run(planted: PlantedWarehouse) -> None:
    with planted.connect() as con:
        training, scoring = read_features(con)
    settings = load_settings()
    first = run_models(training, scoring, settings, seed=3)
    again = run_models(training, scoring, settings, seed=3, previous_personas=first.personas.state())
    pd.testing.assert_frame_equal(first.scores, again.scores)
    assert again.personas.names == first.personas.names and again.personas.matched == len(
        first.personas.names
    )
    rescored = rescore(first, scoring)
    pd.testing.assert_frame_equal(rescored[first.scores.columns], first.scores, check_exact=False, rtol=1e-9)
