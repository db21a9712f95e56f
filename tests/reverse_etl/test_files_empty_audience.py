"""Issue 10, defect 7: the files destination writes an audience that emptied (it used to crash with
`Binder Error: Empty object in JSON structure`), so a mirror sync can remove the last members."""

from __future__ import annotations

import duckdb
import pytest

from reverse_etl.config import SyncConfig
from reverse_etl.engine import run_sync
from tests.reverse_etl.conftest import AUDIENCE, create_audience


def read(path, file_format: str) -> tuple[list[str], list[tuple]]:
    reader = "read_csv_auto" if file_format == "csv" else "read_parquet"
    with duckdb.connect() as con:
        relation = con.sql(f"select * from {reader}('{path}')")
        return relation.columns, relation.order("all").fetchall()


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_mirror_sync_of_an_emptied_audience_writes_the_removals(
    warehouse, tmp_path, make_destination, file_format
):
    out = tmp_path / "exports"
    destination = make_destination("files", type="files", path=str(out), format=file_format)
    sync = SyncConfig(audience=AUDIENCE, destination="files", mode="mirror")
    create_audience(warehouse, 8)
    run_sync(warehouse, sync, destination)
    warehouse.execute("delete from audience_membership")
    # The audience still exists (its model is there) but has no members: the removal guard would stop
    # this run, so it is forced, as a person would after checking.
    emptied = run_sync(warehouse, sync, destination, force=True, known={AUDIENCE})
    assert emptied.status == "succeeded", emptied.errors
    assert emptied.delivered == {"add": 0, "change": 0, "remove": 8}
    fulls = sorted((out / AUDIENCE / "full").glob(f"*.{file_format}"))
    changes = sorted((out / AUDIENCE / "changes").glob(f"*.{file_format}"))
    assert len(fulls) == len(changes) == 2
    full_columns, full_rows = read(fulls[-1], file_format)
    assert full_rows == [] and full_columns[0] == "record_key"
    change_columns, change_rows = read(changes[-1], file_format)
    # Removes carry the last delivered payload, so the change file keeps the audience's columns.
    assert change_columns[:2] == ["operation", "record_key"] and "email" in change_columns
    assert [(row[0], row[1]) for row in change_rows] == [("remove", f"p{i:06d}") for i in range(8)]
    (held,) = warehouse.execute(
        "select count(*) from sync_snapshots where audience = ? and destination = 'files'", [AUDIENCE]
    ).fetchone()
    assert held == 0
    # And the next run, with nothing anywhere, still writes (empty, key-only) files rather than failing.
    nothing = run_sync(warehouse, sync, destination, known={AUDIENCE})
    assert nothing.status == "succeeded" and sum(nothing.delivered.values()) == 0
    last_full = sorted((out / AUDIENCE / "full").glob(f"*.{file_format}"))[-1]
    assert read(last_full, file_format) == (["record_key"], [])
