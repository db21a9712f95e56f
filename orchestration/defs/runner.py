"""Materialise the asset graph in process: the same graph `dagster dev` shows, for `cdp run` and `cdp demo`."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import dagster as dg
import duckdb
from dagster_shared.error import SerializableErrorInfo

from orchestration.collector.spool import recover_open_segments
from orchestration.defs.assets.dbt import DBT_OPS
from orchestration.defs.assets.ingestion import PER_DAY_COUNTS
from orchestration.defs.instance import PID_TAG, cdp_instance
from orchestration.errors import CdpError, dbt_message, lock_message, shorten
from orchestration.ingestion.landing import event_files, landed_days, partition_folder
from orchestration.settings import cdp_home, landing_dir, warehouse_path

warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
warnings.filterwarnings("ignore", category=dg.SupersessionWarning)


class PipelineFailed(CdpError):
    """Steps of a run failed. Runs are executed without Dagster re-raising the step's exception: it does so
    while handling the wrapper whose cause that exception is, which makes the chain a loop."""

    def __init__(self, failures: dict[str, str], result: dg.ExecuteInProcessResult) -> None:
        self.failures = failures  # step -> what went wrong, one line
        self.result = result
        super().__init__("; ".join(f"{step} failed: {why}" for step, why in failures.items()))


def console_logs() -> dict[str, object]:
    """Run config for Dagster's console log: the CLI prints its own summary; the step-by-step log is for
    the UI and debugging (`CDP_LOG_LEVEL`, default WARNING)."""
    return {"loggers": {"console": {"config": {"log_level": os.environ.get("CDP_LOG_LEVEL", "WARNING")}}}}


def _root_cause(error: SerializableErrorInfo) -> SerializableErrorInfo:
    for _ in range(50):  # serialised, so finite, but never trust a chain's length
        if error.cause is None:
            break
        error = error.cause
    return error


def _step_error(error: SerializableErrorInfo) -> str:
    root = _root_cause(error)
    text = root.message.strip()
    locked = lock_message(text)
    if locked:
        return locked
    if "dbt" in (root.cls_name or "").lower() or "Errors parsed from dbt logs:" in text:
        return dbt_message(text)
    if root.cls_name == "DagsterExecutionInterruptedError":
        return "interrupted (Ctrl-C or SIGTERM)"
    if root.cls_name == "Failure":  # dg.Failure: its description is the message
        return shorten(re.sub(r"^[\w.]*Failure: ", "", text))
    return shorten(re.sub(r"^[\w.]+\.(?=\w+: )", "", text))  # `pkg.module.Error: ...` -> `Error: ...`


def _checked(result: dg.ExecuteInProcessResult) -> dg.ExecuteInProcessResult:
    if result.success:
        return result
    failures = {
        event.step_key or "run": _step_error(event.step_failure_data.error)
        for event in result.get_step_failure_events()
        if event.step_failure_data and event.step_failure_data.error
    }
    raise PipelineFailed(failures or {"run": "the run failed before any step did (see the log)"}, result)


def load_definitions() -> dg.Definitions:
    from orchestration.defs.definitions import defs

    return defs()


def _instance() -> dg.DagsterInstance:
    # The instance `make dev` shows (DAGSTER_HOME, default CDP_HOME/dagster): the UI lists what the CLI ran.
    return cdp_instance()


def _run_tags() -> dict[str, str]:
    return {PID_TAG: str(os.getpid()), "cdp/started_by": "cli"}


def check_warehouse_free() -> None:
    """Fail within a second, not after loading the asset graph, when another process holds the warehouse
    (DuckDB takes one writer). A lock taken after this check still fails the step, with the same message."""
    path = warehouse_path()
    if not path.exists():
        return
    try:
        duckdb.connect(str(path)).close()
    except duckdb.IOException as error:
        locked = lock_message(str(error))
        if locked is None:
            raise
        raise CdpError(locked) from None


def load_days(
    days: Sequence[dt.date], defs: dg.Definitions | None = None
) -> dg.ExecuteInProcessResult | None:
    """Materialise `raw_events` for the partition range covering `days`, in one run."""
    if not days:
        return None
    if defs is None:
        check_warehouse_free()
        # Only the ingestion asset: the whole graph would import dagster-dbt and dbt for nothing.
        from orchestration.defs.assets.ingestion import raw_events
        from orchestration.defs.resources import WarehouseResource

        assets, resources = raw_events, {"warehouse": WarehouseResource()}
    else:
        assets, resources = defs.get_assets_def("raw_events"), defs.resources
    start, end = min(days), max(days)
    result = dg.materialize(
        [assets],
        resources=resources,
        instance=_instance(),
        run_config=console_logs(),
        tags={
            **_run_tags(),
            "dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat(),
        },
        raise_on_error=False,
    )
    return _checked(result)


def days_with_new_files() -> list[dt.date]:
    """Landed days holding a file the warehouse has not loaded: the days a run must load. Days loaded
    before are materialised already; planning each again costs two instance events per day for nothing."""
    landing = landing_dir()
    recover_open_segments(landing)  # a dead collector's files count as new
    by_day = {day: event_files([partition_folder(landing, day)]) for day in landed_days(landing)}
    path = warehouse_path()
    if not path.exists():
        return [day for day, files in by_day.items() if files]
    with duckdb.connect(str(path), read_only=True) as con:
        try:
            loaded = {row[0] for row in con.execute("select source_file from loaded_files").fetchall()}
        except duckdb.CatalogException:
            loaded = set()
    return [day for day, files in by_day.items() if any(str(f) not in loaded for f in files)]


def run_all(
    *, as_of: str | None = None, full_refresh: bool = False
) -> dict[str, dg.ExecuteInProcessResult | None]:
    """Load every landed day (already-loaded files are skipped), then build dbt and run every sync."""
    check_warehouse_free()
    defs = load_definitions()
    ingestion = load_days(days_with_new_files(), defs)
    raw = defs.get_assets_def("raw_events")
    downstream = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition) and a is not raw]
    dbt_config = {"config": {"as_of": as_of, "full_refresh": full_refresh}}
    result = dg.materialize(
        [raw, *downstream, *defs.asset_checks],
        # raw_events is loaded above; its source tests run in the dbt op, so its checks are selected.
        selection=dg.AssetSelection.assets(*downstream) | dg.AssetSelection.checks_for_assets(raw),
        resources=defs.resources,
        instance=_instance(),
        run_config={
            "ops": {op: dbt_config for op in DBT_OPS},
            **console_logs(),
        },
        tags=_run_tags(),
        raise_on_error=False,
    )
    return {"ingestion": ingestion, "pipeline": _checked(result)}


@contextlib.contextmanager
def pipeline_log(enabled: bool = True) -> Iterator[Path]:
    """dagster-dbt echoes dbt's log to stdout and Dagster logs failing steps with their stack to stderr;
    the CLI keeps both in CDP_HOME/logs/pipeline.log and prints its own summary (`enabled=False` leaves
    them on the terminal, for `--verbose`)."""
    logs = cdp_home() / "logs"
    logs.mkdir(exist_ok=True)
    path = logs / "pipeline.log"
    if not enabled:
        yield path
        return
    with path.open("a") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        yield path


def materialization_metadata(result: dg.ExecuteInProcessResult | None) -> dict[str, dict[str, object]]:
    """Metadata of every materialisation in a run, by asset key, as plain values."""
    if result is None:
        return {}
    found: dict[str, dict[str, object]] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        key = materialization.asset_key.to_user_string()
        values = {k: v.value for k, v in materialization.metadata.items()}
        if key in found:  # another partition of the same asset: its day's counts add up
            for name in PER_DAY_COUNTS:
                if name in values:
                    values[name] = int(values[name]) + int(found[key].get(name, 0))
            values = {**found[key], **values}
        found[key] = values
    return found
