"""`cdp sql` reads the warehouse's tables and touches no file (issue 10, defect 6)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from tests.conftest import cdp_home

runner = CliRunner()
PROFILES = 25


@pytest.fixture
def home(tmp_path: Path) -> Path:
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute(f"create table profiles as select 'p-' || i as profile_id from range({PROFILES}) t(i)")
    return tmp_path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sql(home: Path, query: str, *flags: str):
    with cdp_home(home):
        return runner.invoke(app, ["sql", query, *flags])


def profile_count(home: Path) -> int:
    result = sql(home, "select count(*) as n from profiles", "--csv")
    assert result.exit_code == 0, result.output
    return int(result.output.splitlines()[1])


def test_copy_to_the_warehouse_file_is_refused_and_the_warehouse_intact(home: Path) -> None:
    warehouse = home / "warehouse.duckdb"
    before = (warehouse.stat().st_size, digest(warehouse))
    result = sql(home, f"copy (select 1) to '{warehouse}'")
    assert result.exit_code == 1
    assert "SQL error" in result.output and "no files" in result.output
    assert (warehouse.stat().st_size, digest(warehouse)) == before
    assert profile_count(home) == PROFILES


def test_copy_to_any_other_file_writes_nothing(home: Path) -> None:
    target = home / "exported.csv"
    result = sql(home, f"copy profiles to '{target}' (header true)")
    assert result.exit_code == 1
    assert not target.exists()


@pytest.mark.parametrize(
    "query",
    [
        "select * from read_text('/etc/passwd')",
        "select * from read_csv('/etc/passwd', header = false)",
        "select * from read_blob('/etc/passwd')",
        "select * from glob('/etc/*')",
    ],
    ids=["read_text", "read_csv", "read_blob", "glob"],
)
def test_files_outside_the_warehouse_cannot_be_read(home: Path, query: str) -> None:
    result = sql(home, query)
    assert result.exit_code == 1
    assert "Permission Error" in result.output
    assert "root:" not in result.output and "/etc/hosts" not in result.output


def test_other_databases_cannot_be_attached(home: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    other = tmp_path_factory.mktemp("other") / "other.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("create table secrets as select 'hunter2' as password")
    result = sql(home, f"attach '{other}' as other; select * from other.secrets")
    assert result.exit_code == 1
    assert "Permission Error" in result.output and "hunter2" not in result.output


@pytest.mark.parametrize(
    "query",
    [
        "set enable_external_access = true; select * from read_text('/etc/passwd')",
        "reset enable_external_access; select * from read_text('/etc/passwd')",
        "set lock_configuration = false; set enable_external_access = true",
    ],
    ids=["set", "reset", "unlock"],
)
def test_external_access_cannot_be_switched_back_on(home: Path, query: str) -> None:
    result = sql(home, query)
    assert result.exit_code == 1
    assert "configuration has been locked" in result.output
    assert "root:" not in result.output


@pytest.mark.parametrize("query", ["install httpfs", "load httpfs"])
def test_extensions_cannot_be_installed_or_loaded(home: Path, query: str) -> None:
    result = sql(home, query)
    assert result.exit_code == 1
    assert "Permission Error" in result.output


def test_the_warehouse_itself_still_answers(home: Path) -> None:
    result = sql(home, "select profile_id from profiles order by profile_id limit 2", "--json")
    assert result.exit_code == 0, result.output
    assert '"p-0"' in result.output and '"p-1"' in result.output
