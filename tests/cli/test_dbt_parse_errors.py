"""A bad trait declaration fails with one line naming the trait and the field (issue 10, defect 10)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.defs import project
from tests.conftest import cdp_home
from tests.traits.conftest import add_yaml_trait, copy_project

BAD_TRAIT = "    - {name: refunds_total, type: sum, event: Order Refunded, property: 'refund amount'}\n"


@pytest.fixture
def project_with_a_bad_trait(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The CLI pointed at a copy of the dbt project whose `traits` var has one broken entry."""
    copied = copy_project(tmp_path / "dbt_project")
    add_yaml_trait(copied, BAD_TRAIT)
    monkeypatch.setenv("CDP_DBT_PROJECT_DIR", str(copied))  # where the project is configurable
    if hasattr(project, "DBT_PROJECT_DIR"):
        monkeypatch.setattr(project, "DBT_PROJECT_DIR", copied)
    # The DbtProject is cached per process: forget it before and after.
    caches = [f for f in vars(project).values() if callable(getattr(f, "cache_clear", None))]
    for cached in caches:
        cached.cache_clear()
    yield copied
    for cached in caches:
        cached.cache_clear()


def test_bad_trait_is_one_line_naming_trait_and_field(project_with_a_bad_trait: Path, tmp_path: Path) -> None:
    with cdp_home(tmp_path / "home"):
        result = CliRunner().invoke(app, ["why", "trial_support_inactive", "someone@example.com"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    (line,) = lines
    assert line.startswith("error: dbt parse failed: Bad trait declaration 'refunds_total'"), line
    assert "field 'property'" in line and "refund amount" in line
    assert "Traceback" not in result.output and "> in macro" not in result.output
