"""Independent end-to-end check of the `answering` tariff family against
shared/spec/pricing.md (G1–G10, A1–A8, M1, R1–R2, T1, D1, B1, finer points).

Every test bills a small workspace (subscribers NL, subscription rows, calls /
interactions / work logs as CSV with ISO timestamps with offsets) and asserts amounts
computed by hand from pricing.md; the hand computation is in the comments. October 2026
has 31 days; Europe/Amsterdam leaves summer time on Sunday 25 Oct 2026 (03:00 CEST →
02:00 CET). AHT (M2/M3) has its own file, test_aht.py.
"""
from __future__ import annotations

import json
import os
import random
import re
import tempfile
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers import bill, lines_by_code, write_feed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metering.workspace import Workspace

AMS = ZoneInfo("Europe/Amsterdam")
# examples per property test; CCMETER_EXAMPLES=300 for a long run while changing the rating SQL
EXAMPLES = int(os.environ.get("CCMETER_EXAMPLES", "8"))
UTC = timezone.utc


# --- builders --------------------------------------------------------------------------

def at(day: int, hh: int = 10, mm: int = 0, ss: int = 0, month: int = 10, year: int = 2026) -> datetime:
    """A local Amsterdam wall-clock time (written out with its offset)."""
    return datetime(year, month, day, hh, mm, ss, tzinfo=AMS)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def call(cid, start: datetime, talk: int = 60, *, sub="S1", kind="inbound", answered=True, report="",
         dest="", parent="", number="+31201234567") -> dict:
    """A call leg: answered 5 s after it starts, `talk` seconds of talk (talk_s consistent
    with answered_at → ended_at, as the contract requires)."""
    answered_at = start + timedelta(seconds=5) if answered else None
    ended = (answered_at or start) + timedelta(seconds=talk if answered else 20)
    return {"call_id": cid, "subscriber_id": sub, "call_type": kind, "parent_call_id": parent,
            "started_at": start.isoformat(), "answered_at": answered_at.isoformat() if answered_at else "",
            "ended_at": ended.isoformat(), "talk_s": talk if answered else 0, "caller_number": number,
            "destination_country": dest, "report": report}


def interaction(iid, start: datetime, handle: int = 200, *, sub="S1", channel="email") -> dict:
    return {"interaction_id": iid, "subscriber_id": sub, "channel": channel, "started_at": start.isoformat(),
            "ended_at": (start + timedelta(seconds=handle)).isoformat(), "handle_s": handle, "agent_id": "A1"}


def worklog(wid, start: datetime, minutes: int, activity: str, *, sub="S1") -> dict:
    return {"worklog_id": wid, "subscriber_id": sub, "activity": activity, "started_at": start.isoformat(),
            "minutes": minutes, "km": "", "consultant": "C", "description": ""}


def row(product, valid_from, valid_to=None, params=None, *, sub="S1") -> dict:
    return {"subscriber_id": sub, "product": product, "quantity": "", "valid_from": valid_from,
            "valid_to": valid_to or "", "params": json.dumps(params) if params is not None else ""}


def workspace(root: Path, rows, calls=(), interactions=(), worklogs=(), subscribers=("S1",)) -> Workspace:
    ws = Workspace.from_env(root / "ws").ensure()
    write_feed(ws, "subscribers", "subscribers.csv",
               [{"subscriber_id": s, "name": f"Customer {s}", "country": "NL"} for s in subscribers])
    write_feed(ws, "subscriptions", "subscriptions.csv", list(rows))
    if calls:
        write_feed(ws, "calls", "calls.csv", list(calls))
    if interactions:
        write_feed(ws, "interactions", "interactions.csv", list(interactions))
    if worklogs:
        write_feed(ws, "worklogs", "worklogs.csv", list(worklogs))
    return ws


def spec_of(mb, sid="S1") -> dict:
    found = [s for s in mb.specs if s["subscriber_id"] == sid]
    assert len(found) == 1, f"expected one specification for {sid}, got {len(found)}; errors {mb.errors}"
    return found[0]


def lines(spec) -> list[tuple[str, str, str]]:
    """(code, quantity, amount) of every line, sorted: the whole specification is asserted.
    Quantities compare as numbers ("197.50" and "197.5" are the same quantity)."""
    return sorted((ln["code"], _qty(ln["quantity"]), ln["amount"]) for ln in spec["lines"])


def _qty(text: str) -> str:
    return format(Decimal(text).normalize(), "f")


def money(spec) -> tuple[str, str, str]:
    return spec["subtotal"], spec["vat"][0]["amount"], spec["total"]


def anomalies_of(mb, sid, kind=None) -> list:
    return [a for a in mb.anomalies if a.subscriber_id == sid and (kind is None or a.kind == kind)]


def spread(n: int, first_day: int = 1, per_day: int = 4, start_hour: int = 9, month: int = 10) -> list[datetime]:
    """n local start times inside 07:00–20:00, `per_day` a day from `first_day`, in order."""
    return [at(first_day + i // per_day, start_hour + i % per_day, month=month) for i in range(n)]


# --- worked examples --------------------------------------------------------------------

def example_1_calls(sub="S1") -> list[dict]:
    # 120 calls in BASIC hours: the first 100 of 60 s, the last 20 of 150 s.
    return [call(f"C{i:03d}", t, 60 if i < 100 else 150, sub=sub) for i, t in enumerate(spread(120))]


def test_worked_example_1(tmp_path):
    # phone BASIC all October, 120 calls: 100 × 60 s, 20 × 150 s.
    #   plan 35.00 (31/31 days)
    #   ranks 1–50 at 3.03 = 151.50; 51–100 at 2.52 = 126.00; 101–120 at 1.84 = 36.80
    #   talk above 90 s: 20 × 60 s = 1,200 s × 1.64 / 60 = 32.80
    #   subtotal 382.10; VAT half-up(382.10 × 0.21 = 80.241) = 80.24; total 462.34
    ws = workspace(tmp_path, [row("phone:BASIC", "2026-10-01")], calls=example_1_calls())
    mb = bill(ws, "2026-10")
    spec = spec_of(mb)
    assert lines(spec) == sorted([
        ("phone.plan", "31", "35.00"),
        ("phone.calls.tier1", "50", "151.50"),
        ("phone.calls.tier2", "50", "126.00"),
        ("phone.calls.tier3", "20", "36.80"),
        ("phone.talk_over_90s", "1200", "32.80"),
    ])
    assert money(spec) == ("382.10", "80.24", "462.34")
    assert spec["vat"] == [{"rate": "0.21", "base": "382.10", "amount": "80.24"}]
    assert spec["currency"] == "EUR"
    # G8: issue = first day after the period; due = issue + 30 days (assumption)
    assert (spec["issue_date"], spec["due_date"]) == ("2026-11-01", "2026-12-01")
    assert spec["aht"] is None  # October is not a quarter's last month
    assert mb.errors == [] and mb.anomalies == []


def test_worked_example_2(tmp_path):
    # Example 1 plus messaging SMART all month, aht_s 240, 60 interactions.
    #   messaging plan 162.50; 50 included at 0.00; 10 × 2.66 = 26.60
    #   AHT surcharge: 60 interactions × (240 − 180) s = 3,600 s × 1.64 / 60 = 98.40
    #   bundle discount: 12.5 % × 1 × (35.00 + 162.50) = 24.6875 → −24.69
    #   subtotal 382.10 + 162.50 + 26.60 + 98.40 − 24.69 = 644.91
    #   VAT half-up(644.91 × 0.21 = 135.4311) = 135.43; total 780.34
    ws = workspace(tmp_path, [row("phone:BASIC", "2026-10-01"),
                              row("messaging:SMART", "2026-10-01", params={"aht_s": 240})],
                   calls=example_1_calls(),
                   interactions=[interaction(f"I{i:03d}", t, 240) for i, t in enumerate(spread(60))])
    spec = spec_of(bill(ws, "2026-10"))
    assert lines(spec) == sorted([
        ("phone.plan", "31", "35.00"),
        ("phone.calls.tier1", "50", "151.50"),
        ("phone.calls.tier2", "50", "126.00"),
        ("phone.calls.tier3", "20", "36.80"),
        ("phone.talk_over_90s", "1200", "32.80"),
        ("messaging.plan", "31", "162.50"),
        ("messaging.included", "50", "0.00"),
        ("messaging.over", "10", "26.60"),
        ("messaging.aht", "3600", "98.40"),
        ("discount.bundle", "197.5", "-24.69"),
    ])
    assert money(spec) == ("644.91", "135.43", "780.34")
    assert lines_by_code(spec)["discount.bundle"] == "-24.69"
    # how each line arose: unit price (per-second lines quote the per-minute price) and rule id
    assert {ln["code"]: (ln["unit_price"], ln["price_unit"], ln["rule"]) for ln in spec["lines"]} == {
        "phone.plan": ("35.00", "month", "G4"), "phone.calls.tier1": ("3.03", "call", "A3"),
        "phone.calls.tier2": ("2.52", "call", "A3"), "phone.calls.tier3": ("1.84", "call", "A3"),
        "phone.talk_over_90s": ("1.64", "minute", "A4"), "messaging.plan": ("162.50", "month", "G4"),
        "messaging.included": ("0.00", "interaction", "M1"), "messaging.over": ("2.66", "interaction", "M1"),
        "messaging.aht": ("1.64", "minute", "M2"), "discount.bundle": ("-0.125", "fee", "B1")}


# --- A3 ranks -----------------------------------------------------------------------------

@pytest.mark.parametrize("n, expected", [
    # 50 calls: all rank ≤ 50 → 50 × 3.03 = 151.50
    (50, [("phone.calls.tier1", "50", "151.50")]),
    # 51: rank 51 is the first of tier 2 → + 1 × 2.52
    (51, [("phone.calls.tier1", "50", "151.50"), ("phone.calls.tier2", "1", "2.52")]),
    # 100: ranks 51–100 → 50 × 2.52 = 126.00
    (100, [("phone.calls.tier1", "50", "151.50"), ("phone.calls.tier2", "50", "126.00")]),
    # 101: rank 101 → 1 × 1.84
    (101, [("phone.calls.tier1", "50", "151.50"), ("phone.calls.tier2", "50", "126.00"),
           ("phone.calls.tier3", "1", "1.84")]),
])
def test_call_rank_boundaries_on_basic(tmp_path, n, expected):
    ws = workspace(tmp_path, [row("phone:BASIC", "2026-10-01")],
                   calls=[call(f"C{i:03d}", t) for i, t in enumerate(spread(n))])
    spec = spec_of(bill(ws, "2026-10"))
    assert lines(spec) == sorted([("phone.plan", "31", "35.00")] + expected)


def test_ranking_spans_all_plans_of_the_month_basic_to_plus_on_the_15th(tmp_path):
    # BASIC 1–14 Oct (valid_to 15 Oct exclusive), PLUS from 15 Oct: no overlap, no error.
    # 60 calls on 1–12 Oct (BASIC) rank 1–60; 50 calls on 15–24 Oct (PLUS) rank 61–110:
    #   tier1: ranks 1–50 → 50 × 3.03 = 151.50
    #   tier2: ranks 51–100 (10 BASIC + 40 PLUS) → 50 × 2.52 = 126.00
    #   tier3: ranks 101–110 (PLUS) → 10 × 1.84 = 18.40
    # fees (G4, per row): BASIC 35.00 × 14/31 = 15.806… → 15.81; PLUS 60.45 × 17/31 = 33.15
    basic = [call(f"B{i:03d}", t) for i, t in enumerate(spread(60, first_day=1, per_day=5))]
    plus = [call(f"P{i:03d}", t) for i, t in enumerate(spread(50, first_day=15, per_day=5))]
    ws = workspace(tmp_path, [row("phone:BASIC", "2026-10-01", "2026-10-15"), row("phone:PLUS", "2026-10-15")],
                   calls=basic + plus)
    mb = bill(ws, "2026-10")
    spec = spec_of(mb)
    assert lines(spec) == sorted([
        ("phone.plan", "14", "15.81"),
        ("phone.plan", "17", "33.15"),
        ("phone.calls.tier1", "50", "151.50"),
        ("phone.calls.tier2", "50", "126.00"),
        ("phone.calls.tier3", "10", "18.40"),
    ])
    # subtotal 15.81 + 33.15 + 151.50 + 126.00 + 18.40 = 344.86; VAT 72.4206 → 72.42
    assert money(spec) == ("344.86", "72.42", "417.28")
    assert mb.errors == []


# --- A4 long calls ----------------------------------------------------------------------

def test_talk_time_89_90_91_seconds(tmp_path):
    # One BASIC subscriber per call. A4: Σ max(talk_s − 90, 0) × 1.64 / 60:
    #   89 s → 0, 90 s → 0 (no line); 91 s → 1 s × 1.64 / 60 = 0.02733… → 0.03
    subs = ("S89", "S90", "S91")
    ws = workspace(tmp_path, [row("phone:BASIC", "2026-10-01", sub=s) for s in subs],
                   calls=[call(f"C{s}", at(5), int(s[1:]), sub=s) for s in subs], subscribers=subs)
    mb = bill(ws, "2026-10")
    base = [("phone.plan", "31", "35.00"), ("phone.calls.tier1", "1", "3.03")]
    assert lines(spec_of(mb, "S89")) == sorted(base)
    assert lines(spec_of(mb, "S90")) == sorted(base)
    assert lines(spec_of(mb, "S91")) == sorted(base + [("phone.talk_over_90s", "1", "0.03")])
    assert money(spec_of(mb, "S91")) == ("38.06", "7.99", "46.05")  # 38.06 × 0.21 = 7.9926


# --- plan changes (G4 per row, usage by the plan in force at its local start) ------------

def test_plan_change_on_the_first(tmp_path):
    # BASIC 1–30 Sep (valid_to 1 Oct), PLUS from 1 Oct.
    # 30 Sep 22:30 UTC = 1 Oct 00:30 CEST → October, PLUS (24/7: no anomaly).
    # 30 Sep 17:30 UTC = 30 Sep 19:30 CEST → September, BASIC, inside hours.
    # October: PLUS 60.45 (31/31), no BASIC line; 1 call tier1 3.03
    #   subtotal 63.48; VAT 13.3308 → 13.33; total 76.81
    # September: BASIC 35.00 (30/30); 1 call 3.03; subtotal 38.03; VAT 7.9863 → 7.99
    ws = workspace(tmp_path, [row("phone:BASIC", "2026-09-01", "2026-10-01"), row("phone:PLUS", "2026-10-01")],
                   calls=[call("OCT", utc("2026-09-30T22:30:00Z")), call("SEP", utc("2026-09-30T17:30:00Z"))])
    oct_ = bill(ws, "2026-10")
    assert lines(spec_of(oct_)) == sorted([("phone.plan", "31", "60.45"), ("phone.calls.tier1", "1", "3.03")])
    assert money(spec_of(oct_)) == ("63.48", "13.33", "76.81")
    assert oct_.anomalies == []
    sep = bill(ws, "2026-09")
    assert lines(spec_of(sep)) == sorted([("phone.plan", "30", "35.00"), ("phone.calls.tier1", "1", "3.03")])
    assert money(spec_of(sep)) == ("38.03", "7.99", "46.02")
    assert sep.anomalies == []


def test_plan_change_on_the_15th_rates_each_call_by_its_local_date(tmp_path):
    # BASIC until 14 Oct, PLUS from 15 Oct. 14 Oct 21:00 local is BASIC → A1 anomaly, rated;
    # 14 Oct 22:30 UTC = 15 Oct 00:30 local is PLUS → no anomaly. Both tier1:
    #   fees 15.81 + 33.15; calls 2 × 3.03 = 6.06; subtotal 55.02; VAT 11.5542 → 11.55
    ws = workspace(tmp_path, [row("phone:BASIC", "2026-10-01", "2026-10-15"), row("phone:PLUS", "2026-10-15")],
                   calls=[call("B", at(14, 21)), call("P", utc("2026-10-14T22:30:00Z"))])
    mb = bill(ws, "2026-10")
    assert lines(spec_of(mb)) == sorted([("phone.plan", "14", "15.81"), ("phone.plan", "17", "33.15"),
                                         ("phone.calls.tier1", "2", "6.06")])
    assert money(spec_of(mb)) == ("55.02", "11.55", "66.57")
    assert [(a.kind, a.rule, a.record) for a in mb.anomalies] == [("outside_hours", "A1", "calls/B")]


def test_plan_change_on_the_last_day_basic_to_smart(tmp_path):
    # BASIC 1–30 Oct (valid_to 31 Oct), SMART from 31 Oct (1 day).
    #   BASIC 35.00 × 30/31 = 33.870… → 33.87; SMART 162.50 × 1/31 = 5.2419… → 5.24
    #   SMART allowance floor(75 × 1/31) = 2 (G4)
    # calls: 30 Oct 19:00 local → BASIC rank 1, tier1 3.03
    #        30 Oct 23:30 UTC = 31 Oct 00:30 CET → SMART, included (1st), A1 anomaly (outside 07–20)
    #        31 Oct 10:00, 11:00 local → SMART: included (2nd), then over 1.79
    #   subtotal 33.87 + 5.24 + 3.03 + 0.00 + 1.79 = 43.93; VAT 9.2253 → 9.23; total 53.16
    ws = workspace(tmp_path, [row("phone:BASIC", "2026-10-01", "2026-10-31"), row("phone:SMART", "2026-10-31")],
                   calls=[call("B1", at(30, 19)), call("S1", utc("2026-10-30T23:30:00Z")),
                          call("S2", at(31, 10)), call("S3", at(31, 11))])
    mb = bill(ws, "2026-10")
    assert lines(spec_of(mb)) == sorted([
        ("phone.plan", "30", "33.87"), ("phone.plan", "1", "5.24"),
        ("phone.calls.tier1", "1", "3.03"), ("phone.calls.included", "2", "0.00"),
        ("phone.calls.over", "1", "1.79")])
    assert money(spec_of(mb)) == ("43.93", "9.23", "53.16")
    assert [(a.kind, a.record) for a in mb.anomalies] == [("outside_hours", "calls/S1")]


# --- A2 allowances (G4 proration, pooled rows) ---------------------------------------------

def test_smart_allowance_prorated_from_the_16th(tmp_path):
    # phone SMART from 16 Oct: 16 active days.
    #   fee 162.50 × 16/31 = 83.870… → 83.87; allowance floor(75 × 16/31 = 38.7) = 38
    #   40 calls 16–25 Oct → 38 included, 2 × 1.79 = 3.58
    #   subtotal 87.45; VAT 18.3645 → 18.36; total 105.81
    ws = workspace(tmp_path, [row("phone:SMART", "2026-10-16")],
                   calls=[call(f"C{i:02d}", t) for i, t in enumerate(spread(40, first_day=16))])
    spec = spec_of(bill(ws, "2026-10"))
    assert lines(spec) == sorted([("phone.plan", "16", "83.87"), ("phone.calls.included", "38", "0.00"),
                                  ("phone.calls.over", "2", "3.58")])
    assert money(spec) == ("87.45", "18.36", "105.81")


def test_smart_messaging_allowance_prorated_from_the_16th(tmp_path):
    # messaging SMART from 16 Oct, aht_s 180 (surcharge max(180 − 180, 0) = 0: no line).
    #   fee 83.87; allowance floor(50 × 16/31 = 25.8) = 25; 27 interactions → 2 × 2.66 = 5.32
    #   subtotal 89.19; VAT 18.7299 → 18.73; total 107.92
    ws = workspace(tmp_path, [row("messaging:SMART", "2026-10-16", params={"aht_s": 180})],
                   interactions=[interaction(f"I{i:02d}", t) for i, t in enumerate(spread(27, first_day=16))])
    spec = spec_of(bill(ws, "2026-10"))
    assert lines(spec) == sorted([("messaging.plan", "16", "83.87"), ("messaging.included", "25", "0.00"),
                                  ("messaging.over", "2", "5.32")])
    assert money(spec) == ("89.19", "18.73", "107.92")


def test_allowance_pooled_over_two_rows_with_basic_in_between(tmp_path):
    # SMART 1–10 Oct: floor(75 × 10/31 = 24.19) = 24; BASIC 11–20 Oct; PREMIUM 21–31 Oct:
    # floor(75 × 11/31 = 26.6) = 26 → pool 50, drawn in time order by SMART/PREMIUM calls.
    #   30 SMART calls (1–10 Oct) → all included (the pool, not the row's 24) → 20 left
    #   10 BASIC calls (11–20 Oct) rank 31–40 over the month → tier1 10 × 3.03 = 30.30
    #   25 PREMIUM calls (21–25 Oct) → 20 included, 5 × 1.79 = 8.95
    # fees: SMART 162.50 × 10/31 = 52.419… → 52.42; BASIC 35.00 × 10/31 = 11.290… → 11.29;
    #       PREMIUM 243.00 × 11/31 = 86.225… → 86.23
    #   subtotal 52.42 + 11.29 + 86.23 + 30.30 + 8.95 = 189.19; VAT 39.7299 → 39.73; total 228.92
    calls = ([call(f"S{i:02d}", at(1 + i // 3, 9 + i % 3)) for i in range(30)]
             + [call(f"B{i:02d}", at(11 + i, 12)) for i in range(10)]
             + [call(f"P{i:02d}", at(21 + i // 5, 9 + i % 5)) for i in range(25)])
    ws = workspace(tmp_path, [row("phone:SMART", "2026-10-01", "2026-10-11"),
                              row("phone:BASIC", "2026-10-11", "2026-10-21"),
                              row("phone:PREMIUM", "2026-10-21")], calls=calls)
    spec = spec_of(bill(ws, "2026-10"))
    assert lines(spec) == sorted([
        ("phone.plan", "10", "52.42"), ("phone.plan", "10", "11.29"), ("phone.plan", "11", "86.23"),
        ("phone.calls.included", "50", "0.00"), ("phone.calls.tier1", "10", "30.30"),
        ("phone.calls.over", "5", "8.95")])
    assert money(spec) == ("189.19", "39.73", "228.92")


# --- R1 / R2 reports ----------------------------------------------------------------------

def test_reports_by_mail_and_sms(tmp_path):
    subs = ("MAIL", "UNL", "PART", "SMS", "BNDL")
    rows = [row("phone:BASIC", "2026-10-01", sub=s) for s in subs] + [
        row("option:reports_mail_unlimited", "2026-10-01", sub="UNL"),
        row("option:reports_mail_unlimited", "2026-10-16", sub="PART"),
        row("option:sms_bundle_75", "2026-10-16", sub="BNDL"),
    ]
    calls = (
        # MAIL: 4 answered inbound calls with a mail report → 4 × 0.25 = 1.00; an unanswered
        # inbound leg and a transfer leg with report=mail do not count (finer points, Legs).
        [call(f"M{i}", at(2 + i), report="mail", sub="MAIL") for i in range(4)]
        + [call("M-unanswered", at(8), answered=False, report="mail", sub="MAIL"),
           call("M-transfer", at(9), kind="transfer", parent="M0", report="mail", talk=0, answered=False,
                sub="MAIL")]
        # UNL: unlimited all month → 19.83, 4 mail reports free
        + [call(f"U{i}", at(2 + i), report="mail", sub="UNL") for i in range(4)]
        # PART: unlimited from 16 Oct: 19.83 × 16/31 = 10.234… → 10.23; 2 reports before
        # the 16th at 0.25 = 0.50; 3 on/after the 16th free
        + [call(f"P{i}", at(d), report="mail", sub="PART") for i, d in enumerate((14, 15, 16, 20, 31))]
        # SMS: no bundle → 3 × 0.67 = 2.01
        + [call(f"S{i}", at(2 + i), report="sms", sub="SMS") for i in range(3)]
        # BNDL: 75-bundle from 16 Oct: fee 13.53 × 16/31 = 6.983… → 6.98; size floor(75 × 16/31) = 38
        # 5 SMS before the 16th (no bundle that day) + 40 from the 16th (38 in the bundle, 2 beyond)
        # → 7 × 0.67 = 4.69; 45 calls tier1 → 45 × 3.03 = 136.35
        + [call(f"B{i:02d}", t, report="sms", sub="BNDL") for i, t in enumerate(spread(5, first_day=10))]
        + [call(f"C{i:02d}", t, report="sms", sub="BNDL") for i, t in enumerate(spread(40, first_day=16))]
    )
    mb = bill(workspace(tmp_path, rows, calls=calls, subscribers=subs), "2026-10")
    plan = ("phone.plan", "31", "35.00")
    # MAIL: 35.00 + 12.12 + 1.00 + transfer attempt 1.06 = 49.18 (the transfer leg is an attempt, A5)
    assert lines(spec_of(mb, "MAIL")) == sorted([plan, ("phone.calls.tier1", "4", "12.12"),
                                                 ("reports.mail", "4", "1.00"),
                                                 ("phone.transfer.attempts", "1", "1.06")])
    assert lines(spec_of(mb, "UNL")) == sorted([plan, ("option.reports_mail_unlimited", "31", "19.83"),
                                                ("phone.calls.tier1", "4", "12.12")])
    assert lines(spec_of(mb, "PART")) == sorted([plan, ("option.reports_mail_unlimited", "16", "10.23"),
                                                 ("phone.calls.tier1", "5", "15.15"),
                                                 ("reports.mail", "2", "0.50")])
    assert lines(spec_of(mb, "SMS")) == sorted([plan, ("phone.calls.tier1", "3", "9.09"),
                                                ("reports.sms", "3", "2.01")])
    assert lines(spec_of(mb, "BNDL")) == sorted([plan, ("option.sms_bundle_75", "16", "6.98"),
                                                 ("phone.calls.tier1", "45", "136.35"),
                                                 ("reports.sms", "7", "4.69")])
    # BNDL: subtotal 35.00 + 6.98 + 136.35 + 4.69 = 183.02; VAT 38.4342 → 38.43
    assert money(spec_of(mb, "BNDL")) == ("183.02", "38.43", "221.45")


# --- T1 training, D1 DIRECT -----------------------------------------------------------------

def test_direct_package_exceeded_and_training(tmp_path):
    # D: BASIC all month + direct:package_5h from 16 Oct.
    #   package fee 218.01 × 16/31 = 112.521… → 112.52; package minutes floor(300 × 16/31 = 154.8) = 154
    #   admin 30 min on 10 Oct (no package that day) → 30 min charged
    #   admin 100 min on 16 Oct + 100 min on 20 Oct → 200 in package days, 154 drawn, 46 beyond
    #   direct.hours: 76 min × 49.76 / 60 = 63.029… → 63.03
    #   training 90 min + 7 min = 97 min on ONE line: 97 × 33.05 / 60 = 53.4308… → 53.43
    #   (rounded per log it would be 49.58 + 3.86 = 53.44: G2 rounds the line once)
    #   subtotal 35.00 + 112.52 + 63.03 + 53.43 = 263.98; VAT 55.4358 → 55.44; total 319.42
    # FULL: package_5h all month (300 min), admin exactly 300 min → no direct.hours line.
    #   subtotal 35.00 + 218.01 = 253.01
    subs = ("D", "FULL")
    rows = [row("phone:BASIC", "2026-10-01", sub=s) for s in subs] + [
        row("direct:package_5h", "2026-10-16", sub="D"), row("direct:package_5h", "2026-10-01", sub="FULL")]
    logs = [worklog("W1", at(10), 30, "admin", sub="D"), worklog("W2", at(16), 100, "admin", sub="D"),
            worklog("W3", at(20), 100, "admin", sub="D"), worklog("W4", at(12), 90, "training", sub="D"),
            worklog("W5", at(13), 7, "training", sub="D"),
            worklog("F1", at(3), 200, "admin", sub="FULL"), worklog("F2", at(4), 100, "admin", sub="FULL")]
    mb = bill(workspace(tmp_path, rows, worklogs=logs, subscribers=subs), "2026-10")
    assert lines(spec_of(mb, "D")) == sorted([
        ("phone.plan", "31", "35.00"), ("direct.package", "16", "112.52"),
        ("direct.hours", "76", "63.03"), ("training.hours", "97", "53.43")])
    assert money(spec_of(mb, "D")) == ("263.98", "55.44", "319.42")
    assert lines(spec_of(mb, "FULL")) == sorted([("phone.plan", "31", "35.00"),
                                                 ("direct.package", "31", "218.01")])
    assert mb.anomalies == []


# --- A5–A7 transfers, outbound, foreign -------------------------------------------------------

def test_transfer_and_outbound_legs_with_foreign_destinations(tmp_path):
    # BASIC all month (NL). Inbound I1 60 s (no destination) and I2 60 s from "DE" (an inbound
    # call from abroad costs nothing extra, A7) → tier1 2 × 3.03 = 6.06; no A4 (≤ 90 s).
    # Transfer T1 answered 120 s to "DE" (foreign), T2 unanswered to "de":
    #   attempts 2 × 1.06 = 2.12; talk 120 s × 0.75 / 60 = 1.50 (no A4 on legs)
    # Outbound O1 30 s to "nl" (same country, any case), O2 45 s no destination (empty is not
    # foreign), O3 61 s to "be" (foreign):
    #   attempts 3 × 1.06 = 3.18; talk 136 s × 1.64 / 60 = 3.7173… → 3.72
    # Foreign: (120 + 61) s × 2.37 / 60 = 7.1495 → 7.15
    #   subtotal 35.00 + 6.06 + 2.12 + 1.50 + 3.18 + 3.72 + 7.15 = 58.73; VAT 12.3333 → 12.33
    calls = [call("I1", at(5, 10)), call("I2", at(5, 11), dest="DE"),
             call("T1", at(5, 10, 1), 120, kind="transfer", parent="I1", dest="DE"),
             call("T2", at(5, 11, 1), kind="transfer", parent="I2", dest="de", answered=False),
             call("O1", at(6, 10), 30, kind="outbound", parent="I1", dest="nl"),
             call("O2", at(6, 11), 45, kind="outbound", parent="I1"),
             call("O3", at(6, 12), 61, kind="outbound", parent="I2", dest="be")]
    mb = bill(workspace(tmp_path, [row("phone:BASIC", "2026-10-01")], calls=calls), "2026-10")
    spec = spec_of(mb)
    assert lines(spec) == sorted([
        ("phone.plan", "31", "35.00"), ("phone.calls.tier1", "2", "6.06"),
        ("phone.transfer.attempts", "2", "2.12"), ("phone.transfer.talk", "120", "1.50"),
        ("phone.outbound.attempts", "3", "3.18"), ("phone.outbound.talk", "136", "3.72"),
        ("phone.foreign", "181", "7.15")])
    assert money(spec) == ("58.73", "12.33", "71.06")
    assert mb.anomalies == []


# --- B1 bundle discount ---------------------------------------------------------------------

def test_bundle_discount_one_and_two_services(tmp_path):
    # ONE: phone BASIC + voice response, no messaging → no discount line.
    #   35.00 + 37.07 = 72.07; VAT 15.1347 → 15.13; total 87.20
    # TWO: phone BASIC on 1 Oct only (35.00/31 = 1.129 → 1.13), phone SMART from 2 Oct
    #   (162.50 × 30/31 = 157.258… → 157.26), messaging PLUS from 25 Oct (60.45 × 7/31 = 13.65),
    #   voice response all month 37.07 (an option: not discounted).
    #   B1 from the rounded plan fee lines: 12.5 % × (1.13 + 157.26 + 13.65 = 172.04) = 21.505
    #   → −21.51 (from the exact fees 172.037… it would be −21.50).
    #   subtotal 1.13 + 157.26 + 13.65 + 37.07 − 21.51 = 187.60; VAT 39.396 → 39.40; total 227.00
    subs = ("ONE", "TWO")
    rows = [row("phone:BASIC", "2026-10-01", sub="ONE"), row("option:voice_response", "2026-10-01", sub="ONE"),
            row("phone:BASIC", "2026-10-01", "2026-10-02", sub="TWO"), row("phone:SMART", "2026-10-02", sub="TWO"),
            row("messaging:PLUS", "2026-10-25", params={"aht_s": 180}, sub="TWO"),
            row("option:voice_response", "2026-10-01", sub="TWO")]
    mb = bill(workspace(tmp_path, rows, subscribers=subs), "2026-10")
    assert lines(spec_of(mb, "ONE")) == sorted([("phone.plan", "31", "35.00"),
                                                ("option.voice_response", "31", "37.07")])
    assert money(spec_of(mb, "ONE")) == ("72.07", "15.13", "87.20")
    assert lines(spec_of(mb, "TWO")) == sorted([
        ("phone.plan", "1", "1.13"), ("phone.plan", "30", "157.26"), ("messaging.plan", "7", "13.65"),
        ("option.voice_response", "31", "37.07"), ("discount.bundle", "172.04", "-21.51")])
    assert money(spec_of(mb, "TWO")) == ("187.60", "39.40", "227.00")


# --- A1 hours ---------------------------------------------------------------------------------

def test_reachable_hours_are_half_open_and_outside_usage_is_rated(tmp_path):
    # BASIC calls at 06:59:00 and 20:00:00 → A1 anomalies; 07:00:00 and 19:59:59 inside.
    # All four rated: tier1 4 × 3.03 = 12.12. A BASIC messaging interaction at 21:00 → anomaly too.
    # PLUS (24/7) call at 03:00 → no anomaly.
    #   H: 35.00 + 12.12 + messaging BASIC 35.00 + 1 × 3.30 − B1 12.5 % × 70.00 = 8.75 → 76.67
    subs = ("H", "P")
    rows = [row("phone:BASIC", "2026-10-01", sub="H"),
            row("messaging:BASIC", "2026-10-01", params={"aht_s": 100}, sub="H"),
            row("phone:PLUS", "2026-10-01", sub="P")]
    calls = [call("h0659", at(7, 6, 59), sub="H"), call("h0700", at(7, 7, 0, 0), sub="H"),
             call("h1959", at(7, 19, 59, 59), sub="H"), call("h2000", at(7, 20, 0, 0), sub="H"),
             call("p0300", at(7, 3), sub="P")]
    mb = bill(workspace(tmp_path, rows, calls=calls, interactions=[interaction("i2100", at(8, 21), sub="H")],
                        subscribers=subs), "2026-10")
    assert sorted((a.kind, a.rule, a.record) for a in anomalies_of(mb, "H")) == [
        ("outside_hours", "A1", "calls/h0659"), ("outside_hours", "A1", "calls/h2000"),
        ("outside_hours", "A1", "interactions/i2100")]
    assert anomalies_of(mb, "P") == []
    assert lines(spec_of(mb, "H")) == sorted([
        ("phone.plan", "31", "35.00"), ("phone.calls.tier1", "4", "12.12"),
        ("messaging.plan", "31", "35.00"), ("messaging.tier1", "1", "3.30"),
        ("discount.bundle", "70", "-8.75")])
    assert spec_of(mb, "H")["subtotal"] == "76.67"
    assert lines(spec_of(mb, "P")) == sorted([("phone.plan", "31", "60.45"), ("phone.calls.tier1", "1", "3.03")])


# --- G3 local time across the DST change --------------------------------------------------------

def test_month_across_the_dst_change(tmp_path):
    # BASIC open-ended. 25 Oct 2026 02:30 local happens twice: 00:30Z (+02:00) and 01:30Z (+01:00);
    # both are 25 Oct local, outside 07–20 → two A1 anomalies, both rated.
    # 25 Oct 18:30Z = 19:30 CET → inside (it would be 20:30 if read in summer time).
    # 24 Oct 18:30Z = 20:30 CEST → outside.
    # 31 Oct 23:30Z = 1 Nov 00:30 CET → November (and outside hours there).
    # October: 4 calls tier1 12.12 + 35.00 = 47.12; VAT 9.8952 → 9.90
    # November: 1 call 3.03 + 35.00 = 38.03
    calls = [call("dst-a", datetime(2026, 10, 25, 2, 30, tzinfo=timezone(timedelta(hours=2)))),
             call("dst-b", datetime(2026, 10, 25, 2, 30, tzinfo=timezone(timedelta(hours=1)))),
             call("in", utc("2026-10-25T18:30:00Z")), call("out", utc("2026-10-24T18:30:00Z")),
             call("nov", utc("2026-10-31T23:30:00Z"))]
    ws = workspace(tmp_path, [row("phone:BASIC", "2026-10-01")], calls=calls)
    oct_ = bill(ws, "2026-10")
    assert lines(spec_of(oct_)) == sorted([("phone.plan", "31", "35.00"), ("phone.calls.tier1", "4", "12.12")])
    assert money(spec_of(oct_)) == ("47.12", "9.90", "57.02")
    assert sorted(a.record for a in oct_.anomalies) == ["calls/dst-a", "calls/dst-b", "calls/out"]
    assert {a.kind for a in oct_.anomalies} == {"outside_hours"}
    nov = bill(ws, "2026-11")
    assert lines(spec_of(nov)) == sorted([("phone.plan", "30", "35.00"), ("phone.calls.tier1", "1", "3.03")])
    assert [a.record for a in nov.anomalies] == ["calls/nov"]


# --- G10 contract errors, G9 unrated usage ----------------------------------------------------------

def test_contract_errors_reject_only_that_subscriber(tmp_path):
    # TWOPHONE: BASIC from 1 Oct open-ended and PLUS from 15 Oct → two phone rows on 15–31 Oct.
    # NOAHT: first messaging row without aht_s.
    # LATEAHT: first messaging row (Sep) without aht_s, a later one with it → still an error
    #   (M3: the first row states it; a later row's aht_s is ignored).
    # OK: billed normally (35.00).
    subs = ("LATEAHT", "NOAHT", "OK", "TWOPHONE")
    rows = [row("phone:BASIC", "2026-10-01", sub="TWOPHONE"), row("phone:PLUS", "2026-10-15", sub="TWOPHONE"),
            row("messaging:BASIC", "2026-10-01", sub="NOAHT"),
            row("messaging:BASIC", "2026-09-01", "2026-10-10", sub="LATEAHT"),
            row("messaging:PLUS", "2026-10-10", params={"aht_s": 200}, sub="LATEAHT"),
            row("phone:BASIC", "2026-10-01", sub="OK")]
    calls = [call("T1", at(20), sub="TWOPHONE"), call("K1", at(20), sub="OK")]
    mb = bill(workspace(tmp_path, rows, calls=calls, interactions=[interaction("N1", at(3), sub="NOAHT")],
                        subscribers=subs), "2026-10")
    assert [s["subscriber_id"] for s in mb.specs] == ["OK"]
    assert lines(spec_of(mb, "OK")) == sorted([("phone.plan", "31", "35.00"), ("phone.calls.tier1", "1", "3.03")])
    assert spec_of(mb, "OK")["spec_number"] == "202610-00001"
    by_sub = {}
    for e in mb.errors:
        by_sub.setdefault(e.subscriber_id, []).append(e.rule)
    assert set(by_sub) == {"TWOPHONE", "NOAHT", "LATEAHT"}
    assert "G10" in by_sub["TWOPHONE"] and "phone" in next(e.message for e in mb.errors
                                                          if e.subscriber_id == "TWOPHONE")
    assert any("aht_s" in e.message for e in mb.errors if e.subscriber_id == "NOAHT")
    assert any("aht_s" in e.message for e in mb.errors if e.subscriber_id == "LATEAHT")
    for sid in by_sub:  # every contract error is in the anomaly report too
        assert anomalies_of(mb, sid, "contract_error")


def test_missing_aht_s_rejects_the_months_with_messaging_not_a_later_phone_only_month(tmp_path):
    # Reading (pricing.md G10 + finer points "judged per month", like L4/I2 which are judged on
    # the rows/days of the month): the first messaging row's missing aht_s rejects the months in
    # which a messaging row is active. CALL and QUIET have the same contract — messaging BASIC in
    # September without aht_s, phone BASIC from October; CALL makes one call in October.
    # September: both rejected. October (phone only): both billed — a call must not decide it.
    subs = ("CALL", "QUIET")
    rows = [r for s in subs for r in (row("messaging:BASIC", "2026-09-01", "2026-10-01", sub=s),
                                      row("phone:BASIC", "2026-10-01", sub=s))]
    ws = workspace(tmp_path, rows, calls=[call("c1", at(5), sub="CALL")], subscribers=subs)
    sep = bill(ws, "2026-09")
    assert sep.specs == [] and sorted((e.subscriber_id, e.rule) for e in sep.errors) == [
        ("CALL", "M3"), ("QUIET", "M3")]
    oct_ = bill(ws, "2026-10")
    assert oct_.errors == []
    assert lines(spec_of(oct_, "CALL")) == sorted([("phone.plan", "31", "35.00"), ("phone.calls.tier1", "1", "3.03")])
    assert lines(spec_of(oct_, "QUIET")) == [("phone.plan", "31", "35.00")]


def test_two_messaging_rows_on_the_same_day_is_a_contract_error(tmp_path):
    rows = [row("messaging:BASIC", "2026-10-01", "2026-10-20", params={"aht_s": 200}),
            row("messaging:PLUS", "2026-10-19", params={"aht_s": 200})]
    mb = bill(workspace(tmp_path, rows), "2026-10")
    assert mb.specs == []
    assert [(e.subscriber_id, e.rule) for e in mb.errors] == [("S1", "G10")]
    assert "messaging" in mb.errors[0].message


def test_call_without_phone_plan_or_pack_is_an_anomaly_not_billed(tmp_path):
    # MSG: messaging PLUS only (aht_s 180) → an answered inbound call is not rated: anomaly.
    # ENDS: phone BASIC until 14 Oct: a call on 20 Oct and a transfer leg on 20 Oct are
    #   anomalies (not ranked, not billed); an unanswered inbound leg on 20 Oct is not usage
    #   (no charge, no anomaly); the call on 10 Oct is rank 1.
    #   ENDS fee 35.00 × 14/31 = 15.806… → 15.81; 1 × 3.03
    subs = ("ENDS", "MSG")
    rows = [row("messaging:PLUS", "2026-10-01", params={"aht_s": 180}, sub="MSG"),
            row("phone:BASIC", "2026-10-01", "2026-10-15", sub="ENDS")]
    calls = [call("m1", at(5), sub="MSG"),
             call("e0", at(10), sub="ENDS"), call("e1", at(20), sub="ENDS"),
             call("e2", at(20, 10, 1), kind="transfer", parent="e1", sub="ENDS"),
             call("e3", at(20, 11), answered=False, sub="ENDS")]
    mb = bill(workspace(tmp_path, rows, calls=calls, subscribers=subs), "2026-10")
    assert lines(spec_of(mb, "MSG")) == [("messaging.plan", "31", "60.45")]
    assert lines(spec_of(mb, "ENDS")) == sorted([("phone.plan", "14", "15.81"), ("phone.calls.tier1", "1", "3.03")])
    assert sorted((a.kind, a.subscriber_id, a.record) for a in mb.anomalies) == [
        ("no_phone_plan", "ENDS", "calls/e2"), ("no_subscription", "ENDS", "calls/e1"),
        ("no_subscription", "MSG", "calls/m1")]
    assert mb.errors == []


# --- properties (G1, G2, G6) ---------------------------------------------------------------------

AMOUNT = re.compile(r"-?[0-9]+\.[0-9]{2}")
PLANS = ("BASIC", "SMART", "PLUS", "PREMIUM")


def _no_float(obj, path="spec"):
    assert not isinstance(obj, float), f"float at {path}"
    if isinstance(obj, dict):
        for k, v in obj.items():
            _no_float(v, f"{path}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _no_float(v, f"{path}[{i}]")


def check_spec_arithmetic(spec: dict) -> None:
    for key in ("subtotal", "total"):
        assert isinstance(spec[key], str) and AMOUNT.fullmatch(spec[key]), (key, spec[key])
    for v in spec["vat"]:
        assert AMOUNT.fullmatch(v["amount"]) and AMOUNT.fullmatch(v["base"])
    amounts = []
    for ln in spec["lines"]:
        assert isinstance(ln["amount"], str) and AMOUNT.fullmatch(ln["amount"]), ln
        d = Decimal(ln["amount"])
        assert d.as_tuple().exponent == -2
        if ln["code"] == "discount.bundle":
            assert d <= 0
        else:
            assert d >= 0, ln
        amounts.append(d)
    subtotal = Decimal(spec["subtotal"])
    vat = sum((Decimal(v["amount"]) for v in spec["vat"]), Decimal("0"))
    assert subtotal == sum(amounts, Decimal("0.00"))
    assert Decimal(spec["total"]) == subtotal + vat
    for v in spec["vat"]:  # G2: VAT per rate = half-up(base × rate)
        exact = Decimal(v["base"]) * Decimal(v["rate"])
        assert Decimal(v["amount"]) == exact.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    _no_float(spec)


@st.composite
def scenarios(draw):
    """A subscriber with one or two phone rows (and maybe messaging and options) and up to
    25 call legs / 10 interactions at random October instants (UTC, so DST and the month
    edges are crossed)."""
    rows = []
    split = draw(st.integers(1, 31))
    p1, p2 = draw(st.sampled_from(PLANS)), draw(st.sampled_from(PLANS))
    if split == 1:
        rows.append(row(f"phone:{p1}", "2026-10-01"))
    else:
        rows.append(row(f"phone:{p1}", "2026-10-01", f"2026-10-{split:02d}"))
        rows.append(row(f"phone:{p2}", f"2026-10-{split:02d}"))
    if draw(st.booleans()):
        rows.append(row(f"messaging:{draw(st.sampled_from(PLANS))}", f"2026-10-{draw(st.integers(1, 31)):02d}",
                        params={"aht_s": draw(st.integers(100, 400))}))
    for opt in ("option:reports_mail_unlimited", "option:sms_bundle_75", "direct:package_5h"):
        if draw(st.booleans()):
            rows.append(row(opt, f"2026-10-{draw(st.integers(1, 31)):02d}"))
    base = datetime(2026, 9, 30, 22, 0, tzinfo=UTC)  # = 1 Oct 00:00 CEST
    span = 31 * 86400 + 3600
    calls = []
    for i in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(("inbound", "inbound", "inbound", "transfer", "outbound")))
        start = base + timedelta(seconds=draw(st.integers(0, span - 1)))
        calls.append(call(f"C{i:02d}", start, draw(st.integers(0, 400)), kind=kind,
                          answered=draw(st.booleans()),
                          report=draw(st.sampled_from(("", "mail", "sms"))),
                          dest=draw(st.sampled_from(("", "NL", "de", "BE")))))
    interactions = [interaction(f"I{i:02d}", base + timedelta(seconds=draw(st.integers(0, span - 1))),
                                draw(st.integers(0, 900))) for i in range(draw(st.integers(0, 10)))]
    logs = [worklog(f"W{i}", base + timedelta(seconds=draw(st.integers(0, span - 1))), draw(st.integers(1, 200)),
                    draw(st.sampled_from(("admin", "training")))) for i in range(draw(st.integers(0, 4)))]
    return rows, calls, interactions, logs


def _split_workspace(root: Path, rows, calls, interactions, logs, rnd: random.Random) -> Workspace:
    """The same records over several inbox files with random names (so a random load order),
    some records repeated in two files (the same record twice is one record)."""
    ws = workspace(root, rows)
    for feed, records in (("calls", calls), ("interactions", interactions), ("worklogs", logs)):
        records = list(records)
        rnd.shuffle(records)
        n_files = rnd.randint(1, 4)
        parts = [[] for _ in range(n_files)]
        for r in records:
            parts[rnd.randrange(n_files)].append(r)
        if records and rnd.random() < 0.5:
            parts[rnd.randrange(n_files)].append(rnd.choice(records))  # a duplicate
        for part in parts:
            if part:
                write_feed(ws, feed, f"{rnd.getrandbits(32):08x}.csv", part)
    return ws


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(scenarios(), st.randoms(use_true_random=False))
def test_properties_totals_exact_and_independent_of_file_split(scenario, rnd):
    rows, calls, interactions, logs = scenario
    with tempfile.TemporaryDirectory() as d1, tempfile.TemporaryDirectory() as d2:
        one = bill(workspace(Path(d1), rows, calls, interactions, logs), "2026-10")
        many = bill(_split_workspace(Path(d2), rows, calls, interactions, logs, rnd), "2026-10")
    assert one.errors == []
    for spec in one.specs:
        check_spec_arithmetic(spec)
    for ls in one.lines.values():
        for ln in ls:
            assert isinstance(ln.exact, Fraction) and isinstance(ln.amount, Decimal)
    assert one.specs == many.specs
    assert sorted(map(repr, one.anomalies)) == sorted(map(repr, many.anomalies))


# --- an independent reference model (pricing.md read directly, no code shared) ------------------

FEES = {"BASIC": Fraction("35.00"), "SMART": Fraction("162.50"), "PLUS": Fraction("60.45"),
        "PREMIUM": Fraction("243.00")}
OPTION_FEES = {"option:reports_mail_unlimited": Fraction("19.83"), "option:sms_bundle_75": Fraction("13.53"),
               "option:voice_response": Fraction("37.07"), "direct:package_5h": Fraction("218.01")}
TIERS = {"phone": ("3.03", "2.52", "1.84"), "messaging": ("3.30", "3.03", "2.78")}
OVER = {"phone": "1.79", "messaging": "2.66"}


def _cents(x: Fraction) -> Decimal:
    mag = (Decimal(abs(x).numerator) / Decimal(abs(x).denominator)).quantize(Decimal("0.01"), "ROUND_HALF_UP")
    return -mag if x < 0 else mag


def reference_october(rows, calls, interactions, logs) -> tuple[dict[str, Decimal], set]:
    """Amount per line code and the anomalies (kind, record id) for one NL subscriber in
    October 2026, straight from pricing.md (G2, G4, A1–A7, M1–M2, R1–R2, T1, D1, B1)."""
    first, end, far = datetime(2026, 10, 1).date(), datetime(2026, 11, 1).date(), datetime(9999, 1, 1).date()
    contract = [(r["product"], datetime.fromisoformat(r["valid_from"]).date(),
                 datetime.fromisoformat(r["valid_to"]).date() if r["valid_to"] else far,
                 json.loads(r["params"] or "{}")) for r in rows]

    def days(vf, vt):
        return max(0, (min(vt, end) - max(vf, first)).days)

    def in_force(prefix, day):
        return [p for p, vf, vt, _ in contract if p.startswith(prefix) and vf <= day < vt]

    out: dict[str, Decimal] = {}
    exact: dict[str, Fraction] = {}

    def put(code, amount: Decimal):
        out[code] = out.get(code, Decimal("0.00")) + amount

    def add(code, q, price, per=1):
        exact[code] = exact.get(code, Fraction(0)) + Fraction(q) * Fraction(price) / per

    plan_lines, pools, services = [], {"phone": 0, "messaging": 0, "sms": 0, "direct": 0}, set()
    for product, vf, vt, _ in contract:   # G4: each row's fee and allowance prorated on its own
        n = days(vf, vt)
        group, item = product.split(":")
        if not n:
            continue
        if group in ("phone", "messaging"):
            services.add(group)
            plan_lines.append(_cents(FEES[item] * n / 31))
            put(f"{group}.plan", plan_lines[-1])
            if item in ("SMART", "PREMIUM"):
                pools[group] += (75 if group == "phone" else 50) * n // 31
        else:
            put("direct.package" if group == "direct" else f"option.{item}", _cents(OPTION_FEES[product] * n / 31))
            pools["sms"] += 75 * n // 31 if item == "sms_bundle_75" else 0
            pools["direct"] += 300 * n // 31 if group == "direct" else 0
    anomalies, used, rank = set(), {"phone": 0, "messaging": 0, "sms": 0, "direct": 0}, {"phone": 0, "messaging": 0}
    messaging_rows = sorted((vf, p, params) for p, vf, _, params in contract if p.startswith("messaging:"))
    aht_pre = messaging_rows[0][2]["aht_s"] if messaging_rows else 0

    def item_charge(service, plan):
        rank[service] += 1
        if plan in ("SMART", "PREMIUM"):
            if used[service] < pools[service]:
                used[service] += 1
                add(f"{'phone.calls' if service == 'phone' else 'messaging'}.included", 1, 0)
            else:
                add(f"{'phone.calls' if service == 'phone' else 'messaging'}.over", 1, OVER[service])
        else:
            tier = 1 if rank[service] <= 50 else 2 if rank[service] <= 100 else 3
            add(f"{'phone.calls' if service == 'phone' else 'messaging'}.tier{tier}", 1, TIERS[service][tier - 1])

    records = ([("phone", c["started_at"], c["call_id"], c) for c in calls]
               + [("messaging", i["started_at"], i["interaction_id"], i) for i in interactions]
               + [("work", w["started_at"], w["worklog_id"], w) for w in logs])
    for service, started, rid, rec in sorted(records, key=lambda r: (datetime.fromisoformat(r[1]), r[2])):
        local = datetime.fromisoformat(started).astimezone(AMS)
        day = local.date()
        if not first <= day < end or service == "phone" and rec["call_type"] == "inbound" and not rec["answered_at"]:
            continue
        plans = in_force(f"{service}:", day) if service != "work" else in_force("", day)
        if not plans:
            anomalies.add(("unrated", rid))
            continue
        plan = plans[0].split(":")[1]
        if plan in ("BASIC", "SMART") and service != "work" and not 7 * 3600 <= (
                local.hour * 3600 + local.minute * 60 + local.second) < 20 * 3600:
            anomalies.add(("outside_hours", rid))
        if service == "phone":
            talk, kind = int(rec["talk_s"]), rec["call_type"]
            if kind == "inbound":
                item_charge("phone", plan)
                if talk > 90:
                    add("phone.talk_over_90s", talk - 90, "1.64", 60)
                if rec["report"] == "mail" and not in_force("option:reports_mail_unlimited", day):
                    add("reports.mail", 1, "0.25")
                if rec["report"] == "sms":
                    if in_force("option:sms_bundle", day) and used["sms"] < pools["sms"]:
                        used["sms"] += 1
                    else:
                        add("reports.sms", 1, "0.67")
            else:
                add(f"phone.{kind}.attempts", 1, "1.06")
                if talk:
                    add(f"phone.{kind}.talk", talk, "0.75" if kind == "transfer" else "1.64", 60)
                if talk and rec["destination_country"] and rec["destination_country"].upper() != "NL":
                    add("phone.foreign", talk, "2.37", 60)
        elif service == "messaging":
            item_charge("messaging", plan)
            if aht_pre > 180:
                add("messaging.aht", aht_pre - 180, "1.64", 60)
        elif rec["activity"] == "training":
            add("training.hours", rec["minutes"], "33.05", 60)
        else:
            minutes = rec["minutes"]
            if in_force("direct:", day):
                take = min(minutes, pools["direct"] - used["direct"])
                used["direct"] += take
                minutes -= take
            if minutes:
                add("direct.hours", minutes, "49.76", 60)
    for code, value in exact.items():
        put(code, _cents(value))
    if len(services) == 2:
        put("discount.bundle", _cents(-Fraction(1, 8) * Fraction(sum(plan_lines))))
    return out, anomalies


@st.composite
def dense_scenarios(draw):
    """Up to three phone rows (with gaps), messaging with a plan change, options on random
    spans, up to 160 legs (tiers 1–3), 70 interactions, work logs; instants from 30 Sep 20:00
    UTC to 1 Nov 00:00 UTC (outside October local time at both ends)."""
    rows = []
    bounds = [1] + sorted(set(draw(st.lists(st.integers(2, 31), max_size=3)))) + [32]
    for lo, hi in zip(bounds, bounds[1:]):
        if draw(st.integers(0, 4)):
            rows.append(row(f"phone:{draw(st.sampled_from(PLANS))}", f"2026-10-{lo:02d}",
                            None if hi == 32 else f"2026-10-{hi:02d}"))
    if draw(st.booleans()):
        cut = draw(st.integers(1, 31))
        first_to = f"2026-10-{cut:02d}" if cut > 1 else None
        rows.append(row(f"messaging:{draw(st.sampled_from(PLANS))}", "2026-10-01", first_to,
                        params={"aht_s": draw(st.integers(150, 400))}))
        if first_to:  # a later row's aht_s is ignored (M3)
            rows.append(row(f"messaging:{draw(st.sampled_from(PLANS))}", first_to, params={"aht_s": 999}))
    for product in OPTION_FEES:
        if draw(st.booleans()):
            lo = draw(st.integers(1, 31))
            hi = draw(st.integers(lo + 1, 32))
            rows.append(row(product, f"2026-10-{lo:02d}", None if hi == 32 else f"2026-10-{hi:02d}"))
    base, span = datetime(2026, 9, 30, 20, 0, tzinfo=UTC), 31 * 86400 + 4 * 3600
    n = draw(st.integers(0, 160))
    calls = [call(f"C{i:03d}", base + timedelta(seconds=off), talk, answered=k != 2,
                  kind="transfer" if k == 0 else "outbound" if k == 1 else "inbound",
                  report=("", "mail", "sms")[k % 3], dest=("", "NL", "de", "Be", "nl")[k % 5])
             for i, (off, talk, k) in enumerate(draw(st.lists(
                 st.tuples(st.integers(0, span - 1), st.integers(0, 200), st.integers(0, 9)), min_size=n, max_size=n)))]
    interactions = [interaction(f"I{i:03d}", base + timedelta(seconds=off), 100 + i)
                    for i, off in enumerate(draw(st.lists(st.integers(0, span - 1), max_size=70)))]
    logs = [worklog(f"W{i}", base + timedelta(seconds=draw(st.integers(0, span - 1))), draw(st.integers(1, 200)),
                    draw(st.sampled_from(("admin", "training")))) for i in range(draw(st.integers(0, 5)))]
    return rows, calls, interactions, logs


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(dense_scenarios())
def test_matches_an_independent_reference_model(scenario):
    # (Run with many more examples while checking: 250 + 150 agreed.)
    rows, calls, interactions, logs = scenario
    want, want_anomalies = reference_october(rows, calls, interactions, logs)
    with tempfile.TemporaryDirectory() as d:
        mb = bill(workspace(Path(d), rows, calls, interactions, logs), "2026-10")
    assert mb.errors == []
    got = {code: Decimal(amount) for spec in mb.specs for code, amount in lines_by_code(spec).items()}
    assert got == want
    assert {(a.kind if a.kind == "outside_hours" else "unrated", a.record.split("/", 1)[1])
            for a in mb.anomalies} == want_anomalies
    for spec in mb.specs:
        check_spec_arithmetic(spec)


# --- the rating relation: lines = its sums, against two independent readings ------------------

MONTH_RANK_TRACE = Path(__file__).parent / "sql" / "answering_charges_by_month_rank.sql"
DAY_BLOCK_QUANTITIES = Path(__file__).parent / "sql" / "answering_quantities_by_day_blocks.sql"


def _quantities_and_traces(rows_, calls, interactions, logs, subscribers=("S1",)):
    """Bills October and returns (the billed usage lines as (subscriber, code, unit price,
    quantity), the rating relation summed per line, the same quantities by day-block
    interval arithmetic, the A3/M1 rows of the relation, the same rows ranked over the
    whole month as a reference)."""
    from metering.billing import bill_month
    from metering.catalog import load_catalog
    from metering.charges import registry
    from metering.db import connect
    from metering.db import rows as fetch
    from metering.ingest import ingest
    from metering.periods import Month

    with tempfile.TemporaryDirectory() as d:
        ws = workspace(Path(d), rows_, calls, interactions, logs, subscribers=subscribers)
        con = connect(ws.warehouse)
        try:
            ingest(con, ws)
            catalog = load_catalog()
            bill = bill_month(con, Month(2026, 10), catalog)
            usage_codes = {c.code for c in registry(catalog).of_family("answering") if c.usage}
            billed = sorted((sid, ln.code, ln.unit_price, ln.quantity)
                            for sid, lines in bill.lines.items() for ln in lines if ln.code in usage_codes)
            relation = fetch(con, "select subscriber_id, code, epoch, sum(quantity) from answering_charges(null) "
                                  "group by all having sum(quantity) > 0 order by all")
            con.execute(DAY_BLOCK_QUANTITIES.read_text(encoding="utf-8"))
            by_day_blocks = fetch(con, "select subscriber_id, code, epoch, quantity "
                                       "from answering_quantities_by_day_blocks order by all")
            # the reference trace ranks every record over the whole month (one window);
            # the relation ranks only inside days that cross a band or pool edge
            con.execute(MONTH_RANK_TRACE.read_text(encoding="utf-8"))
            record_cols = "subscriber_id, feed, record_id, epoch, code, quantity, rule"
            traced = fetch(con, f"select {record_cols} from answering_charges(null) join charge_codes using (code) "
                                "where rule in ('A3', 'M1') order by all")
            reference = fetch(con, f"select {record_cols} from answering_charges_by_month_rank order by all")
        finally:
            con.close()
    return billed, relation, by_day_blocks, traced, reference


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(dense_scenarios())
def test_lines_are_the_rating_relation_summed(scenario):
    """The lines are the rating relation (answering_charges) summed per subscriber and
    code; the same quantities come out of interval arithmetic on the day blocks (a second
    reading of the rules that never looks at a record's charge), and the relation's
    A3/M1 rows equal ranking every record over the month."""
    billed, relation, by_day_blocks, traced, reference = _quantities_and_traces(*scenario)
    assert relation == by_day_blocks
    assert _summed(billed) == _summed(relation)
    assert traced == reference


def _summed(rows_):
    """Quantities per (subscriber, code), over unit prices or price epochs."""
    out: dict = {}
    for sid, code, _, qty in rows_:
        out[(sid, code)] = out.get((sid, code), 0) + qty
    return sorted(out.items())


def test_days_that_cross_a_tier_or_pool_edge_are_ranked_within_the_day():
    """S1 (BASIC, graduated): 12 calls a day, so ranks 50|51 and 100|101 fall inside one
    day. S2 (PLUS): 10 calls a day, so the edges fall between days. S3 (SMART, allowance
    75): 8 calls a day, the pool runs out inside day 10; 8 SMS reports a day against the
    75-report bundle; DIRECT minutes that cross the 5 h package inside a day."""
    rows_ = [row("phone:BASIC", "2026-10-01"), row("phone:PLUS", "2026-10-01", sub="S2"),
             row("phone:SMART", "2026-10-01", sub="S3"), row("option:sms_bundle_75", "2026-10-01", sub="S3"),
             row("direct:package_5h", "2026-10-01", sub="S3"),
             row("messaging:PREMIUM", "2026-10-01", sub="S3", params={"aht_s": 200})]
    day = lambda d, h, m=0: datetime(2026, 10, d, h, m, tzinfo=UTC)  # noqa: E731 - 09:00 UTC is within hours
    calls = ([call(f"A{d:02d}{i:02d}", day(d, 7, 4 * i), 95) for d in range(1, 12) for i in range(12)]
             + [call(f"B{d:02d}{i:02d}", day(d, 7, 4 * i), 30, sub="S2") for d in range(1, 13) for i in range(10)]
             + [call(f"C{d:02d}{i:02d}", day(d, 7, 4 * i), 30, sub="S3", report="sms")
                for d in range(1, 14) for i in range(8)])
    interactions = [interaction(f"I{d:02d}{i}", day(d, 8, 5 * i), 250, sub="S3") for d in range(1, 12) for i in range(6)]
    logs = [worklog(f"W{d:02d}{i}", day(d, 9, 10 * i), 45, "admin", sub="S3") for d in range(1, 4) for i in range(3)]
    billed, relation, by_day_blocks, traced, reference = _quantities_and_traces(
        rows_, calls, interactions, logs, subscribers=("S1", "S2", "S3"))
    assert relation == by_day_blocks
    assert _summed(billed) == _summed(relation)
    assert traced == reference
    lines = dict(_summed(billed))
    assert [lines[("S1", f"phone.calls.tier{t}")] for t in (1, 2, 3)] == [50, 50, 32]
    assert [lines[("S2", f"phone.calls.tier{t}")] for t in (1, 2, 3)] == [50, 50, 20]
    assert (lines[("S3", "phone.calls.included")], lines[("S3", "phone.calls.over")]) == (75, 29)
    assert (lines[("S3", "messaging.included")], lines[("S3", "messaging.over")]) == (50, 16)
    assert lines[("S3", "reports.sms")] == 104 - 75
    assert lines[("S3", "direct.hours")] == 9 * 45 - 300


def test_the_trace_kept_is_of_the_month_rated_last():
    """Publishing keeps the rating relation of the connection as the month's trace; a month
    that was not the one rated last is refused rather than traced with another month's."""
    from metering.billing import bill_month
    from metering.catalog import load_catalog
    from metering.db import connect
    from metering.ingest import ingest
    from metering.outputs import write_analytics
    from metering.periods import Month

    rows_ = [row("phone:BASIC", "2026-10-01")]
    calls = [call("C1", datetime(2026, 10, 5, 9, tzinfo=UTC), 30), call("C2", datetime(2026, 11, 5, 9, tzinfo=UTC), 30)]
    with tempfile.TemporaryDirectory() as d:
        ws = workspace(Path(d), rows_, calls, [], [])
        con = connect(ws.warehouse)
        try:
            ingest(con, ws)
            october = bill_month(con, Month(2026, 10), load_catalog())
            november = bill_month(con, Month(2026, 11), load_catalog())
            with pytest.raises(RuntimeError, match="relation on this connection is of 2026-11, not 2026-10"):
                write_analytics(con, october)
            write_analytics(con, november)
            assert con.execute("select month, record_id, code from rated_records").fetchall() == [
                ("2026-11", "C2", "phone.calls.tier1")]
        finally:
            con.close()
