"""Monthly billing: bill one month and publish its specifications (metering.billing,
metering.outputs), and check that every specification total is the sum of its lines."""

from dagster import (AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, AssetExecutionContext,
                     MaterializeResult, MetadataValue, asset, asset_check)

from assets.ingestion import raw_feeds
from assets.partitions import monthly, month_of
from assets.resources import WAREHOUSE_POOL, WarehouseResource, WorkspaceResource
from metering import validation
from metering.billing import bill_month
from metering.catalog import load_catalog
from metering.checks import trace_mismatches
from metering.db import rows, scalar
from metering.outputs import publish_month


@asset(partitions_def=monthly, deps=[raw_feeds], group_name="billing", kinds={"duckdb", "pdf", "json"},
       pool=WAREHOUSE_POOL,
       description="The month's specifications (PDF, JSON, summary, anomalies in specifications/YYYY-MM/) and "
                   "the warehouse tables spec_headers, spec_lines, anomalies (delete-then-insert per month).")
def monthly_specifications(context: AssetExecutionContext, workspace: WorkspaceResource,
                           warehouse: WarehouseResource) -> MaterializeResult:
    month = month_of(context.partition_key)
    ws = workspace.get()
    with warehouse.get_connection() as con:
        bill = bill_month(con, month, load_catalog())
        published = publish_month(con, ws, bill)
    context.log.info(f"{month}: {published['specifications']} specifications, totals {published['totals']}, "
                     f"{published['contract_errors']} contract errors, {published['anomalies']} anomalies")
    metadata = {
        "specifications": published["specifications"],
        "anomalies": published["anomalies"],
        "contract_errors": published["contract_errors"],
        "totals": MetadataValue.json(published["totals"]),
        "directory": MetadataValue.path(published["directory"]),
    }
    for currency, amount in published["totals"].items():
        metadata[f"total_{currency}"] = MetadataValue.text(amount)  # exact decimal string, never a float
    return MaterializeResult(metadata=metadata)


# Not partitioned itself (partitioned checks are a preview feature in Dagster 1.13): in a
# month's run it checks that month; launched on its own, every month billed so far.
@asset_check(asset=monthly_specifications, pool=WAREHOUSE_POOL,
             description="Every specification: subtotal = sum of its lines, total = subtotal + VAT, in spec_headers/"
                         "spec_lines and in the JSON files, and the files match the warehouse.")
def specification_totals(context: AssetCheckExecutionContext, workspace: WorkspaceResource,
                         warehouse: WarehouseResource) -> AssetCheckResult:
    key = context.run.tags.get("dagster/partition")
    ws = workspace.get()
    with warehouse.get_connection() as con:
        months = _months(con, key)
        outcomes = {m: validation.specification_totals(con, ws.month_dir(m), m) for m in months}
    problems = [p for o in outcomes.values() for p in o["problems"]]
    return AssetCheckResult(
        passed=not problems, severity=AssetCheckSeverity.ERROR,
        metadata={"months": ", ".join(months), "specifications": sum(o["specifications"] for o in outcomes.values()),
                  "files": sum(o["files"] for o in outcomes.values()),
                  "totals": MetadataValue.json({m: o["totals"] for m, o in outcomes.items()}),
                  "problems": MetadataValue.json(problems[:100])})


@asset_check(asset=monthly_specifications, pool=WAREHOUSE_POOL,
             description="Each line's quantity = the sum of the quantities of the records traced to it "
                         "(rated_records), per subscriber and line code.")
def line_quantities_traced(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    key = context.run.tags.get("dagster/partition")
    with warehouse.get_connection() as con:
        months = _months(con, key)
        mismatches = {m: trace_mismatches(con, m) for m in months}
    problems = [f"{m} {sid} {code}: line quantity {lq}, traced {tq}"
                for m, found in mismatches.items() for sid, code, lq, tq in found]
    return AssetCheckResult(
        passed=not problems, severity=AssetCheckSeverity.ERROR,
        metadata={"months": ", ".join(months), "problems": MetadataValue.json(problems[:100])})


def _months(con, partition_key: str | None) -> list[str]:
    """The run's month, or every month billed so far when the check runs on its own."""
    if partition_key:
        return [str(month_of(partition_key))]
    if _has_table(con, "spec_headers"):
        return [m for (m,) in rows(con, "select distinct month from spec_headers order by 1")]
    return []


def _has_table(con, name: str) -> bool:
    return bool(scalar(con, "select count(*) from information_schema.tables where table_name = $t", {"t": name}))


checks = [specification_totals, line_quantities_traced]
