"""Daily partitions of `raw_events`: one per landing day, starting where the data starts."""

from __future__ import annotations

import datetime as dt
import os

import dagster as dg

from orchestration.ingestion.landing import landed_days
from orchestration.settings import landing_dir

# With no landing data yet (a fresh install), the range reaches this far back.
DEFAULT_HISTORY_DAYS = 90


def partitions_start() -> dt.date:
    """`$CDP_PARTITIONS_START` (YYYY-MM-DD) if set, else the first landed day, else 90 days ago.

    Read when the definitions load, so `dagster dev`'s reload (or the next `cdp run`) picks up older files.
    """
    explicit = os.environ.get("CDP_PARTITIONS_START")
    if explicit:
        try:
            return dt.date.fromisoformat(explicit)
        except ValueError:
            raise ValueError(f"CDP_PARTITIONS_START={explicit!r} is not a date (YYYY-MM-DD)") from None
    days = landed_days(landing_dir())
    if days:
        return days[0]
    return dt.datetime.now(dt.UTC).date() - dt.timedelta(days=DEFAULT_HISTORY_DAYS)


def daily_partitions() -> dg.DailyPartitionsDefinition:
    # end_offset=1: today's partition exists while its files arrive.
    return dg.DailyPartitionsDefinition(start_date=partitions_start().isoformat(), end_offset=1)
