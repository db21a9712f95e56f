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
    pd.testing.assert_frame_equal(
        rescored.loc[first.scores.index, first.scores.columns], first.scores, check_exact=False, rtol=1e-9
    )


def test_a_small_group_is_merged_and_personas_are_named_from_centroids() -> None:
    import numpy as np

    from orchestration.predictive.features import PERSONA_FEATURES
    from orchestration.predictive.personas import MIN_SHARE, find_personas

    rng = np.random.default_rng(0)
    columns = list(PERSONA_FEATURES)
    centres = {
        "buyers": dict.fromkeys(columns, 0.0) | {"orders": 3.0, "order_value": 3.0},
        "support": dict.fromkeys(columns, 0.0) | {"support": 3.0},
        "mobile": dict.fromkeys(columns, 0.0) | {"mobile": 3.0},
        "tiny": dict.fromkeys(columns, 0.0) | {"browsing": 6.0},  # 1 % of profiles: below MIN_SHARE
    }
    sizes = {"buyers": 1000, "support": 1000, "mobile": 1000, "tiny": 30}
    frame = pd.concat(
        [
            pd.DataFrame(
                rng.normal(0, 0.3, (sizes[n], len(columns))) + np.array([c[k] for k in columns]),
                columns=columns,
            )
            for n, c in centres.items()
        ],
        ignore_index=True,
    )
    personas = find_personas(frame, seed=1)
    shares = np.bincount(personas.labels) / len(frame)
    assert len(personas.names) == 3 and shares.min() >= MIN_SHARE
    assert set(personas.names) == {"high-value loyal", "support-heavy", "mobile-first"}
    assert np.allclose(personas.scores.sum(axis=1), 1)
