"""Issuing, late data and adjustments (pricing.md X1–X7) end to end through the CLI:
worked examples 6 and 7, late subscribers and cancellations, frozen issued months,
users' files, drafts, the clock, verify and rebuild."""
from __future__ import annotations

import json
import os
import stat
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from helpers import write_feed

from metering.workspace import Workspace
from pipelines.cli import main

AMS = ZoneInfo("Europe/Amsterdam")


def at(day, hh=10, month=10):
    return datetime(2026, month, day, hh, 0, 0, tzinfo=AMS)


def call(cid, start, talk, sub="S1"):
    answered = start + timedelta(seconds=5)
    return {"call_id": cid, "subscriber_id": sub, "call_type": "inbound", "started_at": start.isoformat(),
            "answered_at": answered.isoformat(), "ended_at": (answered + timedelta(seconds=talk)).isoformat(),
            "talk_s": talk, "caller_number": "+31201234567", "destination_country": "", "report": ""}


@pytest.fixture
def ws(tmp_path, monkeypatch) -> Workspace:
    home = tmp_path / "ws"
    monkeypatch.setenv("CCMETER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.setenv("CCMETER_TODAY", "2026-12-04")
    return Workspace.from_env(home).ensure()


def run(*argv) -> int:
    return main(["bill", *argv, "--no-pdf", "--skip-checks"]) if argv and argv[0][:1].isdigit() else main(list(argv))


def spec(ws, month, sid) -> dict:
    return json.loads((ws.month_dir(month) / f"{sid}.json").read_text(encoding="utf-8"))


def snapshot(directory) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def by_code(lines) -> dict[str, str]:
    out: dict[str, Decimal] = {}
    for ln in lines:
        out[ln["code"]] = out.get(ln["code"], Decimal("0")) + Decimal(ln["amount"])
    return {k: str(v) for k, v in out.items()}


def example_1_subscriber(ws):
    write_feed(ws, "subscribers", "subscribers.csv", [{"subscriber_id": "S1", "name": "Acme", "country": "NL"}])
    write_feed(ws, "subscriptions", "a.csv", [{"subscriber_id": "S1", "product": "phone:BASIC",
                                               "valid_from": "2026-10-01"}])
    write_feed(ws, "calls", "calls-a.csv", [call(f"c{i:03d}", at(1 + i % 28, 9 + i % 10), 60) for i in range(100)])


def test_worked_example_6_late_calls_become_adjustments_on_the_next_month(ws, capsys):
    example_1_subscriber(ws)
    assert run("2026-10") == 0
    october = spec(ws, "2026-10", "S1")
    assert (october["spec_number"], october["subtotal"], october["total"]) == ("202610-00001", "312.50", "378.13")
    frozen = snapshot(ws.month_dir("2026-10"))
    # the 20 long calls arrive after October was issued
    write_feed(ws, "calls", "calls-b-late.csv",
               [call(f"late{i:02d}", at(29, 8 + i % 10), 150) for i in range(20)])
    assert run("2026-10") == 0
    out = capsys.readouterr().out
    assert "was issued at" in out and "after it was issued: 20" in out
    assert snapshot(ws.month_dir("2026-10")) == frozen
    assert run("2026-11") == 0
    assert snapshot(ws.month_dir("2026-10")) == frozen
    nov = spec(ws, "2026-11", "S1")
    assert [(ln["code"], ln["amount"]) for ln in nov["lines"]] == [("phone.plan", "35.00")]
    adjustments = {a["code"]: a for a in nov["adjustments"]}
    assert set(adjustments) == {"phone.calls.tier3", "phone.talk_over_90s"}
    tier3 = adjustments["phone.calls.tier3"]
    assert (tier3["quantity"], tier3["unit_price"], tier3["amount"]) == ("20", "1.84", "36.80")
    assert adjustments["phone.talk_over_90s"]["amount"] == "32.80"
    assert adjustments["phone.talk_over_90s"]["quantity"] == "1200"
    for a in nov["adjustments"]:
        assert (a["rule"], a["period"], a["adjusts"]) == ("X3", "2026-10", "202610-00001")
    assert (nov["subtotal"], nov["vat"][0]["amount"], nov["total"]) == ("104.60", "21.97", "126.57")
    assert nov["document_type"] == "specification" and nov["spec_number"] == "202611-00001"
    # issuing December: the difference was billed once, nothing is billed again
    monkey_today(ws, "2027-01-02")
    assert run("2026-12") == 0
    assert spec(ws, "2026-12", "S1")["adjustments"] == []


def monkey_today(ws, day):
    os.environ["CCMETER_TODAY"] = day  # the fixture's monkeypatch restores it


def test_worked_example_7_late_cancellation_is_a_credit_note(ws):
    write_feed(ws, "subscribers", "subscribers.csv", [{"subscriber_id": "S7", "name": "Seven", "country": "NL"}])
    write_feed(ws, "subscriptions", "a.csv", [{"subscriber_id": "S7", "product": "phone:PLUS",
                                               "valid_from": "2026-10-01", "valid_to": "2026-11-01"}])
    assert run("2026-10") == 0
    october = spec(ws, "2026-10", "S7")
    assert (october["subtotal"], october["total"]) == ("60.45", "73.14")
    frozen = snapshot(ws.month_dir("2026-10"))
    write_feed(ws, "subscriptions", "b-cancel.csv", [{"subscriber_id": "S7", "product": "phone:PLUS",
                                                      "valid_from": "2026-10-01", "valid_to": "2026-10-01"}])
    assert run("2026-10") == 0
    assert snapshot(ws.month_dir("2026-10")) == frozen  # nothing deleted, nothing renumbered
    assert run("2026-11") == 0
    nov = spec(ws, "2026-11", "S7")
    assert nov["lines"] == []
    assert [(a["code"], a["amount"], a["adjusts"]) for a in nov["adjustments"]] == [
        ("phone.plan", "-60.45", "202610-00001")]
    assert (nov["subtotal"], nov["vat"][0]["amount"], nov["total"]) == ("-60.45", "-12.69", "-73.14")
    assert nov["document_type"] == "credit_note" and nov["due_date"] == "2026-12-31"
    summary = (ws.month_dir("2026-11") / "summary.csv").read_text()
    assert "credit_note" in summary and "-60.45" in summary


def test_late_subscriber_keeps_issued_numbers_and_users_files_survive(ws):
    write_feed(ws, "subscribers", "subscribers.csv", [
        {"subscriber_id": sid, "name": sid, "country": "NL"} for sid in ("B", "C")])
    write_feed(ws, "subscriptions", "a.csv", [
        {"subscriber_id": sid, "product": "phone:BASIC", "valid_from": "2026-10-01"} for sid in ("A", "B", "C")])
    month_dir = ws.month_dir("2026-10")
    month_dir.mkdir(parents=True)
    (month_dir / "notes.csv").write_text("finance's own notes\n")
    assert run("2026-10") == 0
    assert [spec(ws, "2026-10", s)["spec_number"] for s in ("B", "C")] == ["202610-00001", "202610-00002"]
    assert (month_dir / "notes.csv").read_text() == "finance's own notes\n"
    manifest = json.loads((month_dir / "manifest.json").read_text())
    assert "notes.csv" not in {f["name"] for f in manifest["files"]}
    (month_dir / "B signed.pdf").write_bytes(b"%PDF signed")
    frozen = snapshot(month_dir)
    write_feed(ws, "subscribers", "subscribers-late.csv", [{"subscriber_id": "A", "name": "A", "country": "NL"}])
    assert run("2026-10") == 0
    assert main(["bill", "2026-10", "--skip-checks"]) == 0  # with PDFs: still nothing written
    assert snapshot(month_dir) == frozen
    assert run("2026-11") == 0
    nov = {s: spec(ws, "2026-11", s) for s in ("A", "B", "C")}
    assert [nov[s]["spec_number"] for s in ("A", "B", "C")] == ["202611-00001", "202611-00002", "202611-00003"]
    assert [(a["code"], a["amount"], a["adjusts"]) for a in nov["A"]["adjustments"]] == [
        ("phone.plan", "35.00", None)]
    assert nov["B"]["adjustments"] == [] and nov["C"]["adjustments"] == []


def test_open_and_future_months_are_refused_with_a_hint_to_draft(ws, capsys):
    example_1_subscriber(ws)
    assert run("2026-12") == 2
    err = capsys.readouterr().err
    assert "has not ended yet" in err and "--draft" in err and "Traceback" not in err
    assert run("2027-03") == 2
    assert "in the future" in capsys.readouterr().err
    assert not ws.month_dir("2026-12").exists()
    monkey_today(ws, "2026-11-30")
    assert run("2026-11") == 2  # the last day itself is still open
    monkey_today(ws, "2026-12-01")
    assert run("2026-11") == 0


def test_drafts_are_unnumbered_replace_their_previous_draft_and_touch_nothing_else(ws):
    example_1_subscriber(ws)
    assert main(["bill", "2026-12", "--draft", "--skip-checks"]) == 0
    draft_dir = ws.specifications / "drafts" / "2026-12"
    draft = json.loads((draft_dir / "S1.json").read_text())
    assert draft["spec_number"] is None and draft["draft"] is True
    pdf = (draft_dir / "S1.pdf").read_bytes()
    assert b"DRAFT" in pdf
    assert not ws.month_dir("2026-12").exists()
    assert run("2026-10") == 0
    frozen = snapshot(ws.month_dir("2026-10"))
    issued = json.loads((ws.month_dir("2026-10") / "S1.json").read_text())
    assert "draft" not in issued
    # a draft of an issued month: re-rated now, with the adjustments the next issue would carry
    write_feed(ws, "calls", "calls-b-late.csv", [call(f"late{i:02d}", at(29, 8 + i % 10), 150) for i in range(20)])
    assert main(["bill", "2026-10", "--draft", "--no-pdf", "--skip-checks"]) == 0
    assert snapshot(ws.month_dir("2026-10")) == frozen
    redraft = json.loads((ws.specifications / "drafts" / "2026-10" / "S1.json").read_text())
    assert by_code(redraft["adjustments"]) == {"phone.calls.tier3": "36.80", "phone.talk_over_90s": "32.80"}
    assert by_code(redraft["lines"])["phone.calls.tier3"] == "36.80"
    # a draft of the open month carries the pending adjustments; drafting again replaces it
    assert main(["bill", "2026-11", "--draft", "--no-pdf", "--skip-checks"]) == 0
    nov_draft = json.loads((ws.specifications / "drafts" / "2026-11" / "S1.json").read_text())
    assert nov_draft["total"] == "126.57"
    with pytest.raises(FileNotFoundError):
        (ws.specifications / "drafts" / "2026-11" / "S1.pdf").read_bytes()


def test_verify_catches_changes_and_rebuild_restores_the_warehouse(ws, capsys):
    example_1_subscriber(ws)
    assert run("2026-10") == 0
    assert run("2026-11") == 0
    assert main(["verify"]) == 0
    numbers = {m: spec(ws, m, "S1")["spec_number"] for m in ("2026-10", "2026-11")}
    # a lost warehouse: rebuild from the inbox and the issued files
    ws.warehouse.unlink()
    assert main(["verify"]) == 1
    assert main(["rebuild"]) == 0
    assert main(["verify"]) == 0
    assert {m: spec(ws, m, "S1")["spec_number"] for m in ("2026-10", "2026-11")} == numbers
    # after a rebuild, late data still adjusts against the issued lines
    write_feed(ws, "calls", "calls-b-late.csv", [call(f"late{i:02d}", at(29, 8 + i % 10), 150) for i in range(20)])
    monkey_today(ws, "2027-01-02")
    assert run("2026-12") == 0
    assert by_code(spec(ws, "2026-12", "S1")["adjustments"]) == {
        "phone.calls.tier3": "36.80", "phone.talk_over_90s": "32.80"}
    capsys.readouterr()
    path = ws.month_dir("2026-10") / "S1.json"
    data = bytearray(path.read_bytes())
    data[-3] = ord("9") if data[-3] != ord("9") else ord("8")
    path.write_bytes(bytes(data))
    (ws.month_dir("2026-11") / "summary.csv").unlink()
    assert main(["verify"]) == 1
    out = capsys.readouterr().out
    assert "2026-10/S1.json: changed" in out and "2026-11/summary.csv: missing" in out
    assert main(["verify", "2026-12"]) == 0


def test_files_are_written_with_the_process_umask(ws):
    example_1_subscriber(ws)
    old = os.umask(0o022)
    try:
        assert main(["bill", "2026-10", "--skip-checks"]) == 0
    finally:
        os.umask(old)
    for p in ws.month_dir("2026-10").iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o644, p.name


def test_a_month_folder_from_before_manifests_is_adopted_once(ws, capsys):
    example_1_subscriber(ws)
    assert run("2026-10") == 0
    month_dir = ws.month_dir("2026-10")
    (month_dir / "manifest.json").unlink()  # as written by an older ccmeter
    before = snapshot(month_dir)
    assert run("2026-10") == 0
    out = capsys.readouterr().out
    assert "adopted" in out and "was issued at" in out
    after = snapshot(month_dir)
    assert {k: v for k, v in after.items() if k != "manifest.json"} == before
    assert main(["verify", "2026-10"]) == 0


def test_a_commit_interrupted_between_moves_is_rolled_back_and_redone(ws, monkeypatch):
    """The month folder exists (a user's file in it), so the commit moves files in under a
    journal: a crash after some moves leaves files without a manifest; the next run rolls
    them back (the user's file stays) and issues the month as an uninterrupted run."""
    import metering.manifest as manifest
    example_1_subscriber(ws)
    month_dir = ws.month_dir("2026-10")
    month_dir.mkdir(parents=True)
    (month_dir / "notes.csv").write_text("mine\n")
    real_rename = os.rename
    calls = {"n": 0}

    class PowerCut(BaseException):
        pass

    def crashing_rename(src, dst):
        calls["n"] += 1
        if calls["n"] == 3:
            raise PowerCut()
        return real_rename(src, dst)

    monkeypatch.setattr(manifest.os, "rename", crashing_rename)
    with pytest.raises(PowerCut):
        main(["bill", "2026-10", "--skip-checks"])
    monkeypatch.setattr(manifest.os, "rename", real_rename)
    assert not (month_dir / "manifest.json").exists()
    assert len(list(month_dir.iterdir())) == 3  # two moved files and the user's
    assert run("2026-10") == 0
    files = sorted(p.name for p in month_dir.iterdir())
    assert files == ["S1.json", "anomalies-summary.csv", "anomalies.csv", "manifest.json", "notes.csv", "summary.csv",
                     "summary.xlsx"]
    assert (month_dir / "notes.csv").read_text() == "mine\n"
    assert main(["verify", "2026-10"]) == 0
    assert not (ws.specifications / ".staging").exists()


def test_a_users_file_with_a_name_ccmeter_must_write_stops_the_issue(ws, capsys):
    example_1_subscriber(ws)
    month_dir = ws.month_dir("2026-10")
    month_dir.mkdir(parents=True)
    (month_dir / "summary.csv").write_text("finance's summary\n")
    assert run("2026-10") == 1
    assert "did not write" in capsys.readouterr().err
    assert (month_dir / "summary.csv").read_text() == "finance's summary\n"
    assert not (month_dir / "manifest.json").exists() and not (month_dir / "S1.json").exists()


def test_recover_removes_only_ccmeters_temporary_files(ws):
    from metering.manifest import recover
    month_dir = ws.month_dir("2026-09")
    month_dir.mkdir(parents=True)
    ours = [month_dir / ".S1.json.ccmeter-abc.tmp", month_dir / ".S1.pdf.k2j4_9zq.tmp"]
    theirs = [month_dir / ".notes.tmp", month_dir / "draft.tmp", month_dir / ".S1.json.tmp"]
    for p in ours + theirs:
        p.write_text("x")
    (ws.specifications / ".staging" / "2026-09").mkdir(parents=True)
    done = recover(ws)
    assert [p for p in ours if p.exists()] == [] and all(p.exists() for p in theirs)
    assert not (ws.specifications / ".staging").exists() and done



def test_issued_e_invoices_of_adjustments_and_a_credit_note(ws):
    """Worked examples 6 and 7 for subscribers with a peppol_id: November's invoice carries
    October's adjustments with a billing reference; the cancellation is a UBL CreditNote
    with positive amounts; both valid against the UBL 2.1 schema and in the manifest."""
    from pathlib import Path
    from xml.etree import ElementTree as ET

    import xmlschema
    xsd = Path(__file__).resolve().parent / "ubl21" / "maindoc"
    einvoice = {"country": "NL", "street": "Kerkstraat 1", "city": "Utrecht", "postcode": "3511 AA",
                "company_id": "12345678", "peppol_id": "0106:12345678", "buyer_reference": "PO-7"}
    write_feed(ws, "subscribers", "subscribers.csv", [{"subscriber_id": "S1", "name": "Acme", **einvoice},
                                                      {"subscriber_id": "S7", "name": "Seven", **einvoice}])
    write_feed(ws, "subscriptions", "a.csv", [
        {"subscriber_id": "S1", "product": "phone:BASIC", "valid_from": "2026-10-01"},
        {"subscriber_id": "S7", "product": "phone:PLUS", "valid_from": "2026-10-01", "valid_to": "2026-11-01"}])
    write_feed(ws, "calls", "calls-a.csv", [call(f"c{i:03d}", at(1 + i % 28, 9 + i % 10), 60) for i in range(100)])
    assert run("2026-10") == 0
    assert sorted(p.name for p in (ws.month_dir("2026-10") / "ubl").iterdir()) == ["S1.xml", "S7.xml"]
    write_feed(ws, "calls", "calls-b-late.csv", [call(f"late{i:02d}", at(29, 8 + i % 10), 150) for i in range(20)])
    write_feed(ws, "subscriptions", "b-cancel.csv", [{"subscriber_id": "S7", "product": "phone:PLUS",
                                                      "valid_from": "2026-10-01", "valid_to": "2026-10-01"}])
    assert run("2026-11") == 0
    ubl = ws.month_dir("2026-11") / "ubl"
    ns = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
          "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"}
    invoice = ET.parse(ubl / "S1.xml").getroot()
    xmlschema.XMLSchema(str(xsd / "UBL-Invoice-2.1.xsd")).validate(str(ubl / "S1.xml"))
    assert invoice.find("cbc:ID", ns).text == "202611-00001"
    assert invoice.find("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", ns).text == "202610-00001"
    assert invoice.find("cac:LegalMonetaryTotal/cbc:PayableAmount", ns).text == "126.57"
    assert invoice.find("cac:InvoicePeriod/cbc:StartDate", ns).text == "2026-10-01"
    credit = ET.parse(ubl / "S7.xml").getroot()
    xmlschema.XMLSchema(str(xsd / "UBL-CreditNote-2.1.xsd")).validate(str(ubl / "S7.xml"))
    assert credit.tag.endswith("CreditNote") and credit.find("cbc:CreditNoteTypeCode", ns).text == "381"
    assert credit.find("cac:LegalMonetaryTotal/cbc:PayableAmount", ns).text == "73.14"
    assert credit.find("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", ns).text == "202610-00002"
    manifest = json.loads((ws.month_dir("2026-11") / "manifest.json").read_text())
    assert {"ubl/S1.xml", "ubl/S7.xml"} <= {f["name"] for f in manifest["files"]}


def test_an_id_that_cannot_name_a_file_skips_that_subscriber_only(ws):
    """A subscriber loaded before ingestion checked ids (planted in the work database)
    gets no specification and a contract error; everyone else is issued."""
    from metering.db import connect
    example_1_subscriber(ws)
    assert main(["ingest"]) == 0
    long_id = "X" * 300
    con = connect(ws.work_db)
    con.execute("insert into subscribers by name select $id as subscriber_id, 'Long' as name, 'NL' as country, "
                "'planted' as _file, 2 as _line", {"id": long_id})
    con.execute("insert into subscription_versions by name select * replace ($id as subscriber_id) "
                "from subscription_versions limit 1", {"id": long_id})
    con.close()
    assert run("2026-10") == 0
    assert spec(ws, "2026-10", "S1")["spec_number"] == "202610-00001"
    anomalies = (ws.month_dir("2026-10") / "anomalies.csv").read_text()
    assert "cannot name a file" in anomalies


def acme_with_two_calls(ws) -> None:
    """S1 on phone:BASIC all year, two calls in October (three trace rows: two calls, one
    of them over 90 s)."""
    write_feed(ws, "subscribers", "s.csv", [{"subscriber_id": "S1", "name": "Acme", "country": "NL"}])
    write_feed(ws, "subscriptions", "r.csv", [{"subscriber_id": "S1", "product": "phone:BASIC",
                                               "valid_from": "2026-01-01"}])
    write_feed(ws, "calls", "c.csv", [call("C1", at(5), 60), call("C2", at(6), 120)])


def test_a_crash_right_after_the_commit_leaves_the_issued_month_with_its_analytic_tables(ws, monkeypatch):
    """The month's anomalies, ledgers and trace are written before the commit: a crash just
    after it (the warehouse's issued tables not recorded yet) still leaves them, and the
    rerun — which reports the issued month and never rates it again — completes the rest."""
    from metering import issuing
    from metering.db import connect, rows
    acme_with_two_calls(ws)
    real_commit = issuing.commit

    def commit_then_crash(*args, **kwargs):
        real_commit(*args, **kwargs)
        raise KeyboardInterrupt  # the process dies between the commit and the warehouse record

    monkeypatch.setattr(issuing, "commit", commit_then_crash)
    with pytest.raises(KeyboardInterrupt):
        main(["--debug", "bill", "2026-10", "--no-pdf", "--skip-checks"])
    assert (ws.month_dir("2026-10") / "manifest.json").is_file()
    monkeypatch.setattr(issuing, "commit", real_commit)
    assert run("2026-10") == 0  # reported as issued, checks included (line_quantities_traced)
    con = connect(ws.work_db, read_only=True)
    try:
        assert rows(con, "select count(*) from rated_records where month = '2026-10'") == [(3,)]
        assert rows(con, "select count(*) from spec_lines where month = '2026-10'")[0][0] > 0
    finally:
        con.close()


def test_a_failed_staged_check_leaves_no_analytic_rows_of_the_month(ws, monkeypatch, capsys):
    """The analytic tables are written while the PDFs render, before the staged checks; a
    month whose checks fail is not issued, so its anomalies, ledgers and trace go too, and
    the rerun issues it whole."""
    from metering import staging_checks
    from metering.db import connect, rows
    acme_with_two_calls(ws)
    real_check = staging_checks.check_staged

    def failing_check(*args, **kwargs):
        raise staging_checks.IssueError("the staged month failed its checks, nothing was issued: (test)")

    monkeypatch.setattr(staging_checks, "check_staged", failing_check)
    assert run("2026-10") != 0
    assert "failed its checks" in capsys.readouterr().err
    assert not (ws.month_dir("2026-10") / "manifest.json").exists()
    con = connect(ws.work_db, read_only=True)
    try:
        for table in ("rated_records", "anomalies", "contract_errors", "prepaid_ledger"):
            assert rows(con, f"select count(*) from {table} where month = '2026-10'") == [(0,)], table
    finally:
        con.close()
    monkeypatch.setattr(staging_checks, "check_staged", real_check)
    assert run("2026-10") == 0
    con = connect(ws.work_db, read_only=True)
    try:
        assert rows(con, "select count(*) from rated_records where month = '2026-10'") == [(3,)]
    finally:
        con.close()
