"""On the generator's data with ground truth: people are found, strangers are never merged."""

from __future__ import annotations

from orchestration.identity_quality import measure_quality
from tests.conftest import DemoRuns


def test_identity_resolution_matches_the_generators_ground_truth(demo_runs: DemoRuns) -> None:
    quality = measure_quality(demo_runs.warehouse, demo_runs.ground_truth)
    print(quality.summary())
    assert quality.identifiers_evaluated >= 0.95 * quality.identifiers_in_truth, (
        "identifiers are normalised as sent"
    )
    assert quality.precision >= 0.99
    assert quality.recall >= 0.98
    # The limits and blocklists cost almost none of what the events support (the components with no rule).
    assert quality.recall >= 0.99 * quality.recall_ceiling
    assert quality.profiles_joining_strangers_through_shared_ids == 0, (
        "shared devices and test emails merge nobody"
    )
