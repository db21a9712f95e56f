"""Every dbt model as a Dagster asset: staging, identity, traits, audiences."""

from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.defs.assets.ingestion import WAREHOUSE_WRITERS
from orchestration.defs.project import dbt_project
from orchestration.defs.resources import WarehouseResource
from orchestration.ingestion.spark_staging import stage_raw_events
from orchestration.settings import engine


class CdpTranslator(DagsterDbtTranslator):
    """Marts keep their plain names as keys; groups follow the folder (staging, intermediate, marts, audiences)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "marts"


class DbtBuildConfig(dg.Config):
    as_of: str | None = None  # ISO timestamp that traits and audiences are evaluated at; default now
    full_refresh: bool = False


def dbt_build_args(config: DbtBuildConfig, engine: str = "duckdb") -> list[str]:
    args = ["build"]
    if engine == "spark":
        # dbt unit tests check SQL logic and run on DuckDB; on Spark each is a job with seconds of fixed
        # cost, and the unrolled identity rounds take minutes to plan. Spark's results are checked
        # against DuckDB's, table by table, in tests/spark.
        args += ["--exclude", "test_type:unit"]
    if config.full_refresh:
        args.append("--full-refresh")
    if config.as_of:
        args += ["--vars", f'{{"as_of": "{config.as_of}"}}']
    return args


def build_dbt_assets() -> dg.AssetsDefinition:
    project = dbt_project()

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        # Source tests (raw_events unique/not null) show as checks on raw_events rather than stray observations.
        dagster_dbt_translator=CdpTranslator(
            DagsterDbtTranslatorSettings(enable_source_tests_as_checks=True)
        ),
        pool=WAREHOUSE_WRITERS,
    )
    def cdp_dbt_models(
        context: dg.AssetExecutionContext,
        dbt: DbtCliResource,
        warehouse: WarehouseResource,
        config: DbtBuildConfig,
    ):
        audiences = audience_model_names(project.manifest_path)
        held: list[Any] = []
        if engine() == "spark":
            # Spark reads raw_events from Parquet: stage what the loader holds now (loads, replays, forgets).
            with warehouse.connect() as con:
                staged = stage_raw_events(con, warehouse.home_path() / "spark")
            context.log.info(f"staged {staged} raw events as Parquet for Spark")
        with warehouse.exported_home():
            for event in dbt.cli(dbt_build_args(config, engine()), context=context).stream():
                # Audience assets wait for audience_sizes (built later in the same run) to carry its figures.
                if _output_model(context, event) in audiences:
                    held.append(event)
                else:
                    yield event
        yield from with_audience_sizes(context, held, warehouse)

    return cdp_dbt_models


def audience_model_names(manifest_path: Any) -> set[str]:
    from orchestration.audience_catalog import audience_declarations

    return set(audience_declarations(manifest_path))


def _output_model(context: dg.AssetExecutionContext, event: Any) -> str | None:
    output_name = getattr(event, "output_name", None)
    if output_name is None:
        return None
    return context.asset_key_for_output(output_name).path[-1]


def with_audience_sizes(
    context: dg.AssetExecutionContext, events: list[Any], warehouse: WarehouseResource
) -> Iterator[Any]:
    """Each audience's members, entries and exits from this build (numeric, so the UI plots them)."""
    sizes: dict[str, dict[str, Any]] = {}
    rows: list[tuple[Any, ...]] = []
    if events:
        with warehouse.connect(read_only=True) as con:
            try:
                rows = con.execute(
                    """
                    select audience, members, entered, exited, cast(evaluated_at as varchar)
                    from audience_sizes
                    where built_at = (select max(built_at) from audience_sizes)
                    """
                ).fetchall()
            except duckdb.CatalogException:  # the build stopped before audience_sizes
                rows = []
        sizes = {
            audience: {
                "audience_members": dg.IntMetadataValue(members),
                "audience_entered": dg.IntMetadataValue(entered),
                "audience_exited": dg.IntMetadataValue(exited),
                "audience_evaluated_at": evaluated_at,
            }
            for audience, members, entered, exited, evaluated_at in rows
        }
    for event in events:
        found = sizes.get(_output_model(context, event) or "")
        yield event.with_metadata({**event.metadata, **found}) if found else event
