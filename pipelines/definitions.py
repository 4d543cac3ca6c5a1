"""The Dagster code location of ccmeter: `dagster dev` (workspace.yaml), `dagster
definitions validate -m pipelines.definitions` and the `ccmeter` command line load `defs`.

When: the schedule bills the month just closed on the 1st at 03:00 Europe/Amsterdam
(ingest first, then the month); the sensor loads new inbox files; the AHT evaluation
runs after a quarter closes. Where: runs execute in process (a subprocess per step costs
~1.4 s and buys nothing here); the instance (`dagster.yaml` in $DAGSTER_HOME) queues
runs one at a time, since DuckDB has one writer.
"""

import hashlib
from datetime import date

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    in_process_executor,
    schedule,
    sensor,
)

from assets import (
    all_assets,
    all_checks,
    analytics_warehouse,
    draft_specifications,
    issue_month_assets,
    quarterly_aht,
    raw_feeds,
    routed_usage,
)
from assets.partitions import TIMEZONE, ensure_partition, monthly, quarter_key, quarterly
from assets.resources import WorkspaceResource, build_resources
from metering.periods import Month, Quarter

# The checks that gate rating: loaded data (reconciliation, Great Expectations) and routing.
INPUT_CHECKS = AssetSelection.checks_for_assets(raw_feeds, routed_usage)

ingest_job = define_asset_job(
    "ingest_job", selection=AssetSelection.assets(raw_feeds, routed_usage, analytics_warehouse),
    description="Load new inbox files, route the usage, run their checks, publish warehouse.duckdb.")

_BILL = AssetSelection.assets(raw_feeds, routed_usage, issue_month_assets, analytics_warehouse)
bill_month_job = define_asset_job(
    "bill_month_job", selection=_BILL, partitions_def=monthly,
    description="Ingest, check (blocking: a failed check stops billing), route, then issue the partition's month "
                "and publish warehouse.duckdb. `ccmeter bill YYYY-MM` runs this job.")

bill_month_unchecked_job = define_asset_job(
    "bill_month_unchecked_job", selection=_BILL - INPUT_CHECKS, partitions_def=monthly,
    description="bill_month_job without the input checks (`ccmeter bill --skip-checks`); the staged-file check "
                "before the commit still runs.")

draft_month_job = define_asset_job(
    "draft_month_job", selection=AssetSelection.assets(raw_feeds, routed_usage, draft_specifications,
                                                       analytics_warehouse), partitions_def=monthly,
    description="Ingest, check, route, then write a draft of the partition's month (`ccmeter bill --draft`).")

draft_month_unchecked_job = define_asset_job(
    "draft_month_unchecked_job", selection=AssetSelection.assets(raw_feeds, routed_usage, draft_specifications,
                                                                 analytics_warehouse) - INPUT_CHECKS,
    partitions_def=monthly, description="draft_month_job without the input checks (`--draft --skip-checks`).")

aht_job = define_asset_job(
    "aht_job", selection=AssetSelection.assets(routed_usage, quarterly_aht, analytics_warehouse),
    partitions_def=quarterly, description="Evaluate the quarter's AHT per subscriber with messaging.")


def previous_month(day: date) -> Month:
    return Month(day.year - 1, 12) if day.month == 1 else Month(day.year, day.month - 1)


@schedule(job=bill_month_job, cron_schedule="0 3 1 * *", execution_timezone=TIMEZONE,
          default_status=DefaultScheduleStatus.STOPPED,  # switched on per deployment (UI or `dagster schedule start`)
          description="On the 1st at 03:00 Europe/Amsterdam: bill the month that just ended.")
def bill_previous_month(context: ScheduleEvaluationContext):
    key = str(previous_month(context.scheduled_execution_time.date()))
    ensure_partition(context.instance, monthly, key)
    return RunRequest(run_key=f"bill-{key}", partition_key=key)


@schedule(job=aht_job, cron_schedule="0 4 1 1,4,7,10 *", execution_timezone=TIMEZONE,
          default_status=DefaultScheduleStatus.STOPPED,
          description="On the first day of a quarter at 04:00: the AHT evaluation of the last one.")
def evaluate_previous_quarter(context: ScheduleEvaluationContext):
    previous = Quarter.of(previous_month(context.scheduled_execution_time.date()).first)
    key = quarter_key(previous)
    ensure_partition(context.instance, quarterly, key)
    return RunRequest(run_key=f"aht-{key}", partition_key=key)


@sensor(job=ingest_job, minimum_interval_seconds=60, default_status=DefaultSensorStatus.STOPPED,
        description="Launches ingestion when inbox entries are not in the ledger yet: new files, files changed "
                    "in place (size or modification time), entries to quarantine (not readable regular files).")
def inbox_sensor(context: SensorEvaluationContext, workspace: WorkspaceResource):
    from metering import sqlfiles
    from metering.db import connect, scalar
    from metering.ingest import create_tables, pending_entries

    ws = workspace.get()
    if ws.warehouse.exists():
        try:
            con = connect(ws.warehouse, read_only=True)
        except Exception as exc:  # a run is writing (DuckDB: one writer), or damaged: look again next tick
            return SkipReason(f"warehouse not readable now: {str(exc).splitlines()[0]}")
        try:
            has_ledger = scalar(con, sqlfiles.sql("status/table_exists"), {"t": "loaded_files"})
            pending = pending_entries(con, ws) if has_ledger else None
        finally:
            con.close()
    else:
        pending = None
    if pending is None:  # no ledger yet: every inbox file is new
        import duckdb
        con = duckdb.connect(":memory:")
        try:
            create_tables(con)
            pending = pending_entries(con, ws)
        finally:
            con.close()
    if not pending:
        return SkipReason("no new inbox files")
    # size and mtime_ns: a file corrected in place (even at the same size) is a new run key
    listing = sorted(f"{e.rel}:{e.size}:{e.mtime_ns}:{e.identity}" for e in pending)
    key = hashlib.sha256("\n".join(listing).encode()).hexdigest()[:16]
    return RunRequest(run_key=f"inbox-{key}", tags={"ccmeter/new_files": str(len(listing))})


defs = Definitions(
    assets=all_assets,
    asset_checks=all_checks,
    jobs=[ingest_job, bill_month_job, bill_month_unchecked_job, draft_month_job, draft_month_unchecked_job,
          aht_job],
    schedules=[bill_previous_month, evaluate_previous_quarter],
    sensors=[inbox_sensor],
    resources=build_resources(),
    executor=in_process_executor,
)
