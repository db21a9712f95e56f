"""A junk identifier that links strangers into one giant component is flagged: `is_outlier` and a dbt warning."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import yaml
from dbt.cli.main import dbtRunnerResult

from orchestration.settings import DBT_PROJECT_DIR
from tests.identity.conftest import IDENTITY_MODELS, DbtProjectRun, event, write_raw_events

AS_OF = {"as_of": "2026-02-01T00:00:00"}
PEOPLE = 150  # ordinary people, two identifiers each: the 99th-percentile component holds 2
PERCENTILE_COMPONENT = 2
HUB = "guest-checkout"  # a placeholder user id a checkout page sends for everyone; not on the block list


@dataclass(frozen=True)
class JunkHubBuild:
    project: DbtProjectRun
    result: dbtRunnerResult
    strangers: int


def outlier_settings() -> tuple[int, int]:
    variables = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    return variables["identity_outlier_ratio"], variables["identity_outlier_min_identifiers"]


@pytest.fixture(scope="module")
def junk_hub(tmp_path_factory: pytest.TempPathFactory, dbt_target) -> JunkHubBuild:
    ratio, min_identifiers = outlier_settings()
    # Enough strangers that the hub's component (hub + anonymous id + email each) passes both thresholds.
    strangers = max(min_identifiers, ratio * PERCENTILE_COMPONENT) // 2 + 5
    events = [
        event(f"p{i}", i, anonymous_id=f"cookie-{i}", user_id=f"user-{i}", type="identify")
        for i in range(PEOPLE)
    ]
    events += [
        event(
            f"s{i}",
            1000 + i,
            anonymous_id=f"stranger-cookie-{i}",
            user_id=HUB,
            type="identify",
            traits={"email": f"stranger{i}@example.org"},
        )
        for i in range(strangers)
    ]
    project = DbtProjectRun(home=tmp_path_factory.mktemp("junk_hub"), target=dbt_target)
    write_raw_events(project.warehouse, events)
    result = project.invoke(
        [
            "build",
            "--select",
            IDENTITY_MODELS,
            "--exclude",
            "test_type:unit",
            "--indirect-selection",
            "cautious",
        ],
        vars=AS_OF,
    )
    return JunkHubBuild(project, result, strangers)


def test_junk_hub_component_is_the_one_outlier(junk_hub: JunkHubBuild) -> None:
    ratio, min_identifiers = outlier_settings()
    rows = junk_hub.project.query(
        "select size_rank, identifier_count, p99_identifier_count, is_outlier "
        "from identity_largest_components order by size_rank"
    )
    hub_size = 1 + 2 * junk_hub.strangers
    assert hub_size >= min_identifiers and hub_size > ratio * PERCENTILE_COMPONENT
    assert rows[0] == (1, hub_size, PERCENTILE_COMPONENT, True)
    assert [row[1:] for row in rows[1:]] == [(PERCENTILE_COMPONENT, PERCENTILE_COMPONENT, False)] * (
        len(rows) - 1
    )
    assert len(rows) > 1


def test_outlier_warns_without_failing_the_build(junk_hub: JunkHubBuild) -> None:
    assert junk_hub.result.success, junk_hub.result.exception
    results = {r.node.name: r for r in junk_hub.result.result.results}
    warned = [name for name, r in results.items() if r.status == "warn"]
    assert warned == ["identity_no_outlier_component_identity_largest_components_"], warned
    assert results[warned[0]].failures == 1
