"""Renderers of a specification: PDF, JSON, summary CSV/XLSX, anomaly report."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

pypdf = pytest.importorskip("pypdf")

from metering.render.pdf import MAX_ACTIONS, MAX_TEXT, group_digits, pdf_bytes, render_pdf
from metering.render.summary import (
    control_totals,
    write_anomalies,
    write_json,
    write_summary,
)

REPO = Path(__file__).resolve().parents[1]


def _line(code, description, quantity, unit, unit_price, price_unit, amount, rule,
          vat_rate="0.21"):
    return {"code": code, "service": code.split(".", 1)[0], "description": description,
            "quantity": quantity, "unit": unit, "unit_price": unit_price,
            "price_unit": price_unit, "amount": amount, "vat_rate": vat_rate, "rule": rule}


def _finish(spec: dict, rate: str) -> dict:
    """Test data only: fill subtotal, VAT and total from the lines (the renderers never
    compute money; the sample just has to be self-consistent)."""
    sub = sum((Decimal(ln["amount"]) for ln in spec["lines"]), Decimal("0.00"))
    vat = (sub * Decimal(rate)).quantize(Decimal("0.01"))
    spec["subtotal"] = str(sub)
    spec["vat"] = [{"rate": rate, "base": str(sub), "amount": str(vat)}]
    spec["total"] = str(sub + vat)
    return spec


def sample_eur() -> dict:
    lines = [
        _line("phone.plan", "Phone plan PLUS", "1", "month", "245.00", "month", "245.00", "A1"),
        _line("phone.calls.tier1", "Calls 1–50 (BASIC/PLUS)", "50", "call", "3.03", "call",
              "151.50", "A3"),
        _line("phone.calls.tier2", "Calls 51–250", "200", "call", "2.51", "call", "502.00", "A3"),
        _line("phone.calls.tier3", "Calls ≥ 251", "130", "call", "1.99", "call", "258.70", "A3"),
        _line("phone.talk_over_90s", "Talk time beyond 90 s per call", "12345", "second",
              "0.66", "minute", "135.80", "A4"),
        _line("phone.transfer.attempts", "Transfer attempts", "14", "attempt", "0.50",
              "attempt", "7.00", "A5"),
        _line("messaging.plan", "Messaging plan", "1", "month", "99.00", "month", "99.00", "M1"),
        _line("messaging.tier1", "Messages 1–100", "100", "message", "1.10", "message",
              "110.00", "M2"),
        _line("option.weekend", "Weekend opening <b>bold?</b> & more", "1", "month", "45.00",
              "month", "45.00", "O1"),
        _line("option.monthly_specification", "Monthly specification (itemised appendix)",
              "1", "month", "13.23", "month", "13.23", "R3"),
        _line("reports.mail", "Monthly report by e-mail", "1", "month", "33.24", "month",
              "33.24", "R1"),
        _line("training.hours", "Training of agents on 2026-10-14, covering the new scripts "
              "for the autumn campaign, escalation paths and the revised greeting", "90",
              "minute", "33.05", "hour", "49.58", "T1"),
        _line("direct.package", "DIRECT package 15 hours", "1", "month", "593.85", "month",
              "593.85", "D1"),
        _line("interact.early_termination", "Interact early termination (prorated)", "17",
              "day", "1200.00", "month", "680.00", "I9"),
        _line("discount.bundle", "Bundle discount 5 %", "1", "month", "-153.79", "month",
              "-153.79", "B1"),
    ]
    spec = {
        "subscriber_id": "NL-ANS-0001", "name": "Acme <BV> & Co",
        "address": "Keizersgracht 123\n1015 CJ Amsterdam", "vat_id": "NL123456789B01",
        "email": "finance@acme.example", "country": "NL", "period": "2026-10",
        "spec_number": "202610-00001", "issue_date": "2026-11-01", "due_date": "2026-12-01",
        "currency": "EUR", "lines": lines,
        "balances": [{"kind": "service_pack", "purchase_date": "2026-03-01", "unit": "units",
                      "opening": "1200", "credited": "0", "consumed": "35",
                      "forfeited": "0", "closing": "1165"}],
        "aht": {"quarter": "2026-Q3", "interactions": 180, "actual": "251.4", "old": 240,
                "new": 251, "deviation": "0.0475", "decision": "kept"},
        "warnings": [],
        "tasks": [],
        "actions": [{"date": "2026-10-02", "record": "calls/c-000123", "kind": "call",
                     "units": 2, "balance": 1198}],
        "appendix": [{"started_at": f"2026-10-01 09:{i // 60:02d}:{i % 60:02d}",
                      "kind": "call", "id": f"c-{i}", "number": "+316123456***",
                      "duration_s": 60 + i, "code": "phone.calls.tier1"} for i in range(120)],
        "notes": [],
    }
    return _finish(spec, "0.21")


def sample_dkk() -> dict:
    card = "DK-KK-0001/klippekort:10/2026-01-05"
    lines = [
        _line("phone.plan", "Telefonplan BASIC", "1", "month", "1390.00", "month", "1390.00",
              "A1", "0.25"),
        _line("phone.calls.tier1", "Opkald 1–50", "12", "call", "22.60", "call", "271.20",
              "A3", "0.25"),
        _line("klippekort.purchase", "Klippekort 10 klip", "1", "card", "4500.00", "card",
              "4500.00", "K1", "0.25"),
        _line("klippekort.overflow", "Klip beyond the card", "1", "klip", "520.00", "klip",
              "520.00", "K2", "0.25"),
        _line("discount.bundle", "Rabat", "1", "month", "-20.00", "month", "-20.00", "B1",
              "0.25"),
    ]
    spec = {
        "subscriber_id": "DK-KK-0001", "name": "Søren & Ærø ApS", "address": "Åboulevard 1",
        "vat_id": "DK12345678", "email": "", "country": "DK", "period": "2026-10",
        "spec_number": "202610-00002", "issue_date": "2026-11-01", "due_date": "2026-12-01",
        "currency": "DKK", "lines": lines,
        "balances": [{"kind": "klippekort", "card_id": card, "purchase_date": "2026-01-05",
                      "unit": "klip", "opening": "4", "credited": "0", "consumed": "2",
                      "forfeited": "0", "closing": "2"}],
        "aht": None,
        "warnings": [f"Card {card} forfeits 2 klip on 2026-12-15"],
        "tasks": [{"date": "2026-10-03", "consultant": "Mette", "activity": "onsite",
                   "minutes": 75, "hours": "1.75", "klip": 2, "card_id": card,
                   "description": "free text <b>not bold</b>"}],
        "actions": [], "appendix": None, "notes": [],
    }
    return _finish(spec, "0.25")


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(p.extract_text() for p in reader.pages)


# --------------------------------------------------------------------------- PDF
def test_group_digits_keeps_digits():
    assert group_digits("1390.00") == "1,390.00"
    assert group_digits("-1234567.891") == "-1,234,567.891"
    assert group_digits("999") == "999"
    assert group_digits("1000") == "1,000"
    assert group_digits("0.0505") == "0.0505"
    assert group_digits(12345) == "12,345"
    assert group_digits(None) == ""
    assert group_digits("n/a") == "n/a"


def test_pdf_eur_content(tmp_path):
    spec = sample_eur()
    assert spec["total"] == "3351.83"
    path = tmp_path / "NL-ANS-0001.pdf"
    render_pdf(spec, path)
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert reader.metadata.title == "Specification 202610-00001"
    assert reader.metadata.author == "ccmeter"
    text = pdf_text(data)
    for expected in ("Specification", "202610-00001", "2026-10", "2026-11-01", "2026-12-01",
                     "NL123456789B01", "Acme <BV> & Co",  # escaped markup shows literally
                     "Weekend opening <b>bold?</b> & more",
                     "Amount (EUR)", "Phone", "Messaging", "Discount", "DIRECT assistant",
                     "3,351.83", "2,770.11", "VAT 21 % on 2,770.11", "581.72",
                     "1,200.00 / month", "12,345 second", "-153.79", "Calls 1–50",
                     "Prepaid balances", "1,165", "AHT", "4.75 %", "kept",
                     "Service pack movements", "calls/c-000123",
                     "Appendix", "+316123456***", "c-119"):
        assert expected in text, expected
    assert "Warnings" not in text and "Klippekort tasks" not in text  # absent sections


def test_pdf_dkk_variant():
    spec = sample_dkk()
    text = pdf_text(pdf_bytes(spec))
    for expected in ("Amount (DKK)", "Total (DKK)", "VAT 25 % on", group_digits(spec["total"]),
                     "1,390.00", "Søren & Ærø ApS", "Klippekort", "Klippekort tasks",
                     "free text <b>not bold</b>", "Mette", "1.75", "Warnings",
                     "forfeits 2 klip", "DK-KK-0001/klippekort:10/2026-01-05"):
        assert expected in text, expected
    assert "Appendix" not in text and "AHT" not in text


def test_pdf_is_byte_deterministic(tmp_path):
    spec = sample_eur()
    a, b = pdf_bytes(spec), pdf_bytes(spec)
    assert a == b
    # and in another interpreter, with another hash seed, at another time
    render_pdf(spec, tmp_path / "a.pdf")
    code = ("import json,sys;from pathlib import Path;from metering.render.pdf import render_pdf;"
            "render_pdf(json.loads(sys.stdin.read()), Path(sys.argv[1]))")
    time.sleep(1.1)
    env = dict(os.environ, PYTHONHASHSEED="12345", PYTHONPATH=str(REPO))
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "b.pdf")], input=json.dumps(spec),
                   text=True, check=True, env=env, cwd=REPO)
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes() == a


def test_pdf_huge_free_text_is_cut():
    spec = sample_dkk()
    huge = "x" * (10 * 1024 * 1024)
    spec["lines"][0]["description"] = huge
    spec["tasks"][0]["description"] = "word " * (2 * 1024 * 1024)
    spec["tasks"][0]["consultant"] = huge
    spec["name"] = huge
    spec["address"] = "line\n" * 100_000
    spec["warnings"] = [huge]
    spec["lines"][1]["description"] = "W" * 5000  # widest glyph: the row must still fit
    spec["lines"][2]["code"] = "klippekort." + "W" * 500
    spec["balances"][0]["card_id"] = "W" * 5000
    spec["tasks"].append(dict(spec["tasks"][0], card_id="other", description="W" * 5000))
    t0 = time.perf_counter()
    data = pdf_bytes(spec)
    assert time.perf_counter() - t0 < 20
    text = pdf_text(data)
    assert "\u2026" in text
    assert text.count("x") < 6 * MAX_TEXT
    assert group_digits(spec["total"]) in text


def test_pdf_glyphs_and_control_characters():
    spec = sample_eur()
    spec["lines"][0]["description"] = "Ődön 中文 tab\there\x00nul ≥ € – “q”"
    text = pdf_text(pdf_bytes(spec))
    assert "Odön ?? tab here nul ≥ € – “q”" in text


def test_pdf_caps_service_pack_movements():
    spec = sample_eur()
    spec["actions"] = [{"date": "2026-10-02", "record": f"calls/c-{i}", "kind": "call",
                        "units": 1, "balance": 5000 - i} for i in range(MAX_ACTIONS + 700)]
    text = pdf_text(pdf_bytes(spec))
    assert f"calls/c-{MAX_ACTIONS - 1}\n" in text or f"calls/c-{MAX_ACTIONS - 1} " in text
    assert f"calls/c-{MAX_ACTIONS} " not in text
    assert "700 more are not listed" in text


def test_pdf_long_appendix_repeats_header_and_keeps_order():
    spec = sample_eur()
    spec["appendix"] = [dict(spec["appendix"][0], id=f"c-{i:05d}", duration_s=i)
                        for i in range(3000)]
    reader = pypdf.PdfReader(io.BytesIO(pdf_bytes(spec)))
    texts = [p.extract_text() for p in reader.pages]
    appendix_pages = [t for t in texts if "+316123456***" in t]
    assert len(appendix_pages) >= 60
    assert all("Started" in t and "Duration (s)" in t for t in appendix_pages)
    ids = [w for t in appendix_pages for w in t.split() if w.startswith("c-")]
    assert ids == [f"c-{i:05d}" for i in range(3000)]  # all rows, in order, each once


def test_pdf_appendix_with_overlong_cell_wraps():
    spec = sample_eur()
    spec["appendix"][3]["id"] = "interaction-" + "9" * 150
    text = pdf_text(pdf_bytes(spec))
    assert "interaction-999" in text and "c-119" in text


def test_pdf_minimal_spec():
    spec = {"subscriber_id": "S1", "name": None, "period": "2026-10", "spec_number": "1",
            "issue_date": "2026-11-01", "due_date": "2026-12-01", "currency": "EUR",
            "lines": [], "subtotal": "0.00", "vat": [], "total": "0.00", "balances": [],
            "aht": None, "warnings": [], "tasks": [], "actions": [], "appendix": None,
            "notes": []}
    text = pdf_text(pdf_bytes(spec))
    assert "No charges of this period." in text and "Total (EUR)" in text


# --------------------------------------------------------------------------- JSON
def test_write_json(tmp_path):
    spec = sample_dkk()
    path = tmp_path / "DK-KK-0001.json"
    write_json(path, spec)
    raw = path.read_bytes()
    assert raw.endswith(b"}\n")
    assert "Søren & Ærø ApS".encode() in raw  # not \u-escaped
    assert raw.startswith(b'{\n  "subscriber_id": "DK-KK-0001"')
    back = json.loads(raw)
    assert back == spec and list(back) == list(spec)


# --------------------------------------------------------------------------- summary
def _specs():
    eur, dkk = sample_eur(), sample_dkk()
    eur2 = sample_eur()
    eur2.update(spec_number="202610-00000", subscriber_id="NL-ANS-0002",
                name='Quote "Q", comma, and\nnewline')
    return [eur, dkk, eur2]


def test_summary_csv_and_control_totals(tmp_path):
    specs = _specs()
    write_summary(tmp_path, specs, [])
    raw = (tmp_path / "summary.csv").read_bytes()
    assert b"\r\n" not in raw.replace(b'and\r\n', b"")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
    assert rows[0] == ["spec_number", "subscriber_id", "name", "document_type", "currency", "subtotal",
                       "adjustments", "vat", "total", "issue_date", "due_date"]
    assert [r[0] for r in rows[1:]] == ["202610-00000", "202610-00001", "202610-00002"]
    assert rows[1][2] == 'Quote "Q", comma, and\nnewline'
    assert rows[2] == ["202610-00001", "NL-ANS-0001", "Acme <BV> & Co", "specification", "EUR", "2770.11",
                       "0.00", "581.72", "3351.83", "2026-11-01", "2026-12-01"]
    dkk = specs[1]
    assert rows[3][4:9] == ["DKK", dkk["subtotal"], "0.00", dkk["vat"][0]["amount"], dkk["total"]]

    totals = control_totals(specs)
    assert list(totals) == ["DKK", "EUR"]
    assert totals["EUR"] == {"count": 2, "subtotal": Decimal("5540.22"),
                             "vat": Decimal("1163.44"), "total": Decimal("6703.66")}
    assert totals["DKK"]["count"] == 1 and str(totals["DKK"]["total"]) == dkk["total"]


def test_summary_vat_sums_rates(tmp_path):
    spec = sample_eur()
    spec["vat"] = [{"rate": "0.21", "base": "100.00", "amount": "21.00"},
                   {"rate": "0.09", "base": "10.00", "amount": "0.90"}]
    write_summary(tmp_path, [spec], [])
    rows = list(csv.DictReader(io.StringIO((tmp_path / "summary.csv").read_text("utf-8"))))
    assert rows[0]["vat"] == "21.90"


def test_summary_xlsx_sheets_and_determinism(tmp_path):
    specs = _specs()
    errors = [{"subscriber_id": "NL-X-9", "family": "phone", "rule": "G10",
               "message": "=HYPERLINK(\"x\") two plans <overlap>"}]
    write_summary(tmp_path / "a", specs, errors)
    time.sleep(1.1)
    write_summary(tmp_path / "b", list(reversed(specs)), errors)
    a = (tmp_path / "a" / "summary.xlsx").read_bytes()
    assert a == (tmp_path / "b" / "summary.xlsx").read_bytes()
    assert (tmp_path / "a" / "summary.csv").read_bytes() == \
        (tmp_path / "b" / "summary.csv").read_bytes()
    z = zipfile.ZipFile(io.BytesIO(a))
    wb = z.read("xl/workbook.xml").decode()
    for name in ("specifications", "control totals", "contract errors"):
        assert f'name="{name}"' in wb
    assert "2000-01-01T00:00:00Z" in z.read("docProps/core.xml").decode()
    strings = z.read("xl/sharedStrings.xml").decode()
    assert "=HYPERLINK(&quot;x&quot;) two plans &lt;overlap&gt;" in strings or \
        '=HYPERLINK("x") two plans &lt;overlap&gt;' in strings
    sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    assert len(sheets) == 3
    assert "<f>" not in "".join(z.read(n).decode() for n in sheets)  # no formulas
    totals_xml = z.read("xl/worksheets/sheet2.xml").decode()
    assert "<v>6703.66</v>" in totals_xml and "<v>5540.22</v>" in totals_xml
    spec_xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<v>3351.83</v>" in spec_xml


def test_anomalies_csv(tmp_path):
    anomalies = [
        {"kind": "anomaly", "rule": "G9", "subscriber_id": "NL-ANS-0001",
         "record": "calls/c-123", "message": "call without agent, priced as \"unknown\""},
        {"kind": "contract_error", "rule": "G10", "subscriber_id": "NL-X-9", "record": None,
         "message": "two plans, overlapping"},
    ]
    write_anomalies(tmp_path, anomalies)
    raw = (tmp_path / "anomalies.csv").read_text("utf-8")
    assert raw == (
        "kind,rule,subscriber_id,record,message\n"
        'anomaly,G9,NL-ANS-0001,calls/c-123,"call without agent, priced as ""unknown"""\n'
        'contract_error,G10,NL-X-9,,"two plans, overlapping"\n'
    )
    write_anomalies(tmp_path, [])
    assert (tmp_path / "anomalies.csv").read_text("utf-8") == \
        "kind,rule,subscriber_id,record,message\n"


def test_summary_csv_defuses_formula_like_names(tmp_path):
    from metering.render.summary import write_summary
    spec = {"spec_number": "202610-00001", "subscriber_id": "S1", "name": "=HYPERLINK(\"x\")", "currency": "EUR",
            "subtotal": "1.00", "vat": [{"rate": "0.21", "base": "1.00", "amount": "0.21"}], "total": "1.21",
            "issue_date": "2026-11-01", "due_date": "2026-12-01", "lines": []}
    write_summary(tmp_path, [spec], [])
    text = (tmp_path / "summary.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text
