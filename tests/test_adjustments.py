"""X3–X6 per tariff family, by hand: a month is issued, late data arrives, the next
month carries the differences as adjustment lines (figures computed from pricing.md in
the comments). Plus withheld and waiting adjustments (X4), the look-back (X5), balance
corrections and the revised AHT evaluation."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from helpers import write_feed

from metering.catalog import load_catalog
from metering.db import connect
from metering.ingest import ingest
from metering.issuing import issue_month
from metering.periods import Month
from metering.workspace import Workspace

TZ = {"NL": ZoneInfo("Europe/Amsterdam"), "BE": ZoneInfo("Europe/Brussels"), "DK": ZoneInfo("Europe/Copenhagen")}


@pytest.fixture
def ws(tmp_path, monkeypatch) -> Workspace:
    monkeypatch.setenv("CCMETER_TODAY", "2026-12-04")
    return Workspace.from_env(tmp_path / "ws").ensure()


def at(day, hh=10, month=10, country="NL"):
    return datetime(2026, month, day, hh, 0, tzinfo=TZ[country])


def issue(ws, month: str):
    con = connect(ws.warehouse)
    try:
        ingest(con, ws)
        return issue_month(con, ws, Month.parse(month), load_catalog(), pdf=False).bill
    finally:
        con.close()


def only(bill, sid):
    found = [s for s in bill.specs if s["subscriber_id"] == sid]
    assert len(found) == 1, [s["subscriber_id"] for s in bill.specs]
    return found[0]


def adj(spec) -> dict[str, str]:
    out: dict[str, Decimal] = {}
    for a in spec["adjustments"]:
        out[a["code"]] = out.get(a["code"], Decimal("0")) + Decimal(a["amount"])
    return {k: str(v) for k, v in out.items()}


def subscriber(ws, sid, country, name="subs.csv"):
    write_feed(ws, "subscribers", name, [{"subscriber_id": sid, "name": sid, "country": country}])


def rows(ws, name, *items):
    write_feed(ws, "subscriptions", name, [
        {"subscriber_id": r[0], "product": r[1], "quantity": r[2] if len(r) > 2 else "", "valid_from": r[3]
         if len(r) > 3 else "2026-10-01", "valid_to": r[4] if len(r) > 4 else "",
         "params": json.dumps(r[5]) if len(r) > 5 else ""} for r in items])


def worklog(wid, sid, start, minutes, activity, km=""):
    return {"worklog_id": wid, "subscriber_id": sid, "activity": activity, "started_at": start.isoformat(),
            "minutes": minutes, "km": km, "consultant": "C", "description": ""}


def interaction(iid, sid, start, handle):
    return {"interaction_id": iid, "subscriber_id": sid, "channel": "email", "started_at": start.isoformat(),
            "ended_at": (start + timedelta(seconds=handle)).isoformat(), "handle_s": handle, "agent_id": "A"}


def call(cid, sid, start, talk):
    return {"call_id": cid, "subscriber_id": sid, "call_type": "inbound", "started_at": start.isoformat(),
            "answered_at": start.isoformat(), "ended_at": (start + timedelta(seconds=talk)).isoformat(),
            "talk_s": talk}


def test_service_pack_late_actions_renew_in_the_issued_month(ws):
    # worked example 3, the remote and on-site work arriving after October was issued
    subscriber(ws, "SP", "BE")
    rows(ws, "a.csv", ("SP", "servicepack:1h"))
    write_feed(ws, "calls", "c.csv", [call("c1", "SP", at(2, country="BE"), 420)])
    write_feed(ws, "interactions", "i.csv", [interaction("i1", "SP", at(3, country="BE"), 60)])
    october = only(issue(ws, "2026-10"), "SP")
    assert october["subtotal"] == "80.00" and october["balances"][0]["closing"] == "9"
    write_feed(ws, "worklogs", "w-late.csv", [worklog("w1", "SP", at(5, country="BE"), 50, "remote"),
                                              worklog("w2", "SP", at(6, country="BE"), 30, "onsite", "24")])
    write_feed(ws, "calls", "c-nov.csv", [call("c2", "SP", at(2, month=11, country="BE"), 60)])
    nov = only(issue(ws, "2026-11"), "SP")
    # the renewal (80.00) and the travel (24 km × 0.80 = 19.20) of October
    assert nov["lines"] == [] and adj(nov) == {"servicepack.purchase": "80.00", "servicepack.travel": "19.20"}
    assert (nov["subtotal"], nov["vat"][0]["amount"], nov["total"]) == ("99.20", "20.83", "120.03")
    # November's opening is 5 units now; October issued a closing of 9
    assert nov["balances"][0]["opening"] == "5" and nov["balances"][0]["correction"] == "-4"
    assert nov["balances"][0]["closing"] == "4"
    assert nov["due_date"] == "2026-12-31"


def test_remote_support_late_session_lifts_the_invoice_minimum(ws):
    subscriber(ws, "RS", "NL")
    rows(ws, "a.csv", ("RS", "remote:standard", "", "2026-01-01"))
    write_feed(ws, "worklogs", "w.csv", [worklog("w1", "RS", at(6), 10, "remote")])
    october = only(issue(ws, "2026-10"), "RS")
    assert october["subtotal"] == "30.00"  # worked example 5
    write_feed(ws, "worklogs", "w-late.csv", [worklog("w2", "RS", at(7), 60, "remote")])
    nov = only(issue(ws, "2026-11"), "RS")
    # 60 min × 103.85 / 60 = 103.85 more time; the subtotal 123.85 needs no minimum: −10.00
    assert adj(nov) == {"remote.time": "103.85", "invoice.minimum": "-10.00"}
    assert (nov["subtotal"], nov["vat"][0]["amount"], nov["total"]) == ("93.85", "19.71", "113.56")
    assert nov["due_date"] == "2026-12-15"  # X4: an adjustment of remote_support: 14 days


def test_klippekort_late_task_overflows_the_issued_card(ws):
    subscriber(ws, "KK", "DK")
    rows(ws, "a.csv", ("KK", "klippekort:10"))
    write_feed(ws, "worklogs", "w.csv", [worklog("w1", "KK", at(5, country="DK"), 120, "remote")])
    october = only(issue(ws, "2026-10"), "KK")
    assert october["subtotal"] == "8502.50"
    write_feed(ws, "worklogs", "w-late.csv", [worklog("w2", "KK", at(8, country="DK"), 600, "remote")])
    nov = only(issue(ws, "2026-11"), "KK")
    # 10 klip needed, 8 left, no auto-renew: 2 klip × 895.00 overflow (K5)
    [a] = nov["adjustments"]
    assert (a["code"], a["quantity"], a["unit_price"], a["amount"]) == ("klippekort.overflow", "2", "895.00",
                                                                        "1790.00")
    assert (nov["currency"], nov["vat"][0]["amount"], nov["total"]) == ("DKK", "447.50", "2237.50")


def test_interact_late_users_row_reprices_the_seats(ws):
    subscriber(ws, "IX", "BE")
    rows(ws, "a.csv", ("IX", "interact:PRO"), ("IX", "interact:users", "2"))
    october = only(issue(ws, "2026-10"), "IX")
    assert {ln["code"]: ln["amount"] for ln in october["lines"]} == {"interact.seats": "90.00"}
    rows(ws, "b-late.csv", ("IX", "interact:users", "3", "2026-10-16"))
    nov = only(issue(ws, "2026-11"), "IX")
    # (15 days × 3 + 16 days × 5) × 30.00 / 31 = 120.967… → 120.97, issued 90.00
    assert adj(nov) == {"interact.seats": "30.97"}
    assert {ln["code"]: ln["amount"] for ln in nov["lines"]} == {"interact.seats": "150.00"}


def test_late_interactions_revise_the_quarter_aht_and_adjust_both_quarters(ws, monkeypatch):
    subscriber(ws, "M", "NL")
    rows(ws, "a.csv", ("M", "messaging:BASIC", "", "2026-07-01", "", {"aht_s": 240}))
    write_feed(ws, "interactions", "i.csv",
               [interaction(f"q3-{m}-{i}", "M", at(1 + i, 10, m), 240) for m in (7, 8, 9) for i in range(10)]
               + [interaction(f"oct-{i}", "M", at(1 + i), 240) for i in range(10)])
    issue(ws, "2026-09")
    september = json.loads((ws.month_dir("2026-09") / "M.json").read_text())
    assert september["aht"]["new"] == 240
    issue(ws, "2026-10")
    # 30 long interactions of September arrive late: Q3's actual is (30 × 240 + 30 × 600) / 60 = 420
    write_feed(ws, "interactions", "i-late.csv",
               [interaction(f"late-{i}", "M", at(11 + i % 15, 12, 9), 600) for i in range(30)])
    nov = only(issue(ws, "2026-11"), "M")
    by_period: dict[str, dict[str, str]] = {}
    for a in nov["adjustments"]:
        by_period.setdefault(a["period"], {})[a["code"]] = a["amount"]
    # September: 30 more in tier 1 (ranks 11–40) at 3.30 = 99.00; AHT surcharge (240 − 180) s at
    # 1.64/min = 1.64 each: 49.20
    assert by_period["2026-09"] == {"messaging.tier1": "99.00", "messaging.aht": "49.20"}
    # October: AHT_pre is 420 now: 10 × (420 − 180) s × 1.64 / 60 = 65.60 instead of 16.40
    assert by_period["2026-10"] == {"messaging.aht": "49.20"}
    [revised] = nov["aht_revised"]
    assert revised["revised"] is True and revised["new"] == 420 and revised["was"]["new"] == 240


def test_withheld_waiting_and_expired_adjustments_are_anomalies(ws, monkeypatch):
    subscriber(ws, "W", "NL")
    rows(ws, "a.csv", ("W", "phone:BASIC"))
    issue(ws, "2026-10")
    # October now re-rates to a contract error: two phone plans on the same days (G10)
    rows(ws, "b-late.csv", ("W", "phone:PLUS", "", "2026-10-05"))
    nov = issue(ws, "2026-11")
    kinds = {a.kind for a in nov.anomalies if a.subscriber_id == "W"}
    assert "adjustment.withheld" in kinds
    assert all(not s["adjustments"] for s in nov.specs)


def test_records_beyond_the_lookback_are_listed_once_not_billed(ws, monkeypatch):
    monkeypatch.setenv("CCMETER_LOOKBACK_MONTHS", "1")
    subscriber(ws, "L", "NL")
    rows(ws, "a.csv", ("L", "phone:BASIC", "", "2026-09-01"))
    issue(ws, "2026-09")
    issue(ws, "2026-10")
    write_feed(ws, "calls", "c-late.csv", [call("late1", "L", at(3, month=9), 60)])
    nov = issue(ws, "2026-11")  # September is 2 months back: beyond a look-back of 1
    late = [a for a in nov.anomalies if a.kind == "late.beyond_lookback"]
    assert [(a.subscriber_id, a.record) for a in late] == [("L", "calls/late1")]
    assert [a.kind for a in nov.anomalies if a.kind == "adjustment.expired"] == ["adjustment.expired"]
    assert all(a["period"] != "2026-09" for s in nov.specs for a in s["adjustments"])
    monkeypatch.setenv("CCMETER_TODAY", "2027-01-05")
    dec = issue(ws, "2026-12")
    assert not [a for a in dec.anomalies if a.kind in ("late.beyond_lookback", "adjustment.expired")]


def test_adjustments_wait_while_the_issuing_month_has_a_contract_error(ws, monkeypatch):
    subscriber(ws, "Q", "NL")
    rows(ws, "a.csv", ("Q", "phone:BASIC"))
    issue(ws, "2026-10")
    write_feed(ws, "calls", "c-late.csv", [call(f"l{i}", "Q", at(2 + i), 150) for i in range(2)])
    rows(ws, "b-overlap.csv", ("Q", "phone:PLUS", "", "2026-11-05", "2026-12-01"))  # November: G10
    nov = issue(ws, "2026-11")
    assert not [s for s in nov.specs if s["subscriber_id"] == "Q"]
    waiting = [a for a in nov.anomalies if a.kind == "adjustment.waiting"]
    assert [a.subscriber_id for a in waiting] == ["Q"] and "2026-10" in waiting[0].message
    monkeypatch.setenv("CCMETER_TODAY", "2027-01-05")
    dec = only(issue(ws, "2026-12"), "Q")
    # two calls at tier 1 (3.03) and 2 × 60 s over 90 s at 1.64/min (3.28), for October
    assert {(a["period"], a["code"], a["amount"]) for a in dec["adjustments"]} == {
        ("2026-10", "phone.calls.tier1", "6.06"), ("2026-10", "phone.talk_over_90s", "3.28")}


def _plan(ws, month):
    from metering.issuing import plan
    con = connect(ws.warehouse)
    try:
        ingest(con, ws)
        return plan(con, ws, Month.parse(month), load_catalog())
    finally:
        con.close()


def test_issued_months_nothing_could_change_are_not_rerated_and_a_tariff_correction_is(ws, monkeypatch, tmp_path):
    import shutil

    from metering.catalog import tariffs_dir
    subscriber(ws, "T", "NL")
    rows(ws, "a.csv", ("T", "phone:BASIC"))
    write_feed(ws, "calls", "c-oct.csv", [call(f"o{i}", "T", at(2 + i), 60) for i in range(3)])
    issue(ws, "2026-10")
    # only November's usage arrived: October cannot change (history runs forward)
    write_feed(ws, "calls", "c-nov.csv", [call(f"n{i}", "T", at(2 + i, month=11), 60) for i in range(2)])
    planned = _plan(ws, "2026-11")
    assert planned.corrections.unchanged == ["2026-10"] and planned.corrections.months == []
    # a late October call: October is re-rated
    write_feed(ws, "calls", "c-oct-late.csv", [call("late", "T", at(20), 60)])
    planned = _plan(ws, "2026-11")
    assert planned.corrections.months == ["2026-10"]
    assert adj(only(planned.bill, "T")) == {"phone.calls.tier1": "3.03"}
    # a tariff corrected for a period already issued is billed as adjustments too
    corrected = tmp_path / "tariffs"
    shutil.copytree(tariffs_dir(), corrected)
    text = (corrected / "answering.yaml").read_text()
    (corrected / "answering.yaml").write_text(text.replace('price: "3.03"}', 'price: "3.13"}', 1))
    monkeypatch.setenv("CCMETER_TARIFFS", str(corrected))
    planned = _plan(ws, "2026-11")
    # 4 calls of October at tier 1, now 3.13: 12.52 against 9.09 issued (a new key: price 3.13)
    assert {(a["code"], a["unit_price"], a["amount"]) for a in only(planned.bill, "T")["adjustments"]} == {
        ("phone.calls.tier1", "3.03", "-9.09"), ("phone.calls.tier1", "3.13", "12.52")}


def test_interact_late_contract_end_bills_the_early_termination_as_adjustments(ws):
    subscriber(ws, "IE", "BE")
    rows(ws, "a.csv", ("IE", "interact:PRO", "", "2026-01-01"), ("IE", "interact:users", "4", "2026-01-01"),
         ("IE", "interact:generic_api", "", "2026-01-01"))
    october = only(issue(ws, "2026-10"), "IE")
    assert {ln["code"]: ln["amount"] for ln in october["lines"]} == {"interact.seats": "120.00",
                                                                     "interact.generic_api": "50.00"}
    # the end date arrives late: the plan ended on 16 October (valid_to, exclusive)
    rows(ws, "b-end.csv", ("IE", "interact:PRO", "", "2026-01-01", "2026-10-16"))
    nov = only(issue(ws, "2026-11"), "IE")
    # seats 15 days × 4 × 30.00 / 31 = 58.06 instead of 120.00; I4: anniversaries after
    # 16 Oct: 1 Nov, 1 Dec, 1 Jan = 3 × (4 × 30.00 + 50.00) = 510.00
    assert adj(nov) == {"interact.seats": "-61.94", "interact.early_termination": "510.00"}
    assert all(a["adjusts"] == october["spec_number"] and a["period"] == "2026-10" for a in nov["adjustments"])
