"""Routed usage: every loaded record in its subscriber's local time, with the tariff
family that rates it (pricing.md, "which family rates a record") — table `usage`, the
input of every pricing step. Built once per state of the loaded data
(metering.routed_usage); its check blocks rating when a record would be lost or doubled."""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)

from assets.ingestion import raw_feeds
from assets.progress import report
from assets.resources import WAREHOUSE_POOL, WarehouseResource
from metering import sqlfiles
from metering.contracts import load_contracts, load_subscribers
from metering.db import rows
from metering.ingest import create_tables
from metering.routed_usage import ensure_usage


@asset(deps=[raw_feeds], group_name="rating", kinds={"duckdb"}, pool=WAREHOUSE_POOL,
       description="Every call leg, interaction and work log in the subscriber's local time (local_at, local_date, "
                   "month) with the family that rates it, or why nothing does. Table usage; rebuilt only when the "
                   "loaded data or the routing code changed.")
def usage(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    with warehouse.get_connection() as con:
        create_tables(con)
        built = ensure_usage(con, load_subscribers(con), load_contracts(con))
        families = dict(rows(con, sqlfiles.sql("status/usage_by_family")))
    records = sum(families.values())
    report(context, f"Routed {records} usage record(s) to their tariff families"
           + ("" if built else " (nothing changed since the last run: reused)"))
    return MaterializeResult(metadata={
        "records": records, "rebuilt": built,
        **{f"records_{family.replace(' ', '_')}": n for family, n in families.items()},
        "by_family": MetadataValue.md("\n".join(["| family | records |", "| --- | ---: |"]
                                                + [f"| {f} | {n} |" for f, n in families.items()]))})


@asset_check(asset=usage, blocking=True, pool=WAREHOUSE_POOL,
             description="Every loaded call leg, interaction and work log is in usage exactly once (none lost, none "
                         "doubled by routing): rating does not start otherwise.")
def every_record_routed_once(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    with warehouse.get_connection() as con:
        found = rows(con, sqlfiles.sql("checks/usage_coverage"))
    problems = []
    for feed, _, _, missing, doubled, unknown in found:
        problems += [f"{feed}: {missing} loaded record(s) missing from usage"] if missing else []
        problems += [f"{feed}: {doubled} record(s) routed more than once"] if doubled else []
        problems += [f"{feed}: {unknown} usage row(s) without a loaded record"] if unknown else []
    return AssetCheckResult(
        passed=not problems, severity=AssetCheckSeverity.ERROR,
        metadata={"per_feed": MetadataValue.json({feed: {"loaded": loaded, "routed": routed}
                                                  for feed, loaded, routed, *_ in found}),
                  "problems": MetadataValue.json(problems)})


checks = [every_record_routed_once]
