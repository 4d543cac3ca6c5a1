"""The Dagster code location (pipelines/definitions.py): the asset graph and its checks
resolve, the schedules add and bill the period just closed, the sensor sees new inbox
files, and on a tiny workspace the jobs materialise every step with its checks — the
same jobs `ccmeter bill` runs (a month billed from the command line is a materialised
partition of the workspace's instance) — and a failed blocking check stops billing."""
from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from helpers import write_feed

from assets import all_checks
from assets.partitions import ensure_partition, monthly, quarterly
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


MONTHLY = ("rated_records", "prepaid_ledgers", "anomalies", "specifications", "e_invoices")


def test_everything_resolves():
    dg.Definitions.validate_loadable(defs)
    assert {j.name for j in defs.resolve_all_job_defs()} >= {
        "ingest_job", "bill_month_job", "bill_month_unchecked_job", "draft_month_job", "aht_job"}
    assert set(defs.resolve_all_asset_keys()) == {dg.AssetKey(k) for k in (
        "raw_feeds", "usage", *MONTHLY, "quarterly_aht", "draft_specifications", "analytics_warehouse")}
    graph = defs.resolve_asset_graph()
    # the real steps in order: loaded feeds → usage → rated / ledgers → specifications → e-invoices, snapshot
    parents = {k.to_user_string(): {p.to_user_string() for p in graph.get(k).parent_keys}
               for k in graph.get_all_asset_keys()}
    assert parents["usage"] == {"raw_feeds"}
    assert parents["rated_records"] == parents["prepaid_ledgers"] == {"usage"}
    assert parents["specifications"] == {"rated_records", "prepaid_ledgers"}
    assert parents["e_invoices"] == {"specifications"}
    assert parents["analytics_warehouse"] == {"usage", "specifications", "quarterly_aht"}
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert checks == {("raw_feeds", name) for name in INGESTION_CHECKS} | {
        ("usage", "every_record_routed_once"), ("specifications", "staged_files_checked"),
        ("specifications", "specification_totals"), ("specifications", "line_quantities_traced")}
    specs = {spec.name: spec for c in all_checks for spec in c.check_specs}
    assert all(specs[name].blocking for name in (*INGESTION_CHECKS, "every_record_routed_once"))  # gate rating
    for key in MONTHLY:
        assert defs.resolve_assets_def(key).partitions_def == monthly
    assert defs.resolve_assets_def("quarterly_aht").partitions_def == quarterly
    assert defs.resolve_job_def("bill_month_job").executor_def.name == "in_process"
    unchecked = defs.resolve_job_def("bill_month_unchecked_job")
    assert {k.name for k in unchecked.asset_layer.asset_graph.asset_check_keys} >= {"staged_files_checked"}
    assert defs.resolve_sensor_def("inbox_sensor").job_name == "ingest_job"


def test_partitions_are_the_months_a_workspace_bills():
    instance = dg.DagsterInstance.ephemeral()
    ensure_partition(instance, monthly, "2026-10")
    ensure_partition(instance, monthly, "2026-10")  # once
    ensure_partition(instance, monthly, "2019-03")  # any year
    ensure_partition(instance, quarterly, "2026-07-01")
    assert sorted(instance.get_dynamic_partitions("months")) == ["2019-03", "2026-10"]
    assert instance.get_dynamic_partitions("quarters") == ["2026-07-01"]
    for bad, partitions in (("2026-13", monthly), ("october", monthly), ("2026-07", quarterly)):
        with pytest.raises(ValueError):
            ensure_partition(instance, partitions, bad)


def test_schedules_add_and_bill_the_period_just_closed():
    schedule = defs.resolve_schedule_def("bill_previous_month")
    assert schedule.cron_schedule == "0 3 1 * *"
    assert schedule.execution_timezone == "Europe/Amsterdam"
    assert schedule.job_name == "bill_month_job"
    instance = dg.DagsterInstance.local_temp()  # schedules need an instance with a reference
    repository = defs.get_repository_def()

    def tick(schedule_def, at: datetime):
        return schedule_def.evaluate_tick(dg.build_schedule_context(
            scheduled_execution_time=at, repository_def=repository, instance=instance))

    data = tick(schedule, datetime(2026, 11, 1, 3, 0, tzinfo=AMS))
    assert [r.partition_key for r in data.run_requests] == ["2026-10"]
    data = tick(schedule, datetime(2027, 1, 1, 3, 0, tzinfo=AMS))
    assert [r.partition_key for r in data.run_requests] == ["2026-12"]
    assert sorted(instance.get_dynamic_partitions("months")) == ["2026-10", "2026-12"]

    aht = defs.resolve_schedule_def("evaluate_previous_quarter")
    assert (aht.cron_schedule, aht.execution_timezone) == ("0 4 1 1,4,7,10 *", "Europe/Amsterdam")
    data = tick(aht, datetime(2026, 10, 1, 4, tzinfo=AMS))
    assert [r.partition_key for r in data.run_requests] == ["2026-07-01"]
    data = tick(aht, datetime(2027, 1, 1, 4, tzinfo=AMS))
    assert [r.partition_key for r in data.run_requests] == ["2026-10-01"]
    assert sorted(instance.get_dynamic_partitions("quarters")) == ["2026-07-01", "2026-10-01"]


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


def _bill(month: str, job: str = "bill_month_job", instance=None, **kw):
    instance = instance or dg.DagsterInstance.ephemeral()
    ensure_partition(instance, monthly, month)
    return defs.resolve_job_def(job).execute_in_process(partition_key=month, instance=instance, **kw)


def _materialised(result, key: str) -> dict:
    found = [e.step_materialization_data.materialization for e in result.get_asset_materialization_events()
             if e.step_materialization_data.materialization.asset_key == dg.AssetKey(key)]
    assert len(found) <= 1
    return _values(found[0].metadata) if found else {}


def test_materialise_every_step_of_october(ws):
    result = _bill("2026-10")
    assert result.success
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert set(checks) == INGESTION_CHECKS | {"every_record_routed_once", "staged_files_checked",
                                              "specification_totals", "line_quantities_traced"}
    assert all(c.passed for c in checks.values()), {n: _values(c.metadata) for n, c in checks.items() if not c.passed}

    ingested = _materialised(result, "raw_feeds")
    assert ingested["calls"] == {"files": 1, "read": 4, "loaded": 2, "quarantined": 1, "duplicates": 1}
    assert ingested["subscribers"] == {"files": 1, "read": 1, "loaded": 1, "quarantined": 0, "duplicates": 0}
    assert ingested["subscriptions"]["loaded"] == 1 and ingested["worklogs"]["files"] == 0
    assert ingested["new_files"] == 3
    assert _values(checks["calls_reconciles"].metadata)["table_rows"] == 2
    assert _values(checks["calls_contract"].metadata)["failed"] == 0
    routed = _materialised(result, "usage")
    assert routed["records"] == 2 and routed["records_answering"] == 2 and routed["rebuilt"] is True, routed
    assert _values(checks["every_record_routed_once"].metadata)["per_feed"]["calls"] == {"loaded": 2, "routed": 2}

    billed = _materialised(result, "specifications")
    assert billed["specifications"] == 1 and billed["already_issued"] is False
    assert billed["numbers"] == "202610-00001 … 202610-00001" and billed["credit_notes"] == 0
    # numbers Dagster plots across partitions: money in whole cents, anomalies as counts
    spec = json.loads((ws.month_dir("2026-10") / "S1.json").read_text(encoding="utf-8"))
    assert billed["total_EUR_cents"] == int(Decimal(spec["total"]) * 100) and billed["contract_errors"] == 0
    assert billed["adjustments_EUR_cents"] == 0 and "| EUR | 1 |" in billed["control_totals"]
    assert spec["period"] == "2026-10" and (ws.month_dir("2026-10") / "S1.pdf").is_file()
    assert billed["totals"] == {"EUR": spec["total"]}
    assert Decimal(spec["subtotal"]) == sum(Decimal(ln["amount"]) for ln in spec["lines"]) > 0
    assert _values(checks["specification_totals"].metadata)["specifications"] == 1
    anomalies = _materialised(result, "anomalies")
    assert isinstance(anomalies["anomalies"], int) and anomalies["top_anomalies"].startswith("| kind |")
    rated = _materialised(result, "rated_records")
    # C1 (60 s) counts in one line, C2 (120 s) in two: the call and its talk over 90 s (A4)
    assert rated["trace_rows"] == 3 and "| answering |" in rated["per_rule"]
    assert _materialised(result, "prepaid_ledgers")["movements"] == 0
    assert _materialised(result, "e_invoices")["e_invoices"] == 0
    snapshot = _materialised(result, "analytics_warehouse")
    assert snapshot["bytes"] == ws.warehouse.stat().st_size

    con = connect(ws.work_db)
    try:
        expectations = sum(len(suite_document(feed)["expectations"]) for feed in ORDER)
        assert rows(con, "select count(*), bool_and(success) from validation_results") == [(expectations, True)]
        # A critical contract violation in a loaded table (counts unchanged, so the
        # reconciliation still passes): its blocking check stops the month's billing.
        con.execute("update calls set talk_s = 5 where call_id = 'C1'")
    finally:
        con.close()
    rerun = _bill("2026-11", raise_on_error=False)
    checks = {c.check_name: c for c in rerun.get_asset_check_evaluations()}
    assert not checks["calls_contract"].passed
    assert checks["calls_contract"].severity == dg.AssetCheckSeverity.ERROR
    assert all(c.passed for n, c in checks.items() if n != "calls_contract")
    assert _materialised(rerun, "raw_feeds")["new_files"] == 0
    assert not _materialised(rerun, "usage") and not _materialised(rerun, "specifications")
    assert not ws.month_dir("2026-11").exists()


def test_a_record_doubled_in_usage_blocks_rating(ws):
    assert _bill("2026-10").success
    con = connect(ws.work_db)
    try:  # usage is reused while its inputs are unchanged: a doubled row stays until the check sees it
        con.execute("insert into usage select * from usage where record_id = 'C1'")
    finally:
        con.close()
    result = _bill("2026-11", raise_on_error=False)
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert not checks["every_record_routed_once"].passed
    assert _values(checks["every_record_routed_once"].metadata)["problems"] == [
        "calls: 1 record(s) routed more than once"]
    assert not _materialised(result, "specifications")


def test_a_rerun_of_an_issued_partition_changes_nothing_and_says_so(ws, monkeypatch):
    monkeypatch.setenv("CCMETER_TODAY", "2026-12-04")
    instance = dg.DagsterInstance.ephemeral()
    issued = _materialised(_bill("2026-10", instance=instance), "specifications")
    month_dir = ws.month_dir("2026-10")
    before = {p.name: p.read_bytes() for p in month_dir.iterdir()}
    write_feed(ws, "calls", "calls-late.csv", [{
        "call_id": "LATE", "subscriber_id": "S1", "call_type": "inbound", "started_at": "2026-10-07T09:00:00Z",
        "answered_at": "2026-10-07T09:00:10Z", "ended_at": "2026-10-07T09:01:10Z", "talk_s": 60}])
    meta = _materialised(_bill("2026-10", instance=instance), "specifications")
    assert meta["already_issued"] is True and meta["issued_at"] == issued["issued_at"]
    assert meta["late_records"] == 1 and meta["numbers"] == issued["numbers"]
    assert {p.name: p.read_bytes() for p in month_dir.iterdir()} == before
    # an open month is refused: the step fails, nothing is written
    monkeypatch.setenv("CCMETER_TODAY", "2026-10-20")
    assert _bill("2026-10", instance=instance).success  # issued already: still a no-op, whatever the clock says
    refused = _bill("2026-11", instance=instance, raise_on_error=False)
    assert not refused.success and not ws.month_dir("2026-11").exists()


def test_ccmeter_bill_is_a_materialised_partition_of_the_workspace_instance(ws, monkeypatch, capsys):
    """One billing path: the command line runs bill_month_job in process against the
    workspace's instance, so the UI shows the month materialised with its checks."""
    from pipelines.cli import main
    from pipelines.runner import workspace_instance
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("CCMETER_TODAY", "2026-12-04")
    assert main(["bill", "2026-10", "--no-pdf"]) == 0
    out = capsys.readouterr().out
    assert "Issued 2026-10" in out and "Dagster run:" in out
    with workspace_instance(ws) as instance:
        assert (ws.root / ".dagster" / "dagster.yaml").is_file()
        assert instance.get_dynamic_partitions("months") == ["2026-10"]
        for key in MONTHLY:
            event = instance.get_latest_materialization_event(dg.AssetKey(key))
            assert event is not None and event.dagster_event.partition == "2026-10", key
        run_id = event.run_id
        run = instance.get_run_by_id(run_id)
        assert run.job_name == "bill_month_job" and run.is_success
        assert run_id in out
        checks = {r.dagster_event.event_specific_data.check_name: r.dagster_event.event_specific_data.passed
                  for r in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)}
        assert checks and all(checks.values()) and "calls_contract" in checks
        assert "every_record_routed_once" in checks and "staged_files_checked" in checks
    # --skip-checks: the unchecked job (no input checks), still a materialisation
    assert main(["bill", "2026-11", "--no-pdf", "--skip-checks"]) == 0
    with workspace_instance(ws) as instance:
        run = instance.get_run_by_id(instance.get_latest_materialization_event(
            dg.AssetKey("specifications")).run_id)
        assert run.job_name == "bill_month_unchecked_job"


def test_ccmeter_bill_stops_on_a_failed_blocking_check_and_names_it(ws, monkeypatch, capsys):
    from pipelines.cli import main
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("CCMETER_TODAY", "2026-12-04")
    assert main(["ingest"]) == 0
    con = connect(ws.work_db)
    try:
        con.execute("update calls set talk_s = 5 where call_id = 'C1'")
    finally:
        con.close()
    capsys.readouterr()
    assert main(["bill", "2026-10", "--no-pdf"]) == 1
    out = capsys.readouterr().out
    assert "Billing stopped" in out and "calls_contract: " in out
    assert not ws.month_dir("2026-10").exists()
    assert main(["ingest"]) == 1  # ingest_job runs the same checks and says billing would stop
    out = capsys.readouterr().out
    assert "billing would be stopped" in out and "calls_contract: " in out


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
        instance = dg.DagsterInstance.ephemeral()
        ensure_partition(instance, quarterly, "2026-07-01")
        result = defs.resolve_job_def("aht_job").execute_in_process(partition_key="2026-07-01", instance=instance)
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
