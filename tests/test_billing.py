"""Cross-family billing rules: currencies (G7), numbering, when a specification exists,
due dates (G8), unknown subscribers, and byte-identical re-runs through the CLI."""
import hashlib
import json
import os

from helpers import bill, write_feed

from metering.workspace import Workspace
from pipelines.cli import main


def _subs(ws, rows):
    write_feed(ws, "subscribers", "subscribers.csv", rows)


def test_mixed_currencies_reject_only_that_subscriber(tmp_workspace):
    ws = tmp_workspace
    _subs(ws, [{"subscriber_id": "MIX", "name": "Mixed", "country": "DK"},
               {"subscriber_id": "OK", "name": "Fine", "country": "NL"}])
    write_feed(ws, "subscriptions", "a.csv", [
        {"subscriber_id": "MIX", "product": "klippekort:10", "valid_from": "2026-10-02"},
        {"subscriber_id": "MIX", "product": "phone:BASIC", "valid_from": "2026-10-01"},
        {"subscriber_id": "OK", "product": "phone:BASIC", "valid_from": "2026-10-01"}])
    b = bill(ws, "2026-10")
    assert [s["subscriber_id"] for s in b.specs] == ["OK"]
    assert b.specs[0]["spec_number"] == "202610-00001"
    errors = [e for e in b.errors if e.subscriber_id == "MIX"]
    assert errors and errors[0].rule == "G7" and "DKK" in errors[0].message and "EUR" in errors[0].message
    assert any(a.kind == "contract_error" and a.subscriber_id == "MIX" for a in b.anomalies)


def test_numbers_follow_subscriber_id_byte_order_and_zero_lines_make_a_spec(tmp_workspace):
    ws = tmp_workspace
    ids = ["b-2", "B-1", "a", "Z"]  # byte order: B-1, Z, a, b-2
    _subs(ws, [{"subscriber_id": i, "name": i, "country": "NL"} for i in ids])
    # SMART with its fee negotiated to 0.00 and one included call: only zero lines
    write_feed(ws, "subscriptions", "a.csv", [
        {"subscriber_id": i, "product": "phone:SMART", "valid_from": "2026-10-01",
         "params": '{"unit_price": "0.00"}'} for i in ids])
    write_feed(ws, "calls", "c.csv", [
        {"call_id": f"c-{i}", "subscriber_id": i, "call_type": "inbound", "started_at": "2026-10-05T10:00:00+02:00",
         "answered_at": "2026-10-05T10:00:00+02:00", "ended_at": "2026-10-05T10:01:00+02:00", "talk_s": 60}
        for i in ids])
    b = bill(ws, "2026-10")
    assert [(s["subscriber_id"], s["spec_number"]) for s in b.specs] == [
        ("B-1", "202610-00001"), ("Z", "202610-00002"), ("a", "202610-00003"), ("b-2", "202610-00004")]
    for s in b.specs:
        assert s["total"] == "0.00" and {ln["code"] for ln in s["lines"]} == {"phone.plan", "phone.calls.included"}
        assert s["issue_date"] == "2026-11-01" and s["due_date"] == "2026-12-01"


def test_unknown_subscriber_is_an_anomaly_then_billed_when_it_arrives(tmp_workspace):
    ws = tmp_workspace
    write_feed(ws, "subscriptions", "a.csv", [{"subscriber_id": "LATE", "product": "remote:standard",
                                               "valid_from": "2026-01-01"}])
    write_feed(ws, "worklogs", "w.csv", [{"worklog_id": "w1", "subscriber_id": "LATE", "activity": "remote",
                                          "started_at": "2026-10-06T10:00:00+02:00", "minutes": 30}])
    b = bill(ws, "2026-10")
    assert b.specs == []
    assert [(a.kind, a.record) for a in b.anomalies] == [("unknown_subscriber", "worklogs/w1")]
    _subs(ws, [{"subscriber_id": "LATE", "name": "Late BV", "country": "NL"}])
    b = bill(ws, "2026-10")
    spec = b.specs[0]
    # 30 min × 103.85 / 60 = 51.925 → 51.93; a session above the 20.00 minimum; 14 days (L2/G8)
    assert [(ln["code"], ln["amount"]) for ln in spec["lines"]] == [("remote.time", "51.93")]
    assert spec["due_date"] == "2026-11-15"


def _digest(directory):
    h = hashlib.sha256()
    for p in sorted(directory.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(directory)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def test_rebilling_a_month_gives_byte_identical_files(tmp_path, monkeypatch, capsys):
    from synthetic import generate_workspace
    home = tmp_path / "ws"
    generate_workspace(home, months=["2026-10"], size="tiny")
    monkeypatch.setenv("CCMETER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    assert main(["bill", "2026-10"]) == 0
    month_dir = Workspace.from_env(home).month_dir("2026-10")
    first = _digest(month_dir)
    numbers = [json.loads(p.read_text())["spec_number"] for p in sorted(month_dir.glob("*-*.json"))]
    assert main(["bill", "2026-10"]) == 0
    assert _digest(month_dir) == first
    assert [json.loads(p.read_text())["spec_number"] for p in sorted(month_dir.glob("*-*.json"))] == numbers
    out = capsys.readouterr().out
    assert "specifications:" in out and "total EUR" in out
    assert not [p for p in os.listdir(month_dir) if p.endswith(".tmp")]


def test_parallel_pdf_rendering_gives_the_same_bytes(tmp_path):
    from metering.outputs import render_pdfs
    from metering.render.pdf import pdf_bytes
    spec = {"subscriber_id": "S1", "name": "Acme", "address": None, "vat_id": None, "email": None, "country": "NL",
            "period": "2026-10", "spec_number": "202610-00001", "issue_date": "2026-11-01",
            "due_date": "2026-12-01", "currency": "EUR",
            "lines": [{"code": "phone.plan", "service": "phone", "description": "Plan", "quantity": "31",
                       "unit": "day", "unit_price": "35.00", "price_unit": "month", "amount": "35.00",
                       "vat_rate": "0.21", "rule": "G4"}],
            "subtotal": "35.00", "vat": [{"rate": "0.21", "base": "35.00", "amount": "7.35"}], "total": "42.35",
            "balances": [], "aht": None, "warnings": [], "tasks": [], "actions": [], "appendix": None}
    specs = [dict(spec, subscriber_id=f"S{i:03d}") for i in range(60)]
    render_pdfs(tmp_path, specs, workers=2)
    for s in specs:
        assert (tmp_path / f"{s['subscriber_id']}.pdf").read_bytes() == pdf_bytes(s)


def test_cli_bill_stops_on_unsafe_data(tmp_path, monkeypatch, capsys):
    """A critical data check failing (here a call planted in the warehouse behind
    ingestion's back, with talk time but never answered) stops billing: no files."""
    from metering.db import connect
    home = tmp_path / "ws"
    ws = Workspace.from_env(home).ensure()
    _subs(ws, [{"subscriber_id": "S1", "name": "Acme", "country": "NL"}])
    write_feed(ws, "subscriptions", "a.csv", [{"subscriber_id": "S1", "product": "phone:BASIC",
                                               "valid_from": "2026-10-01"}])
    monkeypatch.setenv("CCMETER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    assert main(["ingest"]) == 0
    con = connect(ws.work_db)  # the database runs work in
    con.execute("insert into calls values ('bad', 'S1', 'inbound', null, '2026-10-05 08:00:00+00', null, "
                "'2026-10-05 08:05:00+00', 300, null, null, '', 'planted', 2)")
    con.close()
    assert main(["bill", "2026-10"]) == 1
    out = capsys.readouterr().out
    assert "Billing stopped" in out and "calls" in out
    assert not ws.month_dir("2026-10").exists()
    assert main(["bill", "2026-10", "--skip-checks"]) == 0


def test_long_steps_report_progress_every_tenth():
    from metering.outputs import Progress
    said = []
    p = Progress("PDFs", 250, said.append)
    for _ in range(250):
        p.step()
    assert len(said) == 10 and said[0].startswith("PDFs: 25/250 (10 %)") and said[-1].startswith("PDFs: 250/250 (100 %)")
    quiet = []
    small = Progress("PDFs", 40, quiet.append)
    for _ in range(40):
        small.step()
    assert quiet == []
