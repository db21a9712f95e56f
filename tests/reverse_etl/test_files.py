"""Files destination: the full audience and the change set, as CSV or Parquet, written atomically."""

from __future__ import annotations

import duckdb
import pytest

from reverse_etl.config import SyncConfig
from reverse_etl.engine import run_sync
from tests.reverse_etl.conftest import AUDIENCE, create_audience


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_files_hold_the_full_audience_and_each_runs_changes(
    warehouse, tmp_path, make_destination, file_format
):
    out = tmp_path / "exports"
    destination = make_destination("files", type="files", path=str(out), format=file_format)
    sync = SyncConfig(audience=AUDIENCE, destination="files", mode="mirror")
    create_audience(warehouse, 40)
    run_sync(warehouse, sync, destination)
    warehouse.execute("delete from audience_membership where profile_id < 'p000003'")
    warehouse.execute("update audience_membership set plan = 'gold' where profile_id = 'p000010'")
    second = run_sync(warehouse, sync, destination)
    assert second.delivered == {"add": 0, "change": 1, "remove": 3}
    fulls = sorted((out / AUDIENCE / "full").glob(f"*.{file_format}"))
    changes = sorted((out / AUDIENCE / "changes").glob(f"*.{file_format}"))
    assert len(fulls) == len(changes) == 2
    reader = "read_csv_auto" if file_format == "csv" else "read_parquet"
    with duckdb.connect() as con:
        full = con.execute(f"select record_key, plan from {reader}('{fulls[-1]}') order by 1").fetchall()
        changed = con.execute(
            f"select operation, record_key from {reader}('{changes[-1]}') order by 2"
        ).fetchall()
    expected = warehouse.execute(
        "select profile_id, plan from audience_membership where audience = ? order by 1", [AUDIENCE]
    ).fetchall()
    assert full == expected
    assert changed == [
        ("remove", "p000000"),
        ("remove", "p000001"),
        ("remove", "p000002"),
        ("change", "p000010"),
    ]
    assert not list(out.rglob(".*.tmp"))
