"""One sync asset per (audience, destination) in destinations.yml, downstream of the audience table."""

import dagster as dg
import duckdb
from dagster_dbt import get_asset_key_for_model

from orchestration.defs.assets.ingestion import WAREHOUSE_WRITERS
from orchestration.defs.automation import downstream_of_new_data
from orchestration.defs.project import dbt_project
from orchestration.defs.resources import WarehouseResource
from orchestration.settings import destinations_file
from reverse_etl.config import SyncConfig, load_destinations
from reverse_etl.runner import sync_one


class SyncRunConfig(dg.Config):
    dry_run: bool = False
    full_resync: bool = False
    force: bool = False  # past the max_removal_share guard; clears a retired audience


def sync_asset_key(sync: SyncConfig) -> dg.AssetKey:
    return dg.AssetKey(["sync", sync.audience, sync.destination])


def sync_asset(
    sync: SyncConfig, audience_membership: dg.AssetKey, audience: dg.AssetKey | None = None
) -> dg.AssetsDefinition:
    """The asset for one sync, downstream of the `audience_membership` table's asset (and of the
    audience's own model, so the lineage shows which audience feeds which destination)."""

    @dg.asset(
        key=sync_asset_key(sync),
        deps=[audience_membership, *([audience] if audience else [])],
        group_name="reverse_etl",
        pool=WAREHOUSE_WRITERS,
        description=f"Sync audience `{sync.audience}` to `{sync.destination}` ({sync.mode}).",
        kinds={"python"},
        automation_condition=downstream_of_new_data(),
    )
    def _sync(context: dg.AssetExecutionContext, warehouse: WarehouseResource, config: SyncRunConfig):
        with warehouse.connect() as con:
            result = sync_one(
                con,
                sync,
                destinations_file(),
                dry_run=config.dry_run,
                full_resync=config.full_resync,
                force=config.force,
                manifest_path=dbt_project().manifest_path,  # prepared when the definitions loaded
            )
            metadata = {**result.metadata(), **sync_figures(con, sync)}
        if result.guard and not result.dry_run:
            # Nothing was sent: the asset fails so the run shows why, until fixed or forced.
            raise dg.Failure(description=f"sync stopped: {result.guard}", metadata=metadata)
        if result.stopped:
            # Nothing is lost (undelivered rows stay pending), but the run must show as failed.
            raise dg.Failure(description=f"sync stopped: {result.stopped}", metadata=metadata)
        if result.failed or result.rejected:
            context.log.warning(
                f"{result.failed} rows failed (retried next run), {result.rejected} rejected permanently "
                "(see sync_failures)"
            )
        return dg.MaterializeResult(metadata=metadata)

    return _sync


def sync_figures(con: duckdb.DuckDBPyConnection, sync: SyncConfig) -> dict[str, dg.MetadataValue]:
    """What the destination should now hold, beside what this run sent: the audience's size and the rows
    still pending (failed, retried next run)."""
    try:
        (members,) = con.execute(
            "select count(*) from audience_membership where audience = ?", [sync.audience]
        ).fetchone()
    except duckdb.CatalogException:
        members = 0
    try:
        (synced,) = con.execute(
            "select count(*) from sync_snapshots where audience = ? and destination = ?",
            [sync.audience, sync.destination],
        ).fetchone()
    except duckdb.CatalogException:
        synced = 0
    return {
        "audience_members": dg.IntMetadataValue(int(members)),
        "destination_rows": dg.IntMetadataValue(int(synced)),
    }


def build_sync_assets(dbt_models: dg.AssetsDefinition) -> list[dg.AssetsDefinition]:
    config = load_destinations(destinations_file())
    if not config.syncs:
        return []
    audience_membership = get_asset_key_for_model([dbt_models], "audience_membership")
    return [
        sync_asset(sync, audience_membership, _model_key(dbt_models, sync.audience)) for sync in config.syncs
    ]


def _model_key(dbt_models: dg.AssetsDefinition, model: str) -> dg.AssetKey | None:
    try:
        return get_asset_key_for_model([dbt_models], model)
    except Exception:  # a sync of an audience the project no longer declares: the sync itself refuses it
        return None
