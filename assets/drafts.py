"""Drafts (pricing.md X7): what issuing a month now would give, unnumbered, into
specifications/drafts/YYYY-MM/ — any month, an open one too. Nothing is recorded, so a
draft is an asset of its own, never a materialisation of the issued specifications."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.billing import SpecificationFiles
from assets.partitions import month_of, monthly
from assets.progress import report
from assets.resources import WAREHOUSE_POOL, WarehouseResource, WorkspaceResource
from assets.usage import usage
from metering.catalog import load_catalog


@asset(partitions_def=monthly, deps=[usage], group_name="drafts", kinds={"pdf", "json"}, pool=WAREHOUSE_POOL,
       description="A draft of the month: the specifications issuing it now would give, with the adjustments they "
                   "would carry, unnumbered, DRAFT on every page (specifications/drafts/YYYY-MM/; its previous "
                   "draft's files are replaced, nothing else).")
def draft_specifications(context: AssetExecutionContext, config: SpecificationFiles, workspace: WorkspaceResource,
                         warehouse: WarehouseResource) -> MaterializeResult:
    from metering.issuing import draft_month
    month = month_of(context.partition_key)
    ws = workspace.get()
    report(context, f"Rating {month} as a draft (with the adjustments issuing it now would carry)")
    with warehouse.get_connection() as con:
        bill, directory = draft_month(con, ws, month, load_catalog(), pdf=config.pdf,
                                      workers=config.worker_count())
    totals = {cur: str(total) for cur, total in bill.totals_by_currency().items()}
    return MaterializeResult(metadata={
        "specifications": len(bill.specs), "totals": MetadataValue.json(totals),
        **{f"total_{cur}": MetadataValue.text(t) for cur, t in totals.items()},
        "anomalies": len(bill.anomalies), "directory": MetadataValue.path(str(directory))})
