"""Every dbt model as a Dagster asset: staging, identity, traits, audiences."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration.assets.ingestion import WAREHOUSE_WRITERS
from orchestration.project import dbt_project
from orchestration.resources import WarehouseResource


class CdpTranslator(DagsterDbtTranslator):
    """Marts keep their plain names as keys; groups follow the folder (staging, intermediate, marts, audiences)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "marts"


class DbtBuildConfig(dg.Config):
    as_of: str | None = None  # ISO timestamp that traits and audiences are evaluated at; default now
    full_refresh: bool = False


def dbt_build_args(config: DbtBuildConfig) -> list[str]:
    args = ["build"]
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
        dagster_dbt_translator=CdpTranslator(),
        pool=WAREHOUSE_WRITERS,
    )
    def cdp_dbt_models(
        context: dg.AssetExecutionContext,
        dbt: DbtCliResource,
        warehouse: WarehouseResource,
        config: DbtBuildConfig,
    ):
        with warehouse.exported_home():
            yield from dbt.cli(dbt_build_args(config), context=context).stream()

    return cdp_dbt_models
