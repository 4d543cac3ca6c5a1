"""Quarterly AHT evaluation (pricing M3) per subscriber with messaging, as the table
`aht_evaluations`. The chain is recomputed from each subscriber's first messaging row
every time (cheap), so quarters can be materialised in any order with the same result."""

import pyarrow as pa
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.ingestion import raw_feeds
from assets.partitions import quarter_of, quarterly
from assets.resources import WAREHOUSE_POOL, WarehouseResource
from metering.catalog import load_catalog
from metering.context import BillingInput
from metering.contracts import load_contracts, load_subscribers
from metering.ingest import create_tables
from metering.pricing.answering import aht_chains
from metering.routing import build_usage

# Kept here only because sql/ was not part of this change: belongs in
# sql/tables/aht_evaluations.sql, with its description in sql/descriptions.yaml.
CREATE = """
create table if not exists aht_evaluations (
    quarter varchar not null,
    subscriber_id varchar not null,
    interactions bigint not null,
    handle_s bigint not null,
    actual_s decimal(18, 2),
    aht_old bigint not null,
    aht_new bigint not null,
    deviation decimal(18, 4),
    decision varchar not null
)"""


@asset(partitions_def=quarterly, deps=[raw_feeds], group_name="billing", kinds={"duckdb"}, pool=WAREHOUSE_POOL,
       description="Per quarter and subscriber with messaging: interactions, mean handling time, the AHT_pre in "
                   "force (old), the one for the next quarter (new), deviation and decision (kept / "
                   "re-established / no interactions). Table aht_evaluations, delete-then-insert per quarter.")
def quarterly_aht(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    quarter = quarter_of(context.partition_key)
    with warehouse.get_connection() as con:
        create_tables(con)
        subscribers, contracts = load_subscribers(con), load_contracts(con)
        build_usage(con, subscribers, contracts)
        inp = BillingInput(con, quarter.last_month, load_catalog(), subscribers, contracts)
        evaluations = [(sid, e) for sid, chain in sorted(aht_chains(inp, quarter).items())
                       for e in chain if e.quarter == quarter]
        rows = [e.as_dict() | {"subscriber_id": sid, "handle_s": e.handle_s} for sid, e in evaluations]
        table = pa.table({
            "quarter": pa.array([str(quarter)] * len(rows), pa.string()),
            "subscriber_id": pa.array([r["subscriber_id"] for r in rows], pa.string()),
            "interactions": pa.array([r["interactions"] for r in rows], pa.int64()),
            "handle_s": pa.array([r["handle_s"] for r in rows], pa.int64()),
            "actual_s": pa.array([r["actual"] for r in rows], pa.string()),
            "aht_old": pa.array([r["old"] for r in rows], pa.int64()),
            "aht_new": pa.array([r["new"] for r in rows], pa.int64()),
            "deviation": pa.array([r["deviation"] for r in rows], pa.string()),
            "decision": pa.array([r["decision"] for r in rows], pa.string())})
        con.execute(CREATE)
        con.execute("begin transaction")
        try:
            con.execute("delete from aht_evaluations where quarter = $q", {"q": str(quarter)})
            con.register("aht_arrow", table)
            con.execute("insert into aht_evaluations by name select * from aht_arrow")
            con.unregister("aht_arrow")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    decisions = {}
    for r in rows:
        decisions[r["decision"]] = decisions.get(r["decision"], 0) + 1
    return MaterializeResult(metadata={"quarter": str(quarter), "subscribers": len(rows),
                                       "re_established": decisions.get("re-established", 0),
                                       "decisions": MetadataValue.json(decisions)})
