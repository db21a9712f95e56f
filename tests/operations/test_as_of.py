"""`as_of` becomes a SQL literal in every trait and audience: only an ISO moment gets there, from the CLI,
the Dagster config or the environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from orchestration.defs.assets.dbt import DbtBuildConfig, dbt_build_args
from orchestration.settings import DBT_PROJECT_DIR
from tests.cli.conftest import cdp_env, run_cdp

INJECTION = "2026-01-01'); drop table raw_events; --"


def test_config_normalises_to_utc_without_zone_and_refuses_anything_else() -> None:
    assert DbtBuildConfig(as_of="2026-03-01T02:30:00+02:00").as_of == "2026-03-01 00:30:00"
    assert DbtBuildConfig(as_of="2026-03-01").as_of == "2026-03-01 00:00:00"
    assert DbtBuildConfig(as_of=" ").as_of is None
    with pytest.raises(ValidationError, match="as_of must be an ISO timestamp"):
        DbtBuildConfig(as_of=INJECTION)


def test_as_of_is_not_a_dbt_var_so_partial_parsing_survives_a_new_moment() -> None:
    args = dbt_build_args(DbtBuildConfig(as_of="2026-03-01"))
    assert "--vars" not in args and not any("2026-03-01" in arg for arg in args)


def test_cdp_run_refuses_a_bad_as_of_before_touching_the_warehouse(tmp_path: Path) -> None:
    finished = run_cdp(tmp_path, "run", "--as-of", INJECTION)
    assert finished.returncode == 2, finished.stderr
    assert "--as-of" in finished.stderr and "ISO timestamp" in finished.stderr
    assert not (tmp_path / "warehouse.duckdb").exists()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One home and target folder: the second compile reuses the first one's parse."""
    return tmp_path_factory.mktemp("as_of")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-01T06:00:00", "cast('2026-03-01T06:00:00' as timestamp)"),
        (INJECTION, "as_of must be an ISO"),
    ],
)
def test_dbt_reads_cdp_as_of_and_checks_it(shared: Path, value: str, expected: str) -> None:
    dbt = Path(sys.executable).parent / "dbt"
    inline = "select {{ cdp.as_of() }} as as_of"
    result = subprocess.run(
        [str(dbt), "compile", "--inline", inline, "--target-path", str(shared / "target")],
        cwd=DBT_PROJECT_DIR,
        env={**cdp_env(shared), "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR), "CDP_AS_OF": value},
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert expected in output, output[-2000:]
    assert (result.returncode == 0) == (value != INJECTION), output[-2000:]
