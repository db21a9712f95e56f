"""`raw_events`: landed files of each day loaded into the warehouse, bad lines quarantined."""

import datetime as dt
import time

import dagster as dg

from orchestration.ingestion.landing import event_files, partition_folder
from orchestration.ingestion.loader import LoadResult, load_files
from orchestration.partitions import daily_partitions
from orchestration.resources import WarehouseResource

WAREHOUSE_WRITERS = "warehouse_writer"


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_WRITERS,
    group_name="ingestion",
    description="One row per accepted Segment-spec event, deduplicated by message_id; rejects go to rejected_events.",
    kinds={"duckdb"},
)
def raw_events(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    started = time.perf_counter()
    window = context.partition_time_window
    day = window.start.date()
    totals = LoadResult(files=0, accepted=0, rejected=0)
    landing = warehouse.home_path() / "landing"
    with warehouse.connect() as con:
        while day < window.end.date():
            folder = partition_folder(landing, day)
            files = event_files([folder]) if folder.is_dir() else []
            if files:
                result = load_files(con, files, day)
                totals = LoadResult(
                    totals.files + result.files,
                    totals.accepted + result.accepted,
                    totals.rejected + result.rejected,
                )
            day += dt.timedelta(days=1)
    context.log.info(f"loaded {totals.accepted} events from {totals.files} files, rejected {totals.rejected}")
    return dg.MaterializeResult(
        metadata={
            "files_loaded": totals.files,
            "events_loaded": totals.accepted,
            "events_rejected": totals.rejected,
            "seconds": round(time.perf_counter() - started, 3),
        }
    )
