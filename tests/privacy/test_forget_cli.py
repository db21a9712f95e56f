"""`cdp forget` as a person calls it: one line of counts, and clear refusals that echo no identifier."""

from __future__ import annotations

from pathlib import Path

import duckdb
from typer.testing import CliRunner

from orchestration.cli import app
from tests.conftest import cdp_home

runner = CliRunner()


def _invoke(home: Path, *args: str):
    with cdp_home(home):
        return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def _warehouse(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute(
            "create table identity_graph as select * from (values ('user_id', 'kim-7788', 'p-kim'), "
            "('anonymous_id', 'kim-7788', 'p-other'), ('email', 'kim@example.com', 'p-kim')) "
            "v(id_type, id_value, profile_id)"
        )
        con.execute("create table profiles as select distinct profile_id from identity_graph")


def test_an_identifier_of_two_profiles_is_refused_without_echoing_it(tmp_path: Path) -> None:
    _warehouse(tmp_path)
    result = _invoke(tmp_path, "forget", "kim-7788")
    assert result.exit_code == 1
    assert "2 profiles" in result.output and "--type" in result.output and "kim" not in result.output
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from identity_graph").fetchone()[0] == 3  # nothing deleted


def test_type_chooses_and_the_summary_holds_counts_only(tmp_path: Path) -> None:
    _warehouse(tmp_path)
    result = _invoke(tmp_path, "forget", "kim-7788", "--type", "user_id", "--suppress")
    assert result.exit_code == 0, result.output
    # Her two identifiers and the profile id; the value is matched whatever its type, so the other
    # profile's row holding the same string goes too (on the side of forgetting), its profile stays.
    assert (
        "identity_graph 3, profiles 1" in result.output
        and "suppressed 3 identifier hash(es)" in result.output
    )
    assert "kim" not in result.output.lower() and len(result.output.strip().splitlines()) == 1
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        left = con.execute("select profile_id from profiles").fetchall()
    assert left == [("p-other",)]


def test_no_warehouse_is_a_clear_error_and_creates_none(tmp_path: Path) -> None:
    result = _invoke(tmp_path, "forget", "someone@example.com")
    assert result.exit_code == 1 and "No warehouse" in result.output
    assert not (tmp_path / "warehouse.duckdb").exists()
