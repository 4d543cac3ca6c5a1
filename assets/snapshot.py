"""The analysts' warehouse: at the end of every run the work database is published as
warehouse.duckdb, atomically (metering.snapshot) — an analyst connected at any moment
reads a consistent state and never makes a run wait."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.aht import quarterly_aht
from assets.billing import SPECIFICATIONS
from assets.progress import report
from assets.resources import WAREHOUSE_POOL, WarehouseResource, WorkspaceResource
from assets.usage import usage


@asset(deps=[usage, SPECIFICATIONS, quarterly_aht], group_name="analytics", kinds={"duckdb"},
       pool=WAREHOUSE_POOL,
       description="warehouse.duckdb for analysts: a checkpointed copy of the work database written beside it and "
                   "renamed over it at the end of every run (ingest, bill, AHT).")
def analytics_warehouse(context: AssetExecutionContext, workspace: WorkspaceResource,
                        warehouse: WarehouseResource) -> MaterializeResult:
    from metering.snapshot import publish
    ws = workspace.get()
    with warehouse.get_connection() as con:
        seconds = publish(con, ws, source=warehouse.path())
    size = ws.warehouse.stat().st_size
    report(context, f"warehouse.duckdb published for analysts in {seconds:.2f} s", detail=True)
    return MaterializeResult(metadata={"path": MetadataValue.path(str(ws.warehouse)), "bytes": size,
                                       "published_s": MetadataValue.float(round(seconds, 3))})
