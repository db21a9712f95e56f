"""One sync asset per (audience, destination) in destinations.yml, downstream of the audience table."""

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from orchestration.assets.ingestion import WAREHOUSE_WRITERS
from orchestration.resources import WarehouseResource
from orchestration.settings import destinations_file
from reverse_etl.config import SyncConfig, load_destinations
from reverse_etl.runner import sync_one


class SyncRunConfig(dg.Config):
    dry_run: bool = False
    full_resync: bool = False


def sync_asset_key(sync: SyncConfig) -> dg.AssetKey:
    return dg.AssetKey(["sync", sync.audience, sync.destination])


def _sync_asset(sync: SyncConfig, dbt_models: dg.AssetsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        key=sync_asset_key(sync),
        deps=[get_asset_key_for_model([dbt_models], "audience_membership")],
        group_name="reverse_etl",
        pool=WAREHOUSE_WRITERS,
        description=f"Sync audience `{sync.audience}` to `{sync.destination}` ({sync.mode}).",
        kinds={"python"},
    )
    def _sync(context: dg.AssetExecutionContext, warehouse: WarehouseResource, config: SyncRunConfig):
        with warehouse.connect() as con:
            result = sync_one(
                con, sync, destinations_file(), dry_run=config.dry_run, full_resync=config.full_resync
            )
        metadata = {
            "run_id": result.run_id,
            "added": result.delivered["add"],
            "changed": result.delivered["change"],
            "removed": result.delivered["remove"],
            "failed": result.failed,
            "planned": dg.MetadataValue.json(result.planned),
        }
        if result.failed:
            context.log.warning(f"{result.failed} rows failed; they are retried on the next run")
        return dg.MaterializeResult(metadata=metadata)

    return _sync


def build_sync_assets(dbt_models: dg.AssetsDefinition) -> list[dg.AssetsDefinition]:
    config = load_destinations(destinations_file())
    return [_sync_asset(sync, dbt_models) for sync in config.syncs]
