"""`raw_events`: landed files of each day loaded into the warehouse, bad records quarantined."""

import datetime as dt
import time

import dagster as dg

from orchestration.collector.spool import recover_open_segments
from orchestration.defs.partitions import daily_partitions
from orchestration.defs.resources import WarehouseResource
from orchestration.ingestion.landing import event_files, partition_folder
from orchestration.ingestion.loader import LoadResult, load_partitions

WAREHOUSE_WRITERS = "warehouse_writer"


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_WRITERS,
    group_name="ingestion",
    description=(
        "One row per accepted Segment-spec event, deduplicated by message_id; each partition loads its "
        "landing day folder (landing/YYYY-MM-DD/<source>/...). Rejects go to rejected_events with a reason."
    ),
    kinds={"duckdb"},
)
def raw_events(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    started = time.perf_counter()
    window = context.partition_time_window
    day = window.start.date()
    totals = LoadResult(files=0, accepted=0, rejected=0)
    landing = warehouse.home_path() / "landing"
    # What a collector that died acknowledged is in files it left open: seal those nobody holds.
    recovered = recover_open_segments(landing)
    if recovered:
        context.log.info(f"sealed {len(recovered)} landing files left open by a collector that is gone")
    files_by_day: dict[dt.date, list] = {}
    while day < window.end.date():
        folder = partition_folder(landing, day)
        if folder.is_dir():
            files_by_day[day] = event_files([folder])
        day += dt.timedelta(days=1)
    if any(files_by_day.values()):
        # Every day of the range in one pass: one read, one transaction, one duplicate check.
        with warehouse.connect() as con:
            totals = load_partitions(con, files_by_day)
    seconds = time.perf_counter() - started
    context.log.info(f"loaded {totals.accepted} events from {totals.files} files, rejected {totals.rejected}")
    return dg.MaterializeResult(
        metadata={
            "files_loaded": totals.files,
            "events_loaded": totals.accepted,
            "events_rejected": totals.rejected,
            "events_per_second": round(totals.accepted / seconds) if seconds else 0,
            "seconds": round(seconds, 3),
        }
    )
