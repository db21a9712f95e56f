"""Every dbt model as a Dagster asset: staging, identity and predictive features, then traits and audiences."""

import datetime as dt
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets
from pydantic import field_validator

from orchestration.defs.assets.dbt_metadata import enriched
from orchestration.defs.assets.ingestion import WAREHOUSE_WRITERS
from orchestration.defs.automation import downstream_of_new_data
from orchestration.defs.project import dbt_project
from orchestration.defs.resources import WarehouseResource
from orchestration.ingestion.spark_staging import stage_raw_events
from orchestration.settings import engine, environment_variable

AS_OF_ENV = "CDP_AS_OF"


class CdpTranslator(DagsterDbtTranslator):
    """Marts keep their plain names as keys; groups follow the folder (staging, intermediate, marts, audiences)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "marts"

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> dg.AutomationCondition:
        # Rebuilt after new events load (see defs/automation.py), once per load.
        return downstream_of_new_data()


class DbtBuildConfig(dg.Config):
    as_of: str | None = None  # ISO timestamp that traits and audiences are evaluated at; default now
    full_refresh: bool = False

    @field_validator("as_of")
    @classmethod
    def _iso_timestamp(cls, value: str | None) -> str | None:
        return normalised_as_of(value)


def normalised_as_of(value: str | None) -> str | None:
    """An ISO moment as UTC without a zone, like every event timestamp; anything else is refused, since it
    reaches SQL as a literal (macros/as_of.sql checks again)."""
    if value is None or not value.strip():
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError as error:
        raise ValueError(
            f"as_of must be an ISO timestamp such as 2026-03-01T00:00:00, got {value!r}"
        ) from error
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.isoformat(sep=" ")


def dbt_build_args(config: DbtBuildConfig) -> list[str]:
    # Unit tests check the SQL, not the data: they belong to `make test` and CI, not every scheduled
    # build. Data tests stay, guarding what the build writes.
    # The target named as `dbt parse` names it, and as_of travels as CDP_AS_OF (see `as_of_exported`),
    # not --vars: dbt throws its partial parse away (a full parse, ~15 s on 2 cores) when the command
    # line's target or vars differ from the parse it would reuse, which every backfill partition would.
    args = ["build", "--target", "spark" if engine() == "spark" else "local"]
    args += ["--exclude", "resource_type:unit_test"]
    if config.full_refresh:
        args.append("--full-refresh")
    return args


@contextmanager
def as_of_exported(as_of: str | None) -> Iterator[None]:
    """The dbt subprocess evaluates at `as_of` (macros/as_of.sql reads CDP_AS_OF); unset means now."""
    with environment_variable(AS_OF_ENV, as_of or None):
        yield


# The features the predictive models read, and everything upstream of them, build before the
# `profile_predictions` asset; the rest (traits, audiences) after it, so the graph reads
# features -> predictions -> profile_traits -> audiences.
FEATURES_SELECTION = "+int_profile_features"
DBT_OPS = ("cdp_dbt_features", "cdp_dbt_models")  # both take DbtBuildConfig (as_of, full_refresh)


def build_and_report(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    args: list[str],
    manifest_path: Any,
    audiences: set[str],
    as_of: str | None,
) -> Iterator[Any]:
    """Run dbt, then yield its events with their figures added."""
    held: list[Any] = []
    try:
        with warehouse.exported_home(), as_of_exported(as_of):
            # Held until dbt is done: their figures are read from the warehouse, which the dbt
            # process holds (DuckDB: one writer) while it runs.
            invocation = dbt.cli(args, context=context)
            held.extend(invocation.stream())
        keep_partial_parse(Path(invocation.target_path), Path(manifest_path).parent)
        lost = unreported_models(Path(invocation.target_path) / "run_results.json", held)
        if lost:
            raise dg.Failure(
                f"dbt built {', '.join(lost)} but its events never reached Dagster (a line of dbt's "
                "output that is not JSON, such as an engine's progress bar): their assets and everything "
                "downstream would be skipped, not failed"
            )
    except Exception:
        # A failed build still reports what it did build, then fails the step.
        yield from enriched(held, warehouse.path, manifest_path, audiences)
        raise
    yield from enriched(held, warehouse.path, manifest_path, audiences)


def unreported_models(run_results: Path, events: list[Any]) -> list[str]:
    """Models dbt's run_results.json says it built that no event reports: dagster-dbt drops every stdout
    line that is not one JSON event, and a selected asset without an output skips its downstream steps
    without failing the run."""
    if not run_results.exists():
        return []
    built = {
        result["unique_id"]
        for result in json.loads(run_results.read_text()).get("results", [])
        if result.get("unique_id", "").startswith("model.") and result.get("status") == "success"
    }
    reported = set()
    for event in events:
        unique_id = getattr(event, "metadata", {}).get("unique_id")
        if unique_id is not None:
            reported.add(getattr(unique_id, "value", unique_id))
    return sorted(uid.split(".")[-1] for uid in built - reported)


def keep_partial_parse(invocation_target: Path, project_target: Path) -> None:
    """Leave this build's parse state where dagster-dbt seeds the next invocation's from, so the next build
    with the same vars (the second dbt op of a run, the next run of a schedule) parses only what changed."""
    parsed = invocation_target / "partial_parse.msgpack"
    if not parsed.exists() or invocation_target.resolve() == project_target.resolve():
        return
    partial = project_target / f".partial_parse.{os.getpid()}.msgpack"
    shutil.copyfile(parsed, partial)
    os.replace(partial, project_target / "partial_parse.msgpack")  # atomic: a reader sees one whole file


def build_dbt_assets() -> list[dg.AssetsDefinition]:
    """Two dbt multi-assets: the predictive features with their upstream models, then every other model."""
    project = dbt_project()
    translator = CdpTranslator(DagsterDbtTranslatorSettings(enable_source_tests_as_checks=True))

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        select=FEATURES_SELECTION,
        # Source tests (raw_events unique/not null) show as checks on raw_events rather than stray observations.
        dagster_dbt_translator=translator,
        pool=WAREHOUSE_WRITERS,
        name="cdp_dbt_features",
    )
    def cdp_dbt_features(
        context: dg.AssetExecutionContext,
        dbt: DbtCliResource,
        warehouse: WarehouseResource,
        config: DbtBuildConfig,
    ):
        # Cautious: a test of a model built later (profile_traits against profiles) waits for that model.
        args = [*dbt_build_args(config), "--indirect-selection", "cautious"]
        if engine() == "spark":
            # Spark reads raw_events from Parquet: stage what the loader holds now (loads, replays, forgets).
            with warehouse.connect() as con:
                staged = stage_raw_events(con, warehouse.home_path() / "spark")
            context.log.info(f"staged {staged} raw events as Parquet for Spark")
        yield from build_and_report(context, dbt, warehouse, args, project.manifest_path, set(), config.as_of)

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        exclude=FEATURES_SELECTION,
        dagster_dbt_translator=translator,
        pool=WAREHOUSE_WRITERS,
    )
    def cdp_dbt_models(
        context: dg.AssetExecutionContext,
        dbt: DbtCliResource,
        warehouse: WarehouseResource,
        config: DbtBuildConfig,
    ):
        audiences = audience_model_names(project.manifest_path)
        yield from build_and_report(
            context, dbt, warehouse, dbt_build_args(config), project.manifest_path, audiences, config.as_of
        )

    return [cdp_dbt_features, cdp_dbt_models]


def audience_model_names(manifest_path: Any) -> set[str]:
    from orchestration.audience_catalog import audience_declarations

    return set(audience_declarations(manifest_path))
