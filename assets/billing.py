"""Monthly billing: bill one month and publish its specifications (metering.billing,
metering.outputs), and check that every specification total is the sum of its lines."""

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
from assets.partitions import month_of, monthly
from assets.resources import WAREHOUSE_POOL, WarehouseResource, WorkspaceResource
from metering import validation
from metering.catalog import load_catalog
from metering.checks import trace_mismatches
from metering.db import rows, scalar


@asset(partitions_def=monthly, deps=[raw_feeds], group_name="billing", kinds={"duckdb", "pdf", "json"},
       pool=WAREHOUSE_POOL,
       description="Issues the month (pricing.md X1-X7): specifications with adjustment lines for earlier issued "
                   "months, staged, checked and committed by specifications/YYYY-MM/manifest.json; the issued "
                   "documents in spec_headers/spec_lines. An issued month is final: a re-run changes nothing and "
                   "says so.")
def monthly_specifications(context: AssetExecutionContext, workspace: WorkspaceResource,
                           warehouse: WarehouseResource) -> MaterializeResult:
    from importlib.metadata import version

    from metering.issuing import issue_month
    from metering.manifest import recover
    from metering.snapshot import publish
    month = month_of(context.partition_key)
    ws = workspace.get()
    with warehouse.get_connection() as con:
        for line in recover(ws):
            context.log.info(line)
        result = issue_month(con, ws, month, load_catalog(), version=version("ccmeter"))
        publish(con, ws, source=warehouse.path())
        figures = month_figures(con, str(month))
    issued = result.issued
    if result.already:
        context.log.info(f"{month} was issued at {issued.issued_at}; nothing changed (an issued month is final). "
                         f"{result.late} record(s) arrived for it since: they are billed as adjustments on the "
                         "next issued month.")
    else:
        bill = result.bill
        context.log.info(f"{month}: issued {len(bill.specs)} specifications, totals {result.totals()}, "
                         f"{len(bill.errors)} contract errors, {len(bill.anomalies)} anomalies")
    specs = issued.specifications()
    metadata = {
        "issued_at": issued.issued_at,
        "already_issued": result.already,
        "specifications": len(specs),
        "numbers": f"{specs[0]['spec_number']} … {specs[-1]['spec_number']}" if specs else "",
        "credit_notes": sum(1 for f in specs if f.get("document_type") == "credit_note"),
        "adjusted_subscribers": int(issued.manifest.get("adjusted_subscribers", 0)),
        "late_records": result.late,
        "totals": MetadataValue.json(result.totals()),
        "directory": MetadataValue.path(str(result.directory)),
        "manifest": MetadataValue.path(str(result.directory / "manifest.json")),
        "anomalies_summary": MetadataValue.path(str(result.directory / "anomalies-summary.csv")),
        **figures,
    }
    for currency, amount in result.totals().items():
        metadata[f"total_{currency}"] = MetadataValue.text(amount)  # exact decimal string, never a float
    return MaterializeResult(metadata=metadata)


def month_figures(con, month: str) -> dict:
    """Numbers Dagster can plot across partitions — money as whole cents (an integer,
    exact; never a float) — and markdown tables of the control totals and the month's most
    frequent anomalies, from the warehouse's copy of the issued month."""
    from decimal import Decimal
    out: dict = {}
    totals = rows(con, "select currency, count(*), sum(subtotal), sum(adjustments), sum(vat), sum(total) "
                       "from spec_headers where month = $m group by all order by all", {"m": month})
    table = ["| currency | specifications | subtotal | of which adjustments | VAT | total |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for cur, n, sub, adj, vat, total in totals:
        out[f"total_{cur}_cents"] = MetadataValue.int(int(Decimal(total) * 100))
        out[f"adjustments_{cur}_cents"] = MetadataValue.int(int(Decimal(adj) * 100))
        table.append(f"| {cur} | {n} | {sub} | {adj} | {vat} | {total} |")
    out["control_totals"] = MetadataValue.md("\n".join(table))
    kinds = rows(con, "select kind, count(*) from anomalies where month = $m group by all order by 2 desc, 1",
                 {"m": month}) if _has_table(con, "anomalies") else []
    out["anomalies"] = MetadataValue.int(sum(n for _, n in kinds))
    for kind, n in kinds:
        out[f"anomalies_{kind.replace('.', '_')}"] = MetadataValue.int(n)
    top = rows(con, "select kind, rule, subscriber_id, count(*) from anomalies where month = $m group by all "
                    "order by 4 desc, 1, 2, 3 limit 10", {"m": month}) if kinds else []
    out["top_anomalies"] = MetadataValue.md("\n".join(
        ["| kind | rule | subscriber | count |", "| --- | --- | --- | ---: |"]
        + [f"| {k} | {r} | {_md(sid)} | {n} |" for k, r, sid, n in top]))
    out["contract_errors"] = MetadataValue.int(scalar(
        con, "select count(*) from contract_errors where month = $m", {"m": month}) or 0) \
        if _has_table(con, "contract_errors") else MetadataValue.int(0)
    return out


def _md(text) -> str:
    """A cell of a markdown table: no pipe or line break from data breaks the table."""
    return str(text or "").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


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
