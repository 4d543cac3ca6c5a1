"""Ingestion: the inbox files loaded into the warehouse, and the checks that gate
billing on them (architecture.md, data flow). The asset calls `metering.ingest`; the
checks call `metering.validation` (reconciliation, Great Expectations suites in gx/)."""

from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset_check,
)

from assets.progress import report
from assets.resources import WAREHOUSE_POOL, WarehouseResource, WorkspaceResource
from metering import validation
from metering.feeds import FEEDS, ORDER
from metering.ingest import feed_status, ingest
from metering.snapshot import publish

COUNTS = ("files", "read", "loaded", "quarantined", "duplicates")


@asset(group_name="ingestion", kinds={"duckdb"}, pool=WAREHOUSE_POOL,
       description="Inbox files loaded into the warehouse tables (subscribers, subscription_versions, calls, "
                   "interactions, worklogs) and the quarantine; a file already loaded is skipped. First finishes "
                   "or rolls back what a crashed run left and aligns the issued documents with their manifests.")
def raw_feeds(context: AssetExecutionContext, workspace: WorkspaceResource,
              warehouse: WarehouseResource) -> MaterializeResult:
    from metering.issuing import prepare_workspace
    from metering.limits import Limits
    limits = Limits.from_env()  # a bad limit is reported before anything is opened
    ws = workspace.get()
    with warehouse.get_connection() as con:
        for line in prepare_workspace(con, ws, code_version()):
            report(context, line, detail=True)
        report(context, f"Loading new inbox files from {ws.inbox}")
        results = ingest(con, ws, progress=lambda r: report(context, describe(r), detail=True), limits=limits)
        totals = feed_status(con)
        # published here too, not only at the end of the run: when a blocking check stops
        # billing, analysts (and `ccmeter status`) still see what was loaded and why
        seconds = publish(con, ws, source=warehouse.path())
    run = {feed: dict.fromkeys(COUNTS, 0) for feed in ORDER}
    for r in results:
        if r.status == "skipped":
            continue
        c = run[r.feed]
        c["files"] += 1
        for k in COUNTS[1:]:
            c[k] += getattr(r, k)
    new_files = sum(c["files"] for c in run.values())
    report(context, f"{new_files} new file(s)" + ("" if new_files else " (nothing new)"), detail=True)
    metadata: dict[str, Any] = {feed: MetadataValue.json(run[feed]) for feed in ORDER}
    metadata["new_files"] = new_files
    metadata["records_loaded"] = sum(c["loaded"] for c in run.values())
    metadata["records_quarantined"] = sum(c["quarantined"] for c in run.values())
    metadata["unreadable_files"] = MetadataValue.json(
        [{"file": r.path, "rule": r.rule, "reason": r.reason} for r in results
         if r.status in ("unreadable", "rejected")])
    metadata["warehouse_totals"] = MetadataValue.json(totals)
    metadata["published_s"] = MetadataValue.float(round(seconds, 3))
    return MaterializeResult(metadata=metadata)


def describe(result) -> str:
    """One inbox file's outcome, as the run log and the terminal show it."""
    if result.status == "rejected":
        return f"{result.path}: NOT A READABLE FILE, quarantined whole [{result.rule}]: {result.reason}"
    if result.status == "unreadable":
        return f"{result.path}: UNREADABLE, quarantined whole: {result.reason}"
    extra = f"; unknown columns ignored: {', '.join(result.unknown_columns)}" if result.unknown_columns else ""
    return (f"{result.path}: read {result.read}, loaded {result.loaded}, quarantined {result.quarantined}, "
            f"duplicates {result.duplicates}{extra}")


def code_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("ccmeter")
    except PackageNotFoundError:  # pragma: no cover - a plain checkout
        return "0+unknown"


@multi_asset_check(
    specs=[AssetCheckSpec(f"{feed}_reconciles", asset=raw_feeds, blocking=True,
                          description=f"{feed}: records read = loaded + quarantined + duplicates, per file; "
                                      f"{FEEDS[feed].table} rows = records loaded; quarantine complete")
           for feed in ORDER],
    can_subset=True, pool=WAREHOUSE_POOL)
def reconciliation(context: AssetCheckExecutionContext, warehouse: WarehouseResource):
    with warehouse.get_connection() as con:
        outcome = validation.reconcile(con)
    for feed in ORDER:
        name = f"{feed}_reconciles"
        if not _selected(context, name):
            continue
        o = outcome[feed]
        yield AssetCheckResult(
            check_name=name, asset_key=raw_feeds.key, passed=not o["problems"], severity=AssetCheckSeverity.ERROR,
            metadata={**{k: o[k] for k in (*COUNTS, "table_rows")},
                      "problems": MetadataValue.json(o["problems"])})


# Every feed is a billing input; what decides whether a failure blocks billing is the
# severity of the failed expectation in gx/<feed>.json: `critical` fails the check with
# severity ERROR (blocking: billing in the same run does not start), `warning` with WARN.
@multi_asset_check(
    specs=[AssetCheckSpec(f"{feed}_contract", asset=raw_feeds, blocking=True,
                          description=f"Great Expectations suite gx/{feed}.json on table {FEEDS[feed].table}")
           for feed in ORDER],
    can_subset=True, pool=WAREHOUSE_POOL)
def contract_expectations(context: AssetCheckExecutionContext, warehouse: WarehouseResource):
    feeds = [feed for feed in ORDER if _selected(context, f"{feed}_contract")]
    outcomes = validation.validate_feeds(warehouse.path(), feeds)
    for feed in feeds:
        o = outcomes[feed]
        yield AssetCheckResult(
            check_name=f"{feed}_contract", asset_key=raw_feeds.key, passed=o.success,
            severity=AssetCheckSeverity.WARN if o.failed and not o.critical_failed else AssetCheckSeverity.ERROR,
            metadata={"expectations": len(o.results), "failed": len(o.failed),
                      "critical_failed": len(o.critical_failed),
                      "failures": MetadataValue.json([{k: r[k] for k in ("expectation", "unexpected_count", "message",
                                                                         "severity")} for r in o.failed])})


def _selected(context: AssetCheckExecutionContext, name: str) -> bool:
    return any(k.name == name for k in context.selected_asset_check_keys)


checks = [reconciliation, contract_expectations]
