"""The Dagster code location (pipelines/definitions.py): everything resolves, the
schedule bills the month just closed at 03:00 Europe/Amsterdam, the sensor sees new
inbox files, and on a tiny workspace the ingestion asset and the 2026-10 partition of
the monthly specifications materialise in process with every check passing — and a
failed critical contract check stops billing."""
from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from helpers import write_feed

from assets import all_checks, monthly_specifications, raw_feeds
from assets.partitions import monthly, quarterly
from metering.db import connect, rows
from metering.feeds import ORDER
from metering.validation import suite_document
from metering.workspace import Workspace
from pipelines.definitions import defs

AMS = ZoneInfo("Europe/Amsterdam")
INGESTION_CHECKS = {f"{feed}_{kind}" for feed in ORDER for kind in ("reconciles", "contract")}


@pytest.fixture
def ws(tmp_path, monkeypatch) -> Workspace:
    """One subscriber with phone:BASIC and calls in October 2026: two good legs, one
    repeated (a duplicate) and one with an unknown call type (quarantined)."""
    monkeypatch.setenv("CCMETER_HOME", str(tmp_path / "workspace"))
    ws = Workspace.from_env().ensure()
    write_feed(ws, "subscribers", "subscribers.csv", [{"subscriber_id": "S1", "name": "Acme BV", "country": "NL"}])
    write_feed(ws, "subscriptions", "subscriptions.csv",
               [{"subscriber_id": "S1", "product": "phone:BASIC", "quantity": 1, "valid_from": "2026-01-01"}])
    c1 = {"call_id": "C1", "subscriber_id": "S1", "call_type": "inbound", "started_at": "2026-10-05T09:00:00Z",
          "answered_at": "2026-10-05T09:00:10Z", "ended_at": "2026-10-05T09:01:10Z", "talk_s": 60}
    c2 = {"call_id": "C2", "subscriber_id": "S1", "call_type": "inbound", "started_at": "2026-10-06T14:00:00+02:00",
          "answered_at": "2026-10-06T14:00:05+02:00", "ended_at": "2026-10-06T14:02:05+02:00", "talk_s": 120}
    c3 = dict(c1, call_id="C3", call_type="conference")
    write_feed(ws, "calls", "calls-2026-10.csv", [c1, c2, c2, c3])
    return ws


def _values(metadata) -> dict:
    return {k: getattr(v, "value", v) for k, v in metadata.items()}


def test_everything_resolves():
    dg.Definitions.validate_loadable(defs)
    assert {j.name for j in defs.resolve_all_job_defs()} >= {"ingest_job", "bill_month_job", "aht_job"}
    assert set(defs.resolve_all_asset_keys()) == {dg.AssetKey(k) for k in
                                                  ("raw_feeds", "monthly_specifications", "quarterly_aht")}
    for key in defs.resolve_all_asset_keys():
        assert defs.resolve_assets_def(key).key == key
    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert checks == {("raw_feeds", name) for name in INGESTION_CHECKS} | {
        ("monthly_specifications", "specification_totals"), ("monthly_specifications", "line_quantities_traced")}
    specs = {spec.name: spec for c in all_checks for spec in c.check_specs}
    assert all(specs[name].blocking for name in INGESTION_CHECKS)  # they gate billing
    assert defs.resolve_assets_def("monthly_specifications").partitions_def == monthly
    assert defs.resolve_assets_def("quarterly_aht").partitions_def == quarterly
    assert defs.resolve_job_def("bill_month_job").executor_def.name == "in_process"
    assert defs.resolve_sensor_def("inbox_sensor").job_name == "ingest_job"


def test_partitions():
    november = datetime(2026, 11, 22, tzinfo=AMS)
    months = monthly.get_partition_keys(current_time=november)
    assert months[0] == "2025-01" and months[-1] == "2026-10"  # a month is billed once it has ended
    assert monthly.get_partition_keys(current_time=datetime(2026, 11, 1, 0, 30, tzinfo=AMS))[-1] == "2026-10"
    assert monthly.get_partition_keys(current_time=datetime(2026, 10, 31, 23, 30, tzinfo=AMS))[-1] == "2026-09"
    assert quarterly.get_partition_keys(current_time=november)[-4:] == [
        "2025-10-01", "2026-01-01", "2026-04-01", "2026-07-01"]


def test_schedule_bills_the_previous_month_on_the_first_at_3_amsterdam():
    schedule = defs.resolve_schedule_def("bill_previous_month")
    assert schedule.cron_schedule == "0 3 1 * *"
    assert schedule.execution_timezone == "Europe/Amsterdam"
    assert schedule.job_name == "bill_month_job"
    repository = defs.get_repository_def()

    def tick(schedule_def, at: datetime):
        return schedule_def.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=at,
                                                                    repository_def=repository))

    data = tick(schedule, datetime(2026, 11, 1, 3, 0, tzinfo=AMS))
    assert [r.partition_key for r in data.run_requests] == ["2026-10"]

    aht = defs.resolve_schedule_def("evaluate_previous_quarter")
    assert (aht.cron_schedule, aht.execution_timezone) == ("0 4 1 1,4,7,10 *", "Europe/Amsterdam")
    data = tick(aht, datetime(2026, 10, 1, 4, tzinfo=AMS))
    assert [r.partition_key for r in data.run_requests] == ["2026-07-01"]
    data = tick(aht, datetime(2027, 1, 1, 4, tzinfo=AMS))
    assert [r.partition_key for r in data.run_requests] == ["2026-10-01"]


def test_sensor_requests_ingestion_for_new_inbox_files(ws):
    sensor = defs.resolve_sensor_def("inbox_sensor")

    def tick():
        return sensor.evaluate_tick(dg.build_sensor_context(resources=defs.resources, definitions=defs))

    first = tick()
    assert len(first.run_requests) == 1 and first.run_requests[0].tags["ccmeter/new_files"] == "3"
    assert tick().run_requests[0].run_key == first.run_requests[0].run_key  # same files: same run key
    from metering.ingest import ingest
    con = connect(ws.warehouse)
    try:
        ingest(con, ws)
    finally:
        con.close()
    assert not tick().run_requests
    write_feed(ws, "calls", "calls-late.csv", [])
    later = tick()
    assert len(later.run_requests) == 1 and later.run_requests[0].run_key != first.run_requests[0].run_key


def test_materialise_ingestion_and_october(ws):
    result = dg.materialize([raw_feeds, monthly_specifications, *all_checks], partition_key="2026-10",
                            resources=defs.resources)
    assert result.success
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert set(checks) == INGESTION_CHECKS | {"specification_totals", "line_quantities_traced"}
    assert all(c.passed for c in checks.values()), {n: _values(c.metadata) for n, c in checks.items() if not c.passed}

    ingested = _values(result.asset_materializations_for_node("raw_feeds")[0].metadata)
    assert ingested["calls"] == {"files": 1, "read": 4, "loaded": 2, "quarantined": 1, "duplicates": 1}
    assert ingested["subscribers"] == {"files": 1, "read": 1, "loaded": 1, "quarantined": 0, "duplicates": 0}
    assert ingested["subscriptions"]["loaded"] == 1 and ingested["worklogs"]["files"] == 0
    assert ingested["new_files"] == 3
    assert _values(checks["calls_reconciles"].metadata)["table_rows"] == 2
    assert _values(checks["calls_contract"].metadata)["failed"] == 0

    billed = _values(result.asset_materializations_for_node("monthly_specifications")[0].metadata)
    assert billed["specifications"] == 1 and billed["already_issued"] is False
    assert billed["numbers"] == "202610-00001 … 202610-00001" and billed["credit_notes"] == 0
    # numbers Dagster plots across partitions: money in whole cents, anomalies as counts
    spec_total = json.loads((ws.month_dir("2026-10") / "S1.json").read_text(encoding="utf-8"))["total"]
    assert billed["total_EUR_cents"] == int(Decimal(spec_total) * 100) and billed["contract_errors"] == 0
    assert isinstance(billed["anomalies"], int) and billed["adjustments_EUR_cents"] == 0
    assert "| EUR | 1 |" in billed["control_totals"] and billed["top_anomalies"].startswith("| kind |")
    spec = json.loads((ws.month_dir("2026-10") / "S1.json").read_text(encoding="utf-8"))
    assert spec["period"] == "2026-10" and (ws.month_dir("2026-10") / "S1.pdf").is_file()
    assert billed["totals"] == {"EUR": spec["total"]}
    assert Decimal(spec["subtotal"]) == sum(Decimal(ln["amount"]) for ln in spec["lines"]) > 0
    assert _values(checks["specification_totals"].metadata)["specifications"] == 1

    con = connect(ws.work_db)
    try:
        expectations = sum(len(suite_document(feed)["expectations"]) for feed in ORDER)
        assert rows(con, "select count(*), bool_and(success) from validation_results") == [(expectations, True)]
        # A critical contract violation in a loaded table (counts unchanged, so the
        # reconciliation still passes): its blocking check stops the month's billing.
        con.execute("update calls set talk_s = 5 where call_id = 'C1'")
    finally:
        con.close()
    rerun = defs.resolve_job_def("bill_month_job").execute_in_process(
        partition_key="2026-10", raise_on_error=False, instance=dg.DagsterInstance.ephemeral())
    checks = {c.check_name: c for c in rerun.get_asset_check_evaluations()}
    assert not checks["calls_contract"].passed
    assert checks["calls_contract"].severity == dg.AssetCheckSeverity.ERROR
    assert all(c.passed for n, c in checks.items() if n != "calls_contract")
    assert _values(rerun.asset_materializations_for_node("raw_feeds")[0].metadata)["new_files"] == 0
    assert not rerun.asset_materializations_for_node("monthly_specifications")


def test_a_rerun_of_an_issued_partition_changes_nothing_and_says_so(ws, monkeypatch):
    monkeypatch.setenv("CCMETER_TODAY", "2026-12-04")
    first = dg.materialize([raw_feeds, monthly_specifications], partition_key="2026-10", resources=defs.resources)
    issued = _values(first.asset_materializations_for_node("monthly_specifications")[0].metadata)
    month_dir = ws.month_dir("2026-10")
    before = {p.name: p.read_bytes() for p in month_dir.iterdir()}
    write_feed(ws, "calls", "calls-late.csv", [{
        "call_id": "LATE", "subscriber_id": "S1", "call_type": "inbound", "started_at": "2026-10-07T09:00:00Z",
        "answered_at": "2026-10-07T09:00:10Z", "ended_at": "2026-10-07T09:01:10Z", "talk_s": 60}])
    again = dg.materialize([raw_feeds, monthly_specifications], partition_key="2026-10", resources=defs.resources)
    meta = _values(again.asset_materializations_for_node("monthly_specifications")[0].metadata)
    assert meta["already_issued"] is True and meta["issued_at"] == issued["issued_at"]
    assert meta["late_records"] == 1 and meta["numbers"] == issued["numbers"]
    assert {p.name: p.read_bytes() for p in month_dir.iterdir()} == before
    # an open month is refused: the step fails, nothing is written
    monkeypatch.setenv("CCMETER_TODAY", "2026-10-20")
    open_month = dg.materialize([raw_feeds, monthly_specifications], partition_key="2026-10",
                                resources=defs.resources, raise_on_error=False, selection=[monthly_specifications])
    assert open_month.success  # issued already: still a no-op, whatever the clock says
    refused = dg.materialize([raw_feeds, monthly_specifications], partition_key="2026-11",
                             resources=defs.resources, raise_on_error=False, selection=[monthly_specifications])
    assert not refused.success and not ws.month_dir("2026-11").exists()


def test_quarterly_aht(ws):
    write_feed(ws, "subscriptions", "subscriptions-messaging.csv", [
        {"subscriber_id": "S1", "product": "messaging:BASIC", "quantity": 1, "valid_from": "2026-07-01",
         "params": '{"aht_s": 240}'}])
    write_feed(ws, "interactions", "interactions.csv", [
        {"interaction_id": f"I{i}", "subscriber_id": "S1", "channel": "chat", "started_at": f"2026-08-0{i}T09:00:00Z",
         "ended_at": f"2026-08-0{i}T09:05:00Z", "handle_s": handle} for i, handle in ((1, 280), (2, 320))])
    from metering.ingest import ingest
    con = connect(ws.warehouse)
    try:
        ingest(con, ws)
    finally:
        con.close()
    for _ in range(2):  # a quarter can be re-run: delete-then-insert
        result = defs.resolve_job_def("aht_job").execute_in_process(partition_key="2026-07-01")
        assert result.success
    meta = _values(result.asset_materializations_for_node("quarterly_aht")[0].metadata)
    assert (meta["quarter"], meta["subscribers"], meta["re_established"]) == ("2026-Q3", 1, 1)
    con = connect(ws.warehouse, read_only=True)
    try:
        got = rows(con, "select quarter, subscriber_id, interactions, handle_s, actual_s, aht_old, aht_new, decision "
                        "from aht_evaluations")
    finally:
        con.close()
    # mean 300 s against AHT_pre 240 s: +25 % ≥ 10 % → re-established at 300 s
    assert got == [("2026-Q3", "S1", 2, 600, Decimal("300.00"), 240, 300, "re-established")]


def test_instance_configuration_is_valid_and_quiet(tmp_path, monkeypatch):
    """dagster.yaml as the CLI installs it in DAGSTER_HOME: a valid instance, runs queued
    one at a time, no telemetry and no welcome pop-up over the operator's first page."""
    import shutil
    home = tmp_path / "dagster"
    home.mkdir()
    shutil.copyfile(Path(__file__).resolve().parents[1] / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    instance = dg.DagsterInstance.get()
    try:
        assert not instance.telemetry_enabled and not instance.nux_enabled
        assert instance.run_coordinator.get_run_queue_config().max_concurrent_runs == 1
    finally:
        instance.dispose()
