"""`raw_events`: landed files of each day loaded into the warehouse, bad records quarantined."""

import datetime as dt
import time
import warnings
from collections.abc import Iterator

import dagster as dg

from orchestration.collector.spool import recover_open_segments
from orchestration.defs.partitions import daily_partitions
from orchestration.defs.resources import WarehouseResource
from orchestration.ingestion.landing import event_files, partition_folder
from orchestration.ingestion.loader import ensure_ingestion_tables, load_partitions
from orchestration.ingestion.replay import reload_files

WAREHOUSE_WRITERS = "warehouse_writer"
RAW_EVENTS = dg.AssetKey("raw_events")
# Days that a partition range covers, so its figures are those of each day, not the run's total.
PER_DAY_COUNTS = ("files_loaded", "events_loaded", "events_rejected")


class RawEventsConfig(dg.Config):
    """Run config of a `raw_events` run (the launchpad's "config" tab)."""

    reload: bool = False  # load the days' files again, also those loaded before (after a loader fix)


def build_raw_events(partitions: dg.DailyPartitionsDefinition) -> dg.AssetsDefinition:
    """The asset over `partitions`; a partition range (a backfill) is loaded in one run, one day at a time."""
    # backfill_policy is "beta" in Dagster: said once per decoration on stderr, which the CLI keeps clean.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return _build_raw_events(partitions)


def _build_raw_events(partitions: dg.DailyPartitionsDefinition) -> dg.AssetsDefinition:

    @dg.asset(
        key=RAW_EVENTS,
        partitions_def=partitions,
        # A backfill of many days is one run: each day is loaded once, the downstream rebuilt once.
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_WRITERS,
        group_name="ingestion",
        description=(
            "One row per accepted Segment-spec event, deduplicated by message_id; each partition loads its "
            "landing day folder (landing/YYYY-MM-DD/<source>/...). Rejects go to rejected_events with a "
            "reason. Run config `reload: true` loads days already loaded again."
        ),
        kinds={"duckdb"},
        # Each day is reported as its own materialisation (below), with that day's figures.
        output_required=False,
    )
    def raw_events(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, config: RawEventsConfig
    ) -> Iterator[dg.AssetMaterialization]:
        window = context.partition_time_window
        landing = warehouse.home_path() / "landing"
        # What a collector that died acknowledged is in files it left open: seal those nobody holds.
        recovered = recover_open_segments(landing)
        if recovered:
            context.log.info(f"sealed {len(recovered)} landing files left open by a collector that is gone")
        days = [window.start.date()]
        while (following := days[-1] + dt.timedelta(days=1)) < window.end.date():
            days.append(following)
        files_by_day = {
            day: event_files([partition_folder(landing, day)])
            for day in days
            if partition_folder(landing, day).is_dir()
        }
        with warehouse.connect() as con:
            ensure_ingestion_tables(con)
            if config.reload:
                for day in days:
                    yield _reload_day(con, day, files_by_day.get(day, []))
            else:
                yield from _load_range(con, days, files_by_day)

    return raw_events


def _reload_day(con, day: dt.date, files: list) -> dg.AssetMaterialization:
    started = time.perf_counter()
    metadata: dict[str, object] = {"files_loaded": 0, "events_loaded": 0, "events_rejected": 0}
    if files:
        result = reload_files(con, files, day)
        metadata = {
            "files_loaded": result.files,
            "events_loaded": result.loaded,
            "events_rejected": result.rejected_after,
            "rejected_before_reload": result.rejected_before,
        }
    return _day_materialization(con, day, metadata, time.perf_counter() - started)


def _load_range(con, days: list[dt.date], files_by_day: dict) -> Iterator[dg.AssetMaterialization]:
    """Every day of the range in one pass (one read, one transaction, one duplicate check); each day is then
    reported with its own figures, read back from `loaded_files`."""
    started = time.perf_counter()
    candidates = [str(f) for files in files_by_day.values() for f in files]
    before = {
        row[0]
        for row in con.execute(
            "select source_file from loaded_files where source_file in (select unnest($1::varchar[]))",
            [candidates],
        ).fetchall()
    }
    if candidates:
        load_partitions(con, files_by_day)
    fresh = [f for f in candidates if f not in before]
    per_day = {
        row[0]: row[1:]
        for row in con.execute(
            """
            select partition_date, count(*), coalesce(sum(events_loaded), 0), coalesce(sum(events_rejected), 0)
            from loaded_files where source_file in (select unnest($1::varchar[]))
            group by partition_date
            """,
            [fresh],
        ).fetchall()
    }
    seconds = (time.perf_counter() - started) / max(len(days), 1)
    for day in days:
        files, loaded, rejected = per_day.get(day, (0, 0, 0))
        metadata = {"files_loaded": files, "events_loaded": int(loaded), "events_rejected": int(rejected)}
        yield _day_materialization(con, day, metadata, seconds)


def _day_materialization(con, day: dt.date, metadata: dict, seconds: float) -> dg.AssetMaterialization:
    (in_warehouse,) = con.execute("select count(*) from raw_events where event_date = ?", [day]).fetchone()
    metadata |= {
        "events_in_partition": in_warehouse,
        "events_per_second": round(metadata["events_loaded"] / seconds) if seconds else 0,
        "seconds": round(seconds, 3),
    }
    # No log line per day: the day's metadata says it, and each event costs a write to the instance.
    return dg.AssetMaterialization(asset_key=RAW_EVENTS, partition=day.isoformat(), metadata=metadata)


# The asset over every day since 2020, for code and tests that materialise it outside the definitions.
raw_events = build_raw_events(dg.DailyPartitionsDefinition(start_date="2020-01-01", end_offset=1))


def defs_raw_events() -> dg.AssetsDefinition:
    """The asset the code location shows: partitions from where the data starts (`partitions_start`)."""
    return build_raw_events(daily_partitions())
