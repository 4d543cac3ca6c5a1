"""Month-level outputs beside the specifications: summary.csv / summary.xlsx, the
anomaly report and the JSON twin of a specification.

Amounts arrive as decimal strings and are summed with Decimal. Only the workbook's
numeric cells get floats (xlsxwriter has no decimal type); the CSV keeps the strings.
Every file is written through `atomic_write` (or the `write` given: a DurableBatch's) and is
byte-identical for the same input.

CSV is RFC 4180: a field holding a comma, a quote, a CR or an LF is quoted (Python's
csv module leaves a bare CR unquoted when the line end is LF, so fields are written
here). Every text cell that a spreadsheet would run as a formula or mangle (starting
with `=`, `+`, `-`, `@`, tab or CR; OWASP "CSV injection") gets a leading apostrophe, in
summary.csv, anomalies.csv and the workbook alike; amounts stay numbers (a negative
amount `-12.50` is not text).
"""
from __future__ import annotations

import io
import json
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import xlsxwriter

from metering.render.files import atomic_write

__all__ = ["SUMMARY_COLUMNS", "ANOMALY_COLUMNS", "ERROR_COLUMNS", "spec_vat",
           "control_totals", "write_summary", "write_anomalies", "write_anomaly_summary", "write_json"]

SUMMARY_COLUMNS = ("spec_number", "subscriber_id", "name", "document_type", "currency", "subtotal",
                   "adjustments", "vat", "total", "issue_date", "due_date")
ANOMALY_COLUMNS = ("kind", "rule", "subscriber_id", "record", "message")
ERROR_COLUMNS = ("subscriber_id", "family", "rule", "message")

_AMOUNTS = ("subtotal", "adjustments", "vat", "total")
_DATES = ("issue_date", "due_date")
_FIXED_CREATED = datetime(2000, 1, 1)  # workbook metadata: same bytes on every run
_XLSX_MAX_STR = 32767  # Excel's cell limit


def _text(value) -> str:
    return "" if value is None else str(value)


def _dec(value) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal("0.00")


def spec_vat(spec: dict) -> Decimal:
    """The specification's VAT: the sum of its per-rate amounts."""
    total = Decimal("0.00")
    for v in spec.get("vat") or []:
        total += _dec(v.get("amount"))
    return total


def _summary_rows(specs: list[dict]) -> list[dict]:
    rows = []
    for s in sorted(specs, key=lambda s: _text(s.get("spec_number"))):
        rows.append({
            "spec_number": _text(s.get("spec_number")),
            "subscriber_id": _text(s.get("subscriber_id")),
            "name": _text(s.get("name")),
            "document_type": _text(s.get("document_type") or "specification"),
            "currency": _text(s.get("currency")),
            "subtotal": _text(s.get("subtotal")),
            "adjustments": str(sum((_dec(a.get("amount")) for a in s.get("adjustments") or []), Decimal("0.00"))),
            "vat": str(spec_vat(s)),
            "total": _text(s.get("total")),
            "issue_date": _text(s.get("issue_date")),
            "due_date": _text(s.get("due_date")),
        })
    return rows


def control_totals(specs: list[dict]) -> dict[str, dict]:
    """Per currency (sorted): count and Decimal sums of subtotal, vat and total."""
    out: dict[str, dict] = {}
    for s in specs:
        cur = _text(s.get("currency"))
        t = out.setdefault(cur, {"count": 0, "subtotal": Decimal("0.00"),
                                 "vat": Decimal("0.00"), "total": Decimal("0.00")})
        t["count"] += 1
        t["subtotal"] += _dec(s.get("subtotal"))
        t["vat"] += spec_vat(s)
        t["total"] += _dec(s.get("total"))
    return {k: out[k] for k in sorted(out)}


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


def guard_text(value) -> str:
    """A text cell a spreadsheet would run as a formula (or whose leading tab / CR it
    would eat) gets a leading apostrophe (OWASP CSV injection)."""
    s = _text(value)
    return "'" + s if s.startswith(_FORMULA_START) else s


def _amount_text(value) -> str:
    """An amount stays a plain decimal (`-12.50` is a number); anything else is text."""
    s = _text(value)
    return s if s == "" or _PLAIN_DECIMAL.fullmatch(s) else guard_text(s)


def _csv_field(value: str) -> str:
    if _NEEDS_QUOTES.search(value):
        return '"' + value.replace('"', '""') + '"'
    return value


def _csv_bytes(header, rows) -> bytes:
    """RFC 4180 with LF line ends: fields with a comma, quote, CR or LF quoted."""
    out = [",".join(_csv_field(h) for h in header)]
    for row in rows:
        out.append(",".join(_csv_field(_text(v)) for v in row))
    return ("\n".join(out) + "\n").encode("utf-8")


# --------------------------------------------------------------------------- workbook
def _xlsx_bytes(rows: list[dict], totals: dict[str, dict], errors: list[dict]) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False,
                                   "strings_to_numbers": False, "strings_to_urls": False})
    wb.set_properties({"title": "Specifications summary", "author": "ccmeter",
                       "company": "", "created": _FIXED_CREATED})
    bold = wb.add_format({"bold": True, "bottom": 1})
    money = wb.add_format({"num_format": "#,##0.00"})
    money_b = wb.add_format({"num_format": "#,##0.00", "bold": True})
    datefmt = wb.add_format({"num_format": "yyyy-mm-dd"})

    def text(ws, r, c, value, fmt=None):
        s = guard_text(value)
        ws.write_string(r, c, s[:_XLSX_MAX_STR], fmt)  # never a formula, URL or number

    def amount(ws, r, c, value, fmt=money):
        if value in (None, ""):
            ws.write_blank(r, c, None, fmt)
            return
        try:
            ws.write_number(r, c, float(Decimal(str(value))), fmt)
        except ArithmeticError:  # not a decimal: keep what was given, as text
            text(ws, r, c, value)

    def day(ws, r, c, value):
        try:
            ws.write_datetime(r, c, date.fromisoformat(_text(value)), datefmt)
        except ValueError:
            text(ws, r, c, value)

    ws = wb.add_worksheet("specifications")
    for c, h in enumerate(SUMMARY_COLUMNS):
        ws.write_string(0, c, h, bold)
    for r, row in enumerate(rows, start=1):
        for c, col in enumerate(SUMMARY_COLUMNS):
            if col in _AMOUNTS:
                amount(ws, r, c, row[col])
            elif col in _DATES:
                day(ws, r, c, row[col])
            else:
                text(ws, r, c, row[col])
    ws.set_column(0, 1, 16)
    ws.set_column(2, 2, 36)
    ws.set_column(3, 3, 13)
    ws.set_column(4, 4, 9)
    ws.set_column(5, 8, 14)
    ws.set_column(9, 10, 12)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(rows), 1), len(SUMMARY_COLUMNS) - 1)

    ws = wb.add_worksheet("control totals")
    for c, h in enumerate(("currency", "count", "subtotal", "vat", "total")):
        ws.write_string(0, c, h, bold)
    for r, (cur, t) in enumerate(totals.items(), start=1):
        text(ws, r, 0, cur)
        ws.write_number(r, 1, t["count"])
        for c, k in enumerate(("subtotal", "vat", "total"), start=2):
            amount(ws, r, c, t[k], money_b if k == "total" else money)
    ws.set_column(0, 1, 10)
    ws.set_column(2, 4, 16)

    ws = wb.add_worksheet("contract errors")
    for c, h in enumerate(ERROR_COLUMNS):
        ws.write_string(0, c, h, bold)
    for r, e in enumerate(errors, start=1):
        for c, col in enumerate(ERROR_COLUMNS):
            text(ws, r, c, e.get(col))
    ws.set_column(0, 2, 16)
    ws.set_column(3, 3, 80)
    ws.freeze_panes(1, 0)

    wb.close()
    return buf.getvalue()


# --------------------------------------------------------------------------- writers
def write_summary(month_dir: Path, specs: list[dict], errors: list[dict], write=atomic_write) -> None:
    """`summary.csv` and `summary.xlsx` in `month_dir`: one row per specification in
    spec_number order; the workbook adds control totals per currency and the contract
    errors."""
    month_dir = Path(month_dir)
    rows = _summary_rows(specs)
    write(month_dir / "summary.csv",
                 _csv_bytes(SUMMARY_COLUMNS, ([_amount_text(r[c]) if c in _AMOUNTS else guard_text(r[c])
                                               for c in SUMMARY_COLUMNS] for r in rows)))
    write(month_dir / "summary.xlsx", _xlsx_bytes(rows, control_totals(specs), errors))


def write_anomalies(month_dir: Path, anomalies: list[dict], write=atomic_write) -> None:
    """`anomalies.csv`: kind, rule, subscriber_id, record, message, in the order given."""
    rows = ([guard_text(a.get(c)) for c in ANOMALY_COLUMNS] for a in anomalies)
    write(Path(month_dir) / "anomalies.csv", _csv_bytes(ANOMALY_COLUMNS, rows))


ANOMALY_SUMMARY_COLUMNS = ("kind", "rule", "subscriber_id", "count", "first_record", "first_message")


def anomaly_summary_rows(anomalies: list[dict]) -> list[dict]:
    """One row per (kind, rule, subscriber): how many, and the first of them; most
    frequent first (ties by kind, rule and subscriber), so a reviewer sees what matters."""
    groups: dict[tuple, dict] = {}
    for a in anomalies:
        key = (_text(a.get("kind")), _text(a.get("rule")), _text(a.get("subscriber_id")))
        g = groups.setdefault(key, {"count": 0, "first_record": _text(a.get("record")),
                                    "first_message": _text(a.get("message"))})
        g["count"] += 1
    return [{"kind": k, "rule": r, "subscriber_id": sid, **g}
            for (k, r, sid), g in sorted(groups.items(), key=lambda kv: (-kv[1]["count"], kv[0]))]


def write_anomaly_summary(month_dir: Path, anomalies: list[dict], write=atomic_write) -> None:
    """`anomalies-summary.csv`: the anomalies counted per kind, rule and subscriber, the
    file a reviewer reads first (anomalies.csv keeps every row)."""
    rows = ([str(r[c]) if c == "count" else guard_text(r[c]) for c in ANOMALY_SUMMARY_COLUMNS]
            for r in anomaly_summary_rows(anomalies))
    write(Path(month_dir) / "anomalies-summary.csv", _csv_bytes(ANOMALY_SUMMARY_COLUMNS, rows))


def _json_default(o):
    if isinstance(o, Decimal):
        return str(o)
    if isinstance(o, (date, datetime)):
        return o.isoformat()
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def write_json(path: Path, spec: dict, write=atomic_write) -> None:
    """The machine twin of a specification: UTF-8, keys in the order given, indent 2,
    trailing newline. Decimals should already be strings; a stray Decimal becomes its
    string (never a float)."""
    text = json.dumps(spec, ensure_ascii=False, indent=2, default=_json_default)
    write(Path(path), (text + "\n").encode("utf-8"))
