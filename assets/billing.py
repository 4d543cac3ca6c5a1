"""Issuing a month (pricing.md X1–X7) as one step with five assets: the month is rated,
the look-back re-rated, every file staged and checked, then committed at once — so the
rated records, the prepaid ledgers, the anomalies, the specifications and the
e-invoices of a month are materialised together or not at all (a half-issued month
would be worse than none). The staged-file check runs inside the step, before the
commit, and stops it; the checks on the issued specifications run after it."""

from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Config,
    MaterializeResult,
    MetadataValue,
    asset_check,
    multi_asset,
)
from pydantic import Field

from assets.ingestion import code_version
from assets.partitions import month_of, monthly
from assets.progress import report
from assets.resources import WAREHOUSE_POOL, WarehouseResource, WorkspaceResource
from assets.usage import usage
from metering import sqlfiles, validation
from metering.catalog import load_catalog
from metering.checks import trace_mismatches
from metering.db import rows, scalar


class SpecificationFiles(Config):
    """How the month's files are written (not what they say)."""
    pdf: bool = Field(default=True, description="Render a PDF per specification (JSON, e-invoices and summaries "
                                                "are always written)")
    workers: int = Field(default=0, ge=0, description="Processes rendering PDFs; 0: CCMETER_WORKERS or the number "
                                                      "of cores (used from 50 specifications)")

    def worker_count(self) -> int:
        import os
        if self.workers:
            return self.workers
        text = os.environ.get("CCMETER_WORKERS", "").strip()
        if text:
            if not text.isdigit() or int(text) < 1:
                raise ValueError(f"CCMETER_WORKERS={text!r}: expected a whole number of processes ≥ 1")
            return int(text)
        return os.cpu_count() or 1


def _monthly(key: str, description: str, deps: list, kinds: set[str]) -> AssetSpec:
    return AssetSpec(key, deps=deps, description=description, group_name="billing", kinds=kinds,
                     partitions_def=monthly)


RATED = AssetKey("rated_records")
LEDGERS = AssetKey("prepaid_ledgers")
ANOMALIES = AssetKey("anomalies")
SPECIFICATIONS = AssetKey("specifications")
EINVOICES = AssetKey("e_invoices")

ISSUED_ASSETS = [
    _monthly("rated_records", "The month rated with everything loaded now: tier counts, allowances and the "
             "per-record trace of the lines (table rated_records; answering records, pricing A/M/R/T/D/B rules).",
             [usage], {"duckdb"}),
    _monthly("prepaid_ledgers", "Service pack and klippekort ledgers through the month (S2–S4, K5–K6): purchases, "
             "renewals, draws, forfeits with the running balance (table prepaid_ledger).", [usage], {"duckdb"}),
    _monthly("anomalies", "What the month's billing noticed and did not bill, per rule and subscriber (tables "
             "anomalies and contract_errors; anomalies.csv and anomalies-summary.csv beside the specifications).",
             [RATED, LEDGERS], {"duckdb", "csv"}),
    _monthly("specifications", "The issued specifications of the month: own lines plus adjustment lines for earlier "
             "issued months (X3), numbered, committed by specifications/YYYY-MM/manifest.json, recorded in "
             "spec_headers/spec_lines. An issued month is final: a re-run changes nothing and says so.",
             [RATED, LEDGERS], {"pdf", "json", "duckdb"}),
    _monthly("e_invoices", "Peppol BIS Billing 3.0 UBL invoices / credit notes of the specifications of subscribers "
             "with a peppol_id (specifications/YYYY-MM/ubl/), committed with them.", [SPECIFICATIONS], {"xml"}),
]


@multi_asset(specs=ISSUED_ASSETS, name="issue_month", pool=WAREHOUSE_POOL,
             check_specs=[AssetCheckSpec("staged_files_checked", asset=SPECIFICATIONS,
                                         description="Before the commit, inside the step: every staged JSON equals "
                                                     "what was computed, totals = sum of lines, VAT per rate, the "
                                                     "summary against every JSON, each PDF carries its number and "
                                                     "total. A failure stops the step: nothing is issued.")])
def issue_month_assets(context: AssetExecutionContext, config: SpecificationFiles, workspace: WorkspaceResource,
                       warehouse: WarehouseResource):
    from metering.issuing import issue_month
    month = month_of(context.partition_key)
    ws = workspace.get()
    workers = config.worker_count()
    with warehouse.get_connection() as con:
        report(context, f"Issuing {month}: rating it, re-rating the issued months of the look-back")
        result = issue_month(con, ws, month, load_catalog(), pdf=config.pdf, workers=workers,
                             version=code_version(),
                             progress=lambda m: report(context, m[0].upper() + m[1:], detail=True))
        figures = month_figures(con, str(month))
        quarantined = scalar(con, sqlfiles.sql("status/quarantined_records"))
    issued = result.issued
    specs = issued.specifications()
    already = result.already
    if already:  # the command line says so itself, from the metadata
        context.log.info(f"{month} was issued at {issued.issued_at}; nothing changed (an issued month is final). "
                        f"{result.late} record(s) arrived for it since: they are billed as adjustments on the "
                        "next issued month.")
    common: dict[str, Any] = {"issued_at": issued.issued_at, "already_issued": already}
    yield MaterializeResult(asset_key=RATED, metadata={**common, **figures.pop("rated")})
    yield MaterializeResult(asset_key=LEDGERS, metadata={**common, **figures.pop("ledgers")})
    yield MaterializeResult(asset_key=ANOMALIES, metadata={
        **common, **figures.pop("anomalies"),
        "anomalies_summary": MetadataValue.path(str(result.directory / "anomalies-summary.csv"))})
    bill = result.bill
    yield MaterializeResult(asset_key=SPECIFICATIONS, metadata={
        **common,
        "specifications": len(specs),
        "numbers": f"{specs[0]['spec_number']} … {specs[-1]['spec_number']}" if specs else "",
        "credit_notes": sum(1 for f in specs if f.get("document_type") == "credit_note"),
        "adjusted_subscribers": int(issued.manifest.get("adjusted_subscribers", 0)),
        "late_records": result.late,
        "quarantined_records": quarantined,
        "totals": MetadataValue.json(result.totals()),
        **{f"total_{cur}": MetadataValue.text(amount) for cur, amount in result.totals().items()},
        **figures.pop("specifications"),
        "directory": MetadataValue.path(str(result.directory)),
        "manifest": MetadataValue.path(str(result.directory / "manifest.json"))},
        check_results=[AssetCheckResult(
            check_name="staged_files_checked", passed=True,
            metadata={"specifications": len(specs),
                      "when": "at issue" if not already else f"at issue, {issued.issued_at}"})])
    ubl = sorted(f["name"] for f in issued.manifest.get("files", []) if f["name"].startswith("ubl/"))
    yield MaterializeResult(asset_key=EINVOICES, metadata={
        **common, "e_invoices": len(ubl),
        "skipped": sum(1 for a in (bill.anomalies if bill else []) if a.kind == "einvoice.skipped"),
        "directory": MetadataValue.path(str(result.directory / "ubl"))})


def month_figures(con, month: str) -> dict[str, dict[str, Any]]:
    """Per asset of the issued month: numbers Dagster can plot across partitions — money
    as whole cents (an integer, exact; never a float) — and markdown tables of the control
    totals and the most frequent anomalies, from the warehouse's copy of the month."""
    from decimal import Decimal
    m = {"m": month}
    spec: dict = {}
    table = ["| currency | specifications | subtotal | of which adjustments | VAT | total |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for cur, n, sub, adj, vat, total in rows(con, sqlfiles.sql("status/month_control_totals"), m):
        spec[f"total_{cur}_cents"] = MetadataValue.int(int(Decimal(total) * 100))
        spec[f"adjustments_{cur}_cents"] = MetadataValue.int(int(Decimal(adj) * 100))
        table.append(f"| {cur} | {n} | {sub} | {adj} | {vat} | {total} |")
    spec["control_totals"] = MetadataValue.md("\n".join(table))

    anomalies: dict = {}
    kinds = rows(con, sqlfiles.sql("status/month_anomalies_by_kind"), m) if _has_table(con, "anomalies") else []
    anomalies["anomalies"] = MetadataValue.int(sum(n for _, n in kinds))
    for kind, n in kinds:
        anomalies[f"anomalies_{kind.replace('.', '_')}"] = MetadataValue.int(n)
    top = rows(con, sqlfiles.sql("status/month_top_anomalies"), m) if kinds else []
    anomalies["top_anomalies"] = MetadataValue.md("\n".join(
        ["| kind | rule | subscriber | count |", "| --- | --- | --- | ---: |"]
        + [f"| {k} | {r} | {_md(sid)} | {n} |" for k, r, sid, n in top]))
    errors = scalar(con, sqlfiles.sql("status/month_contract_errors"), m) if _has_table(con, "contract_errors") else 0
    anomalies["contract_errors"] = MetadataValue.int(errors or 0)
    spec["contract_errors"] = MetadataValue.int(errors or 0)

    traced = rows(con, sqlfiles.sql("status/month_rated_records"), m) if _has_table(con, "rated_records") else []
    rated = {"trace_rows": MetadataValue.int(sum(n for _, _, n, _ in traced)),
             "per_rule": MetadataValue.md("\n".join(
                 ["| family | rule | trace rows | quantity |", "| --- | --- | ---: | ---: |"]
                 + [f"| {f} | {r} | {n} | {q} |" for f, r, n, q in traced]))}
    moved = rows(con, sqlfiles.sql("status/month_ledger_movements"), m) if _has_table(con, "prepaid_ledger") else []
    ledgers = {"movements": MetadataValue.int(sum(n for _, _, n, _ in moved)),
               **{f"{f}_{k}": MetadataValue.int(n) for f, k, n, _ in moved},
               "per_kind": MetadataValue.md("\n".join(
                   ["| family | kind | movements | units |", "| --- | --- | ---: | ---: |"]
                   + [f"| {f} | {k} | {n} | {u} |" for f, k, n, u in moved]))}
    return {"specifications": spec, "anomalies": anomalies, "rated": rated, "ledgers": ledgers}


def _md(text) -> str:
    """A cell of a markdown table: no pipe or line break from data breaks the table."""
    return str(text or "").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


# Not partitioned itself (partitioned checks are a preview feature in Dagster 1.13): in a
# month's run it checks that month; launched on its own, every month billed so far.
@asset_check(asset=SPECIFICATIONS, pool=WAREHOUSE_POOL,
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


@asset_check(asset=SPECIFICATIONS, pool=WAREHOUSE_POOL,
             description="Each line's quantity = the sum of the quantities of the records traced to it "
                         "(rated_records), per subscriber and line code.")
def line_quantities_traced(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    key = context.run.tags.get("dagster/partition")
    with warehouse.get_connection() as con:
        months = _months(con, key)
        # a warehouse from before the trace existed has none: nothing to compare, not a failure
        traced = _has_table(con, "rated_records")
        mismatches = {m: trace_mismatches(con, m) for m in months} if traced else {}
    problems = [f"{m} {sid} {code}: line quantity {lq}, traced {tq}"
                for m, found in mismatches.items() for sid, code, lq, tq in found]
    return AssetCheckResult(
        passed=not problems, severity=AssetCheckSeverity.ERROR,
        metadata={"months": ", ".join(months), "traced": traced, "problems": MetadataValue.json(problems[:100])})


def _months(con, partition_key: str | None) -> list[str]:
    """The run's month, or every month billed so far when the check runs on its own."""
    if partition_key:
        return [str(month_of(partition_key))]
    if _has_table(con, "spec_headers"):
        return [m for (m,) in rows(con, sqlfiles.sql("status/issued_month_keys"))]
    return []


def _has_table(con, name: str) -> bool:
    return bool(scalar(con, sqlfiles.sql("status/table_exists"), {"t": name}))


checks = [specification_totals, line_quantities_traced]
