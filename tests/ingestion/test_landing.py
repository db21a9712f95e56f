"""Landing layouts (ours and the Segment/RudderStack exports), the sensor, and the `raw_events` asset."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.defs.assets.ingestion import raw_events
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.schedules import ingestion_job
from orchestration.defs.sensors import build_sensors
from orchestration.ingestion.landing import land_files
from orchestration.ingestion.layouts import day_of, source_of
from tests.ingestion.conftest import event, line, write_lines

TODAY = dt.date(2026, 11, 23)


@pytest.mark.parametrize(
    ("relative", "day", "source"),
    [
        ("landing/2026-11-02/web/events-0001.jsonl.gz", dt.date(2026, 11, 2), "web"),
        (
            "bucket/segment-logs/src_ABC123/1762041600000/1762045199.abc.gz",
            dt.date(2025, 11, 2),
            "src_ABC123",
        ),
        ("bucket/rudder-logs/2Kx9src/11-02-2026/1762045199.json.gz", dt.date(2026, 11, 2), "2Kx9src"),
        ("exports/ios/2026/11/02/part-0.jsonl", dt.date(2026, 11, 2), "ios"),
        ("exports/dt=2026-11-02/android/part-0.parquet", dt.date(2026, 11, 2), "android"),
        ("loose/files/events.jsonl", TODAY, "files"),
    ],
)
def test_day_and_source_come_from_the_folders_of_each_known_layout(
    relative: str, day: dt.date, source: str
) -> None:
    path = Path("/data") / relative
    assert (day_of(path, TODAY), source_of(path)) == (day, source)


def test_an_s3_export_lands_by_received_day_and_source(tmp_path: Path) -> None:
    export = tmp_path / "bucket" / "segment-logs" / "src_web"
    write_lines(export / "1762041600000" / "a.gz", [line(event("s1"))], compress=True)
    write_lines(export / "1762128000000" / "b.gz", [line(event("s2"))], compress=True)
    landed = land_files([tmp_path / "bucket"], tmp_path / "landing", today=TODAY)
    assert sorted(landed) == [dt.date(2025, 11, 2), dt.date(2025, 11, 3)]
    assert (tmp_path / "landing" / "2025-11-02" / "src_web" / "a.gz").exists()
    # Landing again copies nothing new and reports the same files.
    assert land_files([tmp_path / "bucket"], tmp_path / "landing", today=TODAY) == landed


def test_the_raw_events_asset_loads_a_partition_range_and_reports_counts(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write_lines(landing / "2026-11-01" / "web" / "a.jsonl", [line(event("d1a")), b"{bad"])
    write_lines(landing / "2026-11-02" / "ios" / "b.jsonl", [line(event("d2a")), line(event("d2b"))])
    write_lines(landing / "2026-11-03" / "web" / "c.jsonl", [line(event("d3a"))])
    resources = {"warehouse": WarehouseResource(home=str(tmp_path))}
    result = dg.materialize(
        [raw_events],
        resources=resources,
        tags={
            "dagster/asset_partition_range_start": "2026-11-01",
            "dagster/asset_partition_range_end": "2026-11-02",
        },
    )
    materializations = result.asset_materializations_for_node("raw_events")
    assert sorted(m.partition for m in materializations) == ["2026-11-01", "2026-11-02"]
    # Each day's own figures, not the run's total.
    by_day = {
        m.partition: tuple(m.metadata[k].value for k in ("files_loaded", "events_loaded", "events_rejected"))
        for m in materializations
    }
    assert by_day == {"2026-11-01": (1, 1, 1), "2026-11-02": (1, 2, 0)}
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select event_date, source, count(*) from raw_events group by all order by 1"
        ).fetchall()
    assert rows == [(dt.date(2026, 11, 1), "web", 1), (dt.date(2026, 11, 2), "ios", 2)]


def test_the_sensor_requests_a_run_for_days_with_new_or_changed_files_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDP_HOME", str(tmp_path))
    landing = tmp_path / "landing"
    write_lines(landing / "2026-11-01" / "web" / "a.jsonl", [line(event("x1"))])
    write_lines(landing / "2026-11-02" / "web" / "b.jsonl", [line(event("x2"))])
    job = ingestion_job()
    (sensor,) = build_sensors(job)
    instance = dg.DagsterInstance.ephemeral()
    definitions = dg.Definitions(
        assets=[raw_events], jobs=[job], sensors=[sensor], resources={"warehouse": WarehouseResource()}
    )

    def evaluate(cursor: str | None) -> tuple[list[str], str | None]:
        context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=definitions)
        data = sensor.evaluate_tick(context)
        return sorted(r.partition_key for r in data.run_requests), data.cursor

    first, cursor = evaluate(None)
    assert first == ["2026-11-01", "2026-11-02"]
    again, cursor = evaluate(cursor)
    assert again == []
    (landing / "2026-11-02" / "web" / "c.jsonl.gz").write_bytes(gzip.compress(line(event("x3")) + b"\n"))
    (landing / "2026-11-02" / "web" / ".collector-20261102T000000-1-1.jsonl.open").write_bytes(b"{}\n")
    changed, cursor = evaluate(cursor)
    assert changed == ["2026-11-02"]
