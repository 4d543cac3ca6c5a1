"""The Dagster code location of ccmeter: `dagster dev` (workspace.yaml), `dagster
definitions validate -m pipelines.definitions` and the `ccmeter` command line load `defs`.

When: the schedule bills the month just closed on the 1st at 03:00 Europe/Amsterdam
(ingest first, then the month); the sensor loads new inbox files; the AHT evaluation
runs after a quarter closes. Where: runs execute in process (a subprocess per step costs
~1.4 s and buys nothing here); the instance (`dagster.yaml` in $DAGSTER_HOME) queues
runs one at a time, since DuckDB has one writer.
"""

import hashlib

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    RunRequest,
    ScheduleDefinition,
    SensorEvaluationContext,
    SkipReason,
    build_schedule_from_partitioned_job,
    define_asset_job,
    in_process_executor,
    sensor,
)

from assets import all_assets, all_checks, monthly_specifications, quarterly_aht, raw_feeds
from assets.partitions import TIMEZONE, monthly, quarter_key, quarterly
from assets.resources import WorkspaceResource, build_resources
from metering.periods import Quarter

ingest_job = define_asset_job(
    "ingest_job", selection=AssetSelection.assets(raw_feeds),
    description="Load new inbox files and run the ingestion checks (reconciliation, contract suites).")

bill_month_job = define_asset_job(
    "bill_month_job", selection=AssetSelection.assets(raw_feeds, monthly_specifications), partitions_def=monthly,
    description="Ingest, check (blocking: a failed critical check stops billing), then bill the partition's month.")

aht_job = define_asset_job(
    "aht_job", selection=AssetSelection.assets(quarterly_aht), partitions_def=quarterly,
    description="Evaluate the quarter's AHT per subscriber with messaging.")

bill_previous_month = build_schedule_from_partitioned_job(
    bill_month_job, name="bill_previous_month", day_of_month=1, hour_of_day=3, minute_of_hour=0,
    default_status=DefaultScheduleStatus.STOPPED,  # switched on per deployment (UI or `dagster schedule start`)
    description="On the 1st at 03:00 Europe/Amsterdam: bill the month that just ended.")


def _aht_run(context):
    """After a quarter closes: evaluate it (the quarter that ended before this tick)."""
    tick = context.scheduled_execution_time
    previous = Quarter.of(tick.date().replace(day=1))
    previous = Quarter(previous.year - 1, 4) if previous.q == 1 else Quarter(previous.year, previous.q - 1)
    return RunRequest(partition_key=quarter_key(previous))


evaluate_previous_quarter = ScheduleDefinition(
    name="evaluate_previous_quarter", job=aht_job, cron_schedule="0 4 1 1,4,7,10 *", execution_timezone=TIMEZONE,
    execution_fn=_aht_run, default_status=DefaultScheduleStatus.STOPPED,
    description="On the first day of a quarter at 04:00: the AHT evaluation of the last one.")


@sensor(job=ingest_job, minimum_interval_seconds=60, default_status=DefaultSensorStatus.STOPPED,
        description="Launches ingestion when inbox entries are not in the ledger yet: new files, files changed "
                    "in place (size or modification time), entries to quarantine (not readable regular files).")
def inbox_sensor(context: SensorEvaluationContext, workspace: WorkspaceResource):
    from metering.db import connect, scalar
    from metering.ingest import create_tables, pending_entries

    ws = workspace.get()
    if ws.warehouse.exists():
        try:
            con = connect(ws.warehouse, read_only=True)
        except Exception as exc:  # a run is writing (DuckDB: one writer), or damaged: look again next tick
            return SkipReason(f"warehouse not readable now: {str(exc).splitlines()[0]}")
        try:
            has_ledger = scalar(con, "select count(*) from information_schema.tables "
                                     "where table_name = 'loaded_files'")
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
    jobs=[ingest_job, bill_month_job, aht_job],
    schedules=[bill_previous_month, evaluate_previous_quarter],
    sensors=[inbox_sensor],
    resources=build_resources(),
    executor=in_process_executor,
)
