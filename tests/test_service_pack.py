"""service_pack (pricing.md S1–S6): worked example 3, renewals, carried balances,
travel, service hours, month order and ingestion order — every amount exact."""
from __future__ import annotations

import json
import random
import tempfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from helpers import bill, lines_by_code, write_feed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metering.catalog import load_catalog
from metering.context import BillingInput
from metering.contracts import load_contracts, load_subscribers
from metering.db import connect
from metering.ingest import create_tables, ingest
from metering.ledgers import PackAction, PackPurchase, service_pack_ledger
from metering.periods import Month
from metering.pricing import service_pack
from metering.routing import build_usage
from metering.workspace import Workspace

SUB = "BE"


def subscriber(ws, sid=SUB, country="BE"):
    write_feed(ws, "subscribers", f"subscribers_{sid}.csv", [{"subscriber_id": sid, "name": "Brussels BV",
                                                               "country": country}])


def packs(ws, *rows, name="subscriptions.csv", sid=SUB):
    write_feed(ws, "subscriptions", name, [
        {"subscriber_id": sid, "product": f"servicepack:{p}", "valid_from": d,
         "params": json.dumps(params) if params else ""} for p, d, params in rows])


def call(cid, at, talk, sid=SUB):
    start = datetime.fromisoformat(at)
    return {"call_id": cid, "subscriber_id": sid, "call_type": "inbound", "started_at": at,
            "answered_at": at, "ended_at": (start + timedelta(seconds=talk)).isoformat(), "talk_s": talk}


def interaction(iid, at, handle, channel="email", sid=SUB):
    start = datetime.fromisoformat(at)
    return {"interaction_id": iid, "subscriber_id": sid, "channel": channel, "started_at": at,
            "ended_at": (start + timedelta(seconds=handle)).isoformat(), "handle_s": handle}


def worklog(wid, at, minutes, activity="remote", km=None, sid=SUB):
    return {"worklog_id": wid, "subscriber_id": sid, "activity": activity, "started_at": at,
            "minutes": minutes, "km": km}


def only_spec(month_bill, sid=SUB):
    specs = [s for s in month_bill.specs if s["subscriber_id"] == sid]
    assert len(specs) == 1, (month_bill.errors, month_bill.anomalies)
    return specs[0]


def balance(spec):
    (b,) = [b for b in spec["balances"] if b["kind"] == "service_pack"]
    return b


def lines(spec, code):
    return [(ln["quantity"], ln["unit"], ln["unit_price"], ln["amount"], ln["rule"])
            for ln in spec["lines"] if ln["code"] == code]


def moves(spec):
    return [(a["date"], a["record"], a["kind"], a["units"], a["balance"]) for a in spec["actions"]]


def test_worked_example_3(tmp_workspace):
    ws = tmp_workspace
    subscriber(ws)
    packs(ws, ("1h", "2026-10-01", None))
    write_feed(ws, "calls", "calls.csv", [call("C1", "2026-10-01T09:00:00+02:00", 420)])
    write_feed(ws, "interactions", "mail.csv", [interaction("I1", "2026-10-01T10:00:00+02:00", 60)])
    write_feed(ws, "worklogs", "work.csv", [worklog("W1", "2026-10-01T11:00:00+02:00", 50, "remote"),
                                            worklog("W2", "2026-10-01T14:00:00+02:00", 30, "onsite", "24")])
    month = bill(ws, "2026-10")
    spec = only_spec(month)
    assert lines(spec, "servicepack.purchase") == [("2", "pack", "80.00", "160.00", "S2")]
    assert lines(spec, "servicepack.travel") == [("24", "km", "0.80", "19.20", "S5")]
    assert lines_by_code(spec) == {"servicepack.purchase": "160.00", "servicepack.travel": "19.20"}
    assert (spec["subtotal"], spec["vat"][0]["amount"], spec["total"]) == ("179.20", "37.63", "216.83")
    assert spec["currency"] == "EUR" and spec["vat"][0]["rate"] == "0.21"
    assert balance(spec) == {"kind": "service_pack", "unit": "units", "opening": "0", "credited": "24",
                             "consumed": "19", "forfeited": "0", "closing": "5"}
    assert moves(spec) == [
        ("2026-10-01", "subscriptions/BE/servicepack:1h/2026-10-01", "purchase", "12", "12"),
        ("2026-10-01", "calls/C1", "call", "-2", "10"),
        ("2026-10-01", "interactions/I1", "interaction", "-1", "9"),
        ("2026-10-01", "worklogs/W1", "worklog", "-10", "-1"),
        ("2026-10-01", "worklogs/W1", "renewal", "12", "11"),
        ("2026-10-01", "worklogs/W2", "worklog", "-6", "5"),
    ]
    assert not [a for a in month.anomalies if a.subscriber_id == SUB]


def test_units_round_up_per_started_five_minutes(tmp_workspace):
    ws = tmp_workspace
    subscriber(ws)
    packs(ws, ("10h", "2026-10-01", None))
    write_feed(ws, "calls", "calls.csv", [call("C0", "2026-10-05T09:00:00+02:00", 0),
                                          call("C1", "2026-10-05T09:10:00+02:00", 300),
                                          call("C2", "2026-10-05T09:20:00+02:00", 301)])
    write_feed(ws, "worklogs", "work.csv", [worklog("W1", "2026-10-05T10:00:00+02:00", 61, "training")])
    spec = only_spec(bill(ws, "2026-10"))
    assert [m[3] for m in moves(spec)] == ["120", "-1", "-1", "-2", "-13"]
    assert balance(spec)["closing"] == "103"
    assert lines(spec, "servicepack.purchase") == [("1", "pack", "700.00", "700.00", "S2")]
    assert spec["subtotal"] == "700.00" and spec["total"] == "847.00"


def test_renewal_exactly_at_zero(tmp_workspace):
    ws = tmp_workspace
    subscriber(ws)
    packs(ws, ("1h", "2026-10-01", None))
    write_feed(ws, "worklogs", "work.csv", [worklog("W1", "2026-10-02T09:00:00+02:00", 60),
                                            worklog("W2", "2026-10-02T10:00:00+02:00", 5)])
    spec = only_spec(bill(ws, "2026-10"))
    assert moves(spec)[1:] == [("2026-10-02", "worklogs/W1", "worklog", "-12", "0"),
                               ("2026-10-02", "worklogs/W1", "renewal", "12", "12"),
                               ("2026-10-02", "worklogs/W2", "worklog", "-1", "11")]
    assert lines(spec, "servicepack.purchase") == [("2", "pack", "80.00", "160.00", "S2")]
    assert (spec["subtotal"], spec["total"]) == ("160.00", "193.60")


def test_two_renewals_in_one_action(tmp_workspace):
    ws = tmp_workspace
    subscriber(ws)
    packs(ws, ("1h", "2026-10-01", None))
    # 150 min = 30 units: 12 − 30 = −18 → +12 → −6 (still ≤ 0) → +12 → 6
    write_feed(ws, "worklogs", "work.csv", [worklog("W1", "2026-10-06T09:00:00+02:00", 150)])
    spec = only_spec(bill(ws, "2026-10"))
    assert moves(spec)[1:] == [("2026-10-06", "worklogs/W1", "worklog", "-30", "-18"),
                               ("2026-10-06", "worklogs/W1", "renewal", "12", "-6"),
                               ("2026-10-06", "worklogs/W1", "renewal", "12", "6")]
    assert lines(spec, "servicepack.purchase") == [("3", "pack", "80.00", "240.00", "S2")]
    assert "1 purchase, 2 auto-renewals" in spec["lines"][0]["description"]
    assert (spec["subtotal"], spec["vat"][0]["amount"], spec["total"]) == ("240.00", "50.40", "290.40")


def test_auto_renew_false_carries_a_negative_balance(tmp_workspace):
    ws = tmp_workspace
    subscriber(ws)
    packs(ws, ("1h", "2026-10-01", {"auto_renew": False}))
    write_feed(ws, "worklogs", "work.csv", [worklog("W1", "2026-10-20T09:00:00+02:00", 100)])  # 20 units
    write_feed(ws, "calls", "calls.csv", [call("C1", "2026-11-03T09:00:00+01:00", 30)])
    october = only_spec(bill(ws, "2026-10"))
    november = only_spec(bill(ws, "2026-11"))
    assert lines(october, "servicepack.purchase") == [("1", "pack", "80.00", "80.00", "S2")]
    assert balance(october) == {"kind": "service_pack", "unit": "units", "opening": "0", "credited": "12",
                                "consumed": "20", "forfeited": "0", "closing": "-8"}
    assert november["lines"] == [] and november["subtotal"] == "0.00" and november["total"] == "0.00"
    assert balance(november)["opening"] == balance(october)["closing"] == "-8"
    assert balance(november) == {"kind": "service_pack", "unit": "units", "opening": "-8", "credited": "0",
                                 "consumed": "1", "forfeited": "0", "closing": "-9"}
    assert moves(november) == [("2026-11-03", "calls/C1", "call", "-1", "-9")]


def test_latest_purchase_row_decides_pack_price_and_renewal(tmp_workspace):
    ws = tmp_workspace
    subscriber(ws)
    packs(ws, ("1h", "2026-10-01", {"auto_renew": False}),
          ("3h", "2026-11-02", {"unit_price": "200.00"}))
    write_feed(ws, "worklogs", "work.csv", [
        worklog("W1", "2026-10-20T09:00:00+02:00", 100),   # 12 − 20 = −8, no renewal (auto_renew false)
        worklog("W2", "2026-11-10T09:00:00+01:00", 175),   # −8 + 36 − 35 = −7 → renew 3h at 200.00 → 29
    ])
    november = only_spec(bill(ws, "2026-11"))
    assert moves(november) == [
        ("2026-11-02", "subscriptions/BE/servicepack:3h/2026-11-02", "purchase", "36", "28"),
        ("2026-11-10", "worklogs/W2", "worklog", "-35", "-7"),
        ("2026-11-10", "worklogs/W2", "renewal", "36", "29")]
    assert lines(november, "servicepack.purchase") == [("2", "pack", "200.00", "400.00", "S2")]
    assert (november["subtotal"], november["vat"][0]["amount"], november["total"]) == ("400.00", "84.00",
                                                                                        "484.00")


def test_travel_minimum_and_missing_km(tmp_workspace):
    ws = tmp_workspace
    subscriber(ws)
    packs(ws, ("10h", "2026-10-01", None))
    write_feed(ws, "worklogs", "work.csv", [
        worklog("W1", "2026-10-05T09:00:00+02:00", 10, "onsite", None),     # no km: 10.00
        worklog("W2", "2026-10-05T10:00:00+02:00", 10, "onsite", "12.5"),   # exactly 10.00 by distance
        worklog("W3", "2026-10-05T11:00:00+02:00", 10, "onsite", "5"),      # 4.00 → minimum 10.00
        worklog("W4", "2026-10-05T14:00:00+02:00", 10, "onsite", "24.127"), # 19.3016
        worklog("W5", "2026-10-05T15:00:00+02:00", 10, "remote", "80"),     # not on site: no travel
    ])
    spec = only_spec(bill(ws, "2026-10"))
    assert lines(spec, "servicepack.travel") == [("36.627", "km", "0.80", "29.30", "S5"),
                                                 ("2", "trip", "10.00", "20.00", "S5")]
    assert (spec["subtotal"], spec["vat"][0]["amount"], spec["total"]) == ("749.30", "157.35", "906.65")


def test_outside_service_hours_are_rated_and_listed(tmp_workspace):
    ws = tmp_workspace
    subscriber(ws)
    packs(ws, ("1h", "2026-10-01", None))
    write_feed(ws, "calls", "calls.csv", [
        call("IN1", "2026-10-05T08:30:00+02:00", 60),    # Monday, opening second: inside
        call("OUT1", "2026-10-05T08:29:59+02:00", 60),   # before opening
        call("OUT2", "2026-10-05T12:30:00+02:00", 60),   # lunch break starts (half-open)
        call("IN2", "2026-10-05T13:30:00+02:00", 60),
        call("IN3", "2026-10-05T16:59:59+02:00", 60),
        call("OUT3", "2026-10-05T17:00:00+02:00", 60),
        call("OUT4", "2026-10-10T10:00:00+02:00", 60),   # Saturday
        call("IN4", "2026-10-05T07:00:00Z", 60),         # 09:00 local (CEST): inside
    ])
    month = bill(ws, "2026-10")
    spec = only_spec(month)
    flagged = sorted(a.record for a in month.anomalies if a.rule == "S6")
    assert flagged == ["calls/OUT1", "calls/OUT2", "calls/OUT3", "calls/OUT4"]
    assert all(a.kind == "outside_hours" and a.subscriber_id == SUB for a in month.anomalies if a.rule == "S6")
    assert balance(spec)["consumed"] == "8"  # all rated, one unit each


def _three_months(ws):
    subscriber(ws)
    packs(ws, ("1h", "2026-10-01", None), ("3h", "2026-11-15", {"auto_renew": False}))
    write_feed(ws, "worklogs", "w.csv", [
        worklog("W1", "2026-10-02T09:00:00+02:00", 70, "onsite", "30"),
        worklog("W2", "2026-10-29T09:00:00+01:00", 40),
        worklog("W3", "2026-11-16T09:00:00+01:00", 200),
        worklog("W4", "2026-12-01T09:00:00+01:00", 30, "onsite"),
    ])
    write_feed(ws, "calls", "c.csv", [call("C1", "2026-11-14T09:00:00+01:00", 650),
                                      call("C2", "2026-12-02T09:00:00+01:00", 10)])


def test_months_billed_in_any_order_give_the_same_ledger(tmp_path):
    forward = Workspace.from_env(tmp_path / "forward").ensure()
    backward = Workspace.from_env(tmp_path / "backward").ensure()
    _three_months(forward)
    _three_months(backward)
    months = ["2026-10", "2026-11", "2026-12"]
    a = {m: only_spec(bill(forward, m)) for m in months}
    b = {m: only_spec(bill(backward, m)) for m in reversed(months)}
    again = only_spec(bill(forward, "2026-10"))
    for m in months:
        for key in ("lines", "balances", "actions", "subtotal", "total"):
            assert a[m][key] == b[m][key], (m, key)
    assert again == a["2026-10"]
    # Oct: 12 − 14 → −2, renewal → 10, − 8 → 2; Nov: − 3 → −1, renewal → 11, + 36 → 47, − 40 → 7;
    # Dec: − 6 → 1, − 1 → 0 and no renewal (the 3h row says auto_renew false)
    assert [(balance(a[m])["opening"], balance(a[m])["closing"]) for m in months] == [
        ("0", "2"), ("2", "7"), ("7", "0")]
    assert lines_by_code(a["2026-10"]) == {"servicepack.purchase": "160.00", "servicepack.travel": "24.00"}
    assert lines_by_code(a["2026-11"]) == {"servicepack.purchase": "305.00"}
    assert lines_by_code(a["2026-12"]) == {"servicepack.travel": "10.00"}


# --- properties -----------------------------------------------------------------------

@st.composite
def pack_histories(draw):
    n = draw(st.integers(1, 3))
    buys = []
    for i in range(n):
        pack, units = draw(st.sampled_from([("1h", 12), ("3h", 36), ("10h", 120)]))
        day = date(2026, 10, 1) + timedelta(days=draw(st.integers(0, 20)))
        buys.append(PackPurchase(f"row{i}", day, pack, units, Decimal("1"), draw(st.booleans()), (i,)))
    first = min(b.day for b in buys)
    acts = []
    for i in range(draw(st.integers(0, 25))):
        day = first + timedelta(days=draw(st.integers(0, 30)))
        acts.append(PackAction(day, (day, draw(st.integers(0, 3)), f"r{i:02d}"), f"calls/r{i:02d}", "call",
                               draw(st.integers(1, 40))))
    return buys, acts


@settings(max_examples=60, deadline=None)
@given(pack_histories())
def test_ledger_balance_is_credits_minus_debits_at_every_row(history):
    buys, acts = history
    ledger = service_pack_ledger(buys, acts)
    credits = debits = 0
    for m in ledger:
        if m.units > 0:
            credits += m.units
        else:
            debits -= m.units
        assert m.balance == credits - debits
    assert debits == sum(a.units for a in acts)
    # a renewal only follows an action that left the balance ≤ 0, and stops once above 0
    for prev, m, nxt in zip(ledger, ledger[1:], ledger[2:] + [None]):
        if m.kind == "renewal":
            assert prev.balance <= 0
            if nxt is None or nxt.kind != "renewal" or nxt.record != m.record:
                assert m.balance > 0
    assert service_pack_ledger(list(reversed(buys)), list(reversed(acts))) == ledger


RECORD_KINDS = st.sampled_from(["call", "interaction", "worklog"])


@st.composite
def inbox_orders(draw):
    n = draw(st.integers(2, 9))
    records = []
    for i in range(n):
        kind = draw(RECORD_KINDS)
        at = datetime(2026, 10, 5, 9, 0) + timedelta(hours=draw(st.integers(0, 3)))  # ties on purpose
        at_s = at.isoformat() + "+02:00"
        dur = draw(st.integers(0, 5000))
        rid = f"R{draw(st.integers(0, 99)):02d}x{i}"
        if kind == "call":
            records.append(("calls", call(rid, at_s, dur)))
        elif kind == "interaction":
            records.append(("interactions", interaction(rid, at_s, dur)))
        else:
            records.append(("worklogs", worklog(rid, at_s, max(1, dur // 60))))
    seed = draw(st.integers(0, 2 ** 16))
    split = draw(st.integers(1, n - 1))
    return records, seed, split


def _workspace(root: Path) -> Workspace:
    ws = Workspace.from_env(root).ensure()
    subscriber(ws)
    packs(ws, ("1h", "2026-10-01", None))
    return ws


def _write(ws, records, prefix):
    by_feed: dict[str, list[dict]] = {}
    for feed, rec in records:
        by_feed.setdefault(feed, []).append(rec)
    for feed, recs in by_feed.items():
        write_feed(ws, feed, f"{prefix}.csv", recs)


def _rate_service_pack(con, month: str):
    """The service_pack family alone over what has been ingested (skips the other
    families to keep the property cheap)."""
    create_tables(con)
    subscribers, contracts = load_subscribers(con), load_contracts(con)
    build_usage(con, subscribers, contracts)
    return service_pack.rate(BillingInput(con, Month.parse(month), load_catalog(), subscribers, contracts))


def _expected_units(feed: str, rec: dict) -> int:
    seconds = {"calls": lambda r: r["talk_s"], "interactions": lambda r: r["handle_s"],
               "worklogs": lambda r: r["minutes"] * 60}[feed](rec)
    return max(1, -(-seconds // 300))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inbox_orders())
def test_units_do_not_depend_on_inbox_file_order(case):
    records, seed, split = case
    shuffled = list(records)
    random.Random(seed).shuffle(shuffled)
    with tempfile.TemporaryDirectory() as tmp:
        ws = _workspace(Path(tmp) / "ws")
        con = connect(":memory:")
        try:
            _write(ws, shuffled[split:], "b_first_written")   # written and ingested first ...
            ingest(con, ws)
            _write(ws, shuffled[:split], "a_later")           # ... then a file that sorts before it
            ingest(con, ws)
            result = _rate_service_pack(con, "2026-10")[SUB]
        finally:
            con.close()

    # independent expectation: S1 units, S3 order (start instant, feed, id)
    def key(item):
        feed, rec = item
        rid = rec.get("call_id") or rec.get("interaction_id") or rec.get("worklog_id")
        return (datetime.fromisoformat(rec["started_at"]), feed.encode(), rid.encode())

    got = [(a["record"], int(a["units"])) for a in result.actions if a["kind"] not in ("purchase", "renewal")]
    want = []
    for feed, rec in sorted(records, key=key):
        rid = rec.get("call_id") or rec.get("interaction_id") or rec.get("worklog_id")
        want.append((f"{feed}/{rid}", -_expected_units(feed, rec)))
    assert got == want
    credits = debits = 0
    for a in result.actions:
        units = int(a["units"])
        credits, debits = credits + max(units, 0), debits - min(units, 0)
        assert int(a["balance"]) == credits - debits
    (bal,) = result.balances
    assert int(bal["consumed"]) == sum(-u for _, u in want)
    assert int(bal["closing"]) == credits - debits > 0


def test_malformed_auto_renew_rejects_only_the_months_it_decides(tmp_workspace):
    ws = tmp_workspace
    subscriber(ws)
    packs(ws, ("1h", "2026-10-01", {"auto_renew": "no"}))
    write_feed(ws, "worklogs", "w.csv", [worklog("W1", "2026-10-02T09:00:00+02:00", 70)])   # −2: renewal?
    write_feed(ws, "calls", "c.csv", [call("C1", "2026-11-02T09:00:00+01:00", 60)])
    october = bill(ws, "2026-10")
    assert not october.specs
    (error,) = october.errors
    assert (error.subscriber_id, error.family, error.rule) == (SUB, "service_pack", "G10")
    assert "params.auto_renew must be true or false, got 'no'" in error.message
    assert any(a.kind == "contract_error" and a.subscriber_id == SUB for a in october.anomalies)
    # November's call leaves 9 units: the flag decides nothing, the month is billed
    november = only_spec(bill(ws, "2026-11"))
    assert balance(november) == {"kind": "service_pack", "unit": "units", "opening": "10", "credited": "0",
                                 "consumed": "1", "forfeited": "0", "closing": "9"}
