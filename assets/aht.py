"""Quarterly AHT evaluation (pricing M3) per subscriber with messaging, as the table
`aht_evaluations`. The chain is recomputed from each subscriber's first messaging row
every time (cheap), so quarters can be materialised in any order with the same result."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.partitions import quarter_of, quarterly
from assets.resources import WAREHOUSE_POOL, WarehouseResource
from assets.usage import usage
from metering.aht import evaluation_rows
from metering.catalog import load_catalog
from metering.context import BillingInput
from metering.contracts import load_contracts, load_subscribers
from metering.ingest import create_tables
from metering.outputs import write_aht_evaluations
from metering.pricing.answering import aht_chains
from metering.routed_usage import ensure_usage


@asset(partitions_def=quarterly, deps=[usage], group_name="billing", kinds={"duckdb"}, pool=WAREHOUSE_POOL,
       description="Per quarter and subscriber with messaging: interactions, mean handling time, the AHT_pre in "
                   "force (old), the one for the next quarter (new), deviation and decision (kept / "
                   "re-established / no interactions). Table aht_evaluations, delete-then-insert per quarter.")
def quarterly_aht(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    quarter = quarter_of(context.partition_key)
    with warehouse.get_connection() as con:
        create_tables(con)
        subscribers, contracts = load_subscribers(con), load_contracts(con)
        ensure_usage(con, subscribers, contracts)
        inp = BillingInput(con, quarter.last_month, load_catalog(), subscribers, contracts)
        rows = evaluation_rows(aht_chains(inp, quarter), {quarter})
        write_aht_evaluations(con, rows, [str(quarter)])
    decisions: dict[str, int] = {}
    for r in rows:
        decisions[r["decision"]] = decisions.get(r["decision"], 0) + 1
    return MaterializeResult(metadata={"quarter": str(quarter), "subscribers": len(rows),
                                       "re_established": decisions.get("re-established", 0),
                                       "decisions": MetadataValue.json(decisions)})
