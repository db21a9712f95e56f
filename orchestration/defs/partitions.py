from __future__ import annotations

import dagster as dg

# One partition per landing day; the range starts early enough for historical backfills.
daily_partitions = dg.DailyPartitionsDefinition(start_date="2020-01-01", end_offset=1)
