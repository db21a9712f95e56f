"""Materialise the asset graph in process: the same graph `dagster dev` shows, for `cdp run` and `cdp demo`."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import dagster as dg

from orchestration.ingestion.landing import landed_days
from orchestration.settings import cdp_home, landing_dir

warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)


# The CLI prints its own summary; Dagster's step-by-step log is for the UI and `--verbose` debugging.
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": os.environ.get("CDP_LOG_LEVEL", "WARNING")}}}}


def load_definitions() -> dg.Definitions:
    from orchestration.definitions import defs

    return defs()


def _instance() -> dg.DagsterInstance:
    # A persistent instance when DAGSTER_HOME is set (runs then show in the UI), else a throwaway one.
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def load_days(
    days: Sequence[dt.date], defs: dg.Definitions | None = None
) -> dg.ExecuteInProcessResult | None:
    """Materialise `raw_events` for the partition range covering `days`, in one run."""
    if not days:
        return None
    defs = defs or load_definitions()
    start, end = min(days), max(days)
    return dg.materialize(
        [defs.get_assets_def("raw_events")],
        resources=defs.resources,
        instance=_instance(),
        run_config=QUIET_LOGS,
        tags={
            "dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat(),
        },
    )


def run_all(
    *, as_of: str | None = None, full_refresh: bool = False
) -> dict[str, dg.ExecuteInProcessResult | None]:
    """Load every landed day (already-loaded files are skipped), then build dbt and run every sync."""
    defs = load_definitions()
    ingestion = load_days(landed_days(landing_dir()), defs)
    raw = defs.get_assets_def("raw_events")
    downstream = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition) and a is not raw]
    dbt_op = "cdp_dbt_models"
    result = dg.materialize(
        [raw, *downstream],
        # raw_events is loaded above; its source tests run in the dbt op, so its checks are selected.
        selection=dg.AssetSelection.assets(*downstream) | dg.AssetSelection.checks_for_assets(raw),
        resources=defs.resources,
        instance=_instance(),
        run_config={
            "ops": {dbt_op: {"config": {"as_of": as_of, "full_refresh": full_refresh}}},
            **QUIET_LOGS,
        },
    )
    return {"ingestion": ingestion, "pipeline": result}


@contextlib.contextmanager
def dbt_output_to_log() -> Iterator[Path]:
    """dagster-dbt echoes dbt's log to stdout; the CLI keeps it in CDP_HOME/logs/pipeline.log instead."""
    logs = cdp_home() / "logs"
    logs.mkdir(exist_ok=True)
    path = logs / "pipeline.log"
    with path.open("a") as log, contextlib.redirect_stdout(log):
        yield path


def materialization_metadata(result: dg.ExecuteInProcessResult | None) -> dict[str, dict[str, object]]:
    """Metadata of every materialisation in a run, by asset key, as plain values."""
    if result is None:
        return {}
    found: dict[str, dict[str, object]] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        found[materialization.asset_key.to_user_string()] = {
            k: v.value for k, v in materialization.metadata.items()
        }
    return found
