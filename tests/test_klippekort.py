"""klippekort (pricing.md K1–K6): tasks and add-ons drawing cards oldest first, overflow,
renewal, forfeiture and its warning, month order — every amount exact."""
from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

from helpers import bill, lines_by_code, write_feed
from hypothesis import given, settings
from hypothesis import strategies as st

from metering.ledgers import CardPurchase, KlipDraw, add_years, klippekort_ledger
from metering.workspace import Workspace

SUB = "DK"
A10 = "DK/klippekort:10"


def subscriber(ws, sid=SUB):
    write_feed(ws, "subscribers", f"subscribers_{sid}.csv", [{"subscriber_id": sid, "name": "København ApS",
                                                               "country": "DK"}])


def contract(ws, *rows, name="subscriptions.csv", sid=SUB):
    """rows: (product item, valid_from, valid_to, params)."""
    write_feed(ws, "subscriptions", name, [
        {"subscriber_id": sid, "product": f"klippekort:{item}", "valid_from": vf, "valid_to": vt or "",
         "params": json.dumps(params) if params else ""} for item, vf, vt, params in rows])


def task(wid, at, minutes, activity="remote", sid=SUB, consultant="Mette", description=""):
    return {"worklog_id": wid, "subscriber_id": sid, "activity": activity, "started_at": at,
            "minutes": minutes, "consultant": consultant, "description": description}


def only_spec(month_bill, sid=SUB):
    specs = [s for s in month_bill.specs if s["subscriber_id"] == sid]
    assert len(specs) == 1, (month_bill.errors, month_bill.anomalies)
    return specs[0]


def no_spec(month_bill, sid=SUB):
    assert not [s for s in month_bill.specs if s["subscriber_id"] == sid]


def lines(spec, code):
    return [(ln["quantity"], ln["unit"], ln["unit_price"], ln["amount"], ln["rule"])
            for ln in spec["lines"] if ln["code"] == code]


def cards(spec):
    return {b["card_id"]: (b["opening"], b["credited"], b["consumed"], b["forfeited"], b["closing"])
            for b in spec["balances"]}


def totals(spec):
    assert spec["currency"] == "DKK"
    if not spec["lines"]:
        assert spec["vat"] == []
        return spec["subtotal"], "0.00", spec["total"]
    assert [v["rate"] for v in spec["vat"]] == ["0.25"]
    return spec["subtotal"], spec["vat"][0]["amount"], spec["total"]


def test_task_spans_two_cards_and_onsite_travel(tmp_workspace):
    ws = tmp_workspace
    subscriber(ws)
    contract(ws, ("10", "2026-01-05", None, None), ("20", "2026-02-01", None, None))
    write_feed(ws, "worklogs", "w.csv", [
        task("T1", "2026-01-12T09:00:00+01:00", 480),                                  # 8 klip
        task("T2", "2026-02-03T09:00:00+01:00", 130, "onsite", description="Server"),  # 2.67 h → 3 klip
        task("T3", "2026-02-03T13:00:00+01:00", 30, "onsite"),                         # 1.00 h → 1 klip
        task("T4", "2026-02-04T09:00:00+01:00", 31, "onsite"),                         # 1.02 h → 2 klip
    ])
    january = only_spec(bill(ws, "2026-01"))
    assert lines(january, "klippekort.purchase") == [("1", "card", "8502.50", "8502.50", "K2")]
    assert totals(january) == ("8502.50", "2125.63", "10628.13")
    assert cards(january) == {f"{A10}/2026-01-05": ("0", "10", "8", "0", "2")}

    february = only_spec(bill(ws, "2026-02"))
    assert lines(february, "klippekort.purchase") == [("1", "card", "16110.00", "16110.00", "K2")]
    assert totals(february) == ("16110.00", "4027.50", "20137.50")
    assert cards(february) == {f"{A10}/2026-01-05": ("2", "0", "2", "0", "0"),
                               "DK/klippekort:20/2026-02-01": ("0", "20", "4", "0", "16")}
    t2, t3, t4 = february["tasks"]
    assert (t2["date"], t2["hours"], t2["klip"], t2["minutes"], t2["activity"]) == (
        "2026-02-03", "2.67", "3", "130", "onsite")
    assert t2["card_id"] == f"{A10}/2026-01-05 + DK/klippekort:20/2026-02-01"
    assert t2["draws"] == [{"card_id": f"{A10}/2026-01-05", "klip": "2"},
                           {"card_id": "DK/klippekort:20/2026-02-01", "klip": "1"}]
    assert (t2["consultant"], t2["description"], t2["overflow"]) == ("Mette", "Server", "0")
    assert (t3["hours"], t3["klip"], t3["card_id"]) == ("1.00", "1", "DK/klippekort:20/2026-02-01")
    assert (t4["hours"], t4["klip"]) == ("1.02", "2")
    assert february["warnings"] == []


def test_overflow_without_auto_renew(tmp_workspace):
    ws = tmp_workspace
    subscriber(ws)
    contract(ws, ("10", "2026-03-02", None, None))
    write_feed(ws, "worklogs", "w.csv", [task("T1", "2026-03-10T09:00:00+01:00", 720),   # 12: 10 + 2 over
                                         task("T2", "2026-03-11T09:00:00+01:00", 60)])   # 1 over
    spec = only_spec(bill(ws, "2026-03"))
    assert lines(spec, "klippekort.purchase") == [("1", "card", "8502.50", "8502.50", "K2")]
    assert lines(spec, "klippekort.overflow") == [("3", "klip", "895.00", "2685.00", "K5")]
    assert totals(spec) == ("11187.50", "2796.88", "13984.38")
    t1, t2 = spec["tasks"]
    assert (t1["card_id"], t1["overflow"], t2["card_id"], t2["overflow"]) == (
        "DK/klippekort:10/2026-03-02", "2", "", "1")
    assert cards(spec) == {"DK/klippekort:10/2026-03-02": ("0", "10", "10", "0", "0")}


def test_renewal_with_auto_renew_buys_as_many_cards_as_needed(tmp_workspace):
    ws = tmp_workspace
    subscriber(ws)
    contract(ws, ("10", "2026-03-02", None, {"auto_renew": True, "unit_price": "8000.00"}))
    write_feed(ws, "worklogs", "w.csv", [task("T1", "2026-03-10T09:00:00+01:00", 1440)])  # 24 klip (a day: the longest plausible task)
    spec = only_spec(bill(ws, "2026-03"))
    assert lines(spec, "klippekort.purchase") == [("3", "card", "8000.00", "24000.00", "K2")]
    assert "1 purchase, 2 auto-renewals" in spec["lines"][0]["description"]
    assert lines(spec, "klippekort.overflow") == []
    assert totals(spec) == ("24000.00", "6000.00", "30000.00")
    assert cards(spec) == {"DK/klippekort:10/2026-03-02": ("0", "10", "10", "0", "0"),
                           "DK/klippekort:10/2026-03-10#1": ("0", "10", "10", "0", "0"),
                           "DK/klippekort:10/2026-03-10#2": ("0", "10", "4", "0", "6")}
    (t1,) = spec["tasks"]
    assert t1["card_id"] == ("DK/klippekort:10/2026-03-02 + DK/klippekort:10/2026-03-10#1 + "
                             "DK/klippekort:10/2026-03-10#2")
    assert {b["card_id"]: b["purchase_date"] for b in spec["balances"]}["DK/klippekort:10/2026-03-10#2"] == \
        "2026-03-10"


def test_addon_draws_on_the_first_before_tasks(tmp_workspace):
    ws = tmp_workspace
    subscriber(ws)
    subscriber(ws, "DK2")
    contract(ws, ("10", "2026-01-01", None, None), ("monthly_check", "2026-01-01", None, None),
             ("quarterly_check", "2026-01-15", None, None), ("phone_support", "2026-02-10", "2026-03-10", None))
    contract(ws, ("monthly_check", "2026-01-01", None, None), name="dk2.csv", sid="DK2")
    # 00:30 on 1 April: drawn after the add-ons of that day
    write_feed(ws, "worklogs", "w.csv", [task("T1", "2026-04-01T00:30:00+02:00", 240)])
    january = only_spec(bill(ws, "2026-01"))
    assert cards(january) == {"DK/klippekort:10/2026-01-01": ("0", "10", "1", "0", "9")}
    card = "DK/klippekort:10/2026-01-01"
    assert [(t["date"], t["kind"], t["klip"], t["card_id"], t["overflow"], t["description"])
            for t in january["tasks"]] == [("2026-01-01", "addon", "1", card, "0", "Monthly check (add-on, K4)")]
    march = only_spec(bill(ws, "2026-03"))
    assert cards(march) == {"DK/klippekort:10/2026-01-01": ("8", "0", "2", "0", "6")}  # monthly + phone
    assert march["lines"] == [] and totals(march) == ("0.00", "0.00", "0.00")
    april = bill(ws, "2026-04")
    spec = only_spec(april)
    # monthly 1 + quarterly 2 leave 3; the task needs 4: 3 from the card, 1 overflow
    assert cards(spec) == {"DK/klippekort:10/2026-01-01": ("6", "0", "6", "0", "0")}
    assert lines(spec, "klippekort.overflow") == [("1", "klip", "895.00", "895.00", "K5")]
    assert totals(spec) == ("895.00", "223.75", "1118.75")
    assert [(t["date"], t["kind"], t["klip"], t["card_id"], t["overflow"]) for t in spec["tasks"]] == [
        ("2026-04-01", "addon", "1", card, "0"), ("2026-04-01", "addon", "2", card, "0"),
        ("2026-04-01", "task", "4", card, "1")]
    assert spec["tasks"][1]["description"] == "Quarterly check (add-on, K4)"
    # an add-on without any card: its klip are overflow every month
    dk2 = only_spec(april, "DK2")
    assert lines(dk2, "klippekort.overflow") == [("1", "klip", "895.00", "895.00", "K5")]
    assert totals(dk2) == ("895.00", "223.75", "1118.75") and dk2["balances"] == []


def test_forfeit_after_three_unused_years_with_warning(tmp_workspace):
    ws = tmp_workspace
    subscriber(ws)
    contract(ws, ("10", "2023-02-10", None, None),    # never used: forfeits 2026-02-10
             ("10", "2023-05-02", None, None),        # forfeits 2026-05-02 = issue date + 90 days
             ("20", "2023-05-03", None, None),        # forfeits 2026-05-03: not warned in January
             ("20", "2026-01-20", None, None))        # the January activity that makes a spec
    no_spec(bill(ws, "2025-12"))
    january = only_spec(bill(ws, "2026-01"))
    assert lines(january, "klippekort.purchase") == [("1", "card", "16110.00", "16110.00", "K2")]
    assert january["warnings"] == [
        "Klippekort DK/klippekort:10/2023-02-10: 10 klip will be forfeited on 2026-02-10 "
        "(3 years after its last use on 2023-02-10, unless used before) (K6)",
        "Klippekort DK/klippekort:10/2023-05-02: 10 klip will be forfeited on 2026-05-02 "
        "(3 years after its last use on 2023-05-02, unless used before) (K6)"]
    february = only_spec(bill(ws, "2026-02"))
    assert february["lines"] == [{
        "code": "klippekort.forfeit", "description": "Klip forfeited: DK/klippekort:10/2023-02-10 "
        "(10 klip on 2026-02-10)", "quantity": "10", "unit": "klip", "unit_price": "0.00", "price_unit": "klip",
        "amount": "0.00", "vat_rate": "0.25", "rule": "K6", "service": "klippekort", "family": "klippekort"}]
    assert totals(february) == ("0.00", "0.00", "0.00")
    assert cards(february) == {"DK/klippekort:10/2023-02-10": ("10", "0", "0", "10", "0"),
                               "DK/klippekort:10/2023-05-02": ("10", "0", "0", "0", "10"),
                               "DK/klippekort:20/2023-05-03": ("20", "0", "0", "0", "20"),
                               "DK/klippekort:20/2026-01-20": ("20", "0", "0", "0", "20")}
    assert [w.split(":")[1] for w in february["warnings"]] == ["10/2023-05-02", "20/2023-05-03"]
    no_spec(bill(ws, "2026-03"))  # nothing happens in March
    may = only_spec(bill(ws, "2026-05"))
    assert lines(may, "klippekort.forfeit") == [("30", "klip", "0.00", "0.00", "K6")]


def test_forfeit_five_years_after_purchase_although_used(tmp_workspace):
    ws = tmp_workspace
    subscriber(ws)
    contract(ws, ("30", "2021-06-15", None, None))
    write_feed(ws, "worklogs", "w.csv", [
        task("T1", "2024-06-03T09:00:00+02:00", 300),   # 5 klip
        task("T2", "2026-05-11T09:00:00+02:00", 120),   # 2 klip: last use, yet 5 years end it 2026-06-15
        task("T3", "2026-06-15T08:00:00+02:00", 60),    # forfeiture comes first that day: overflow
    ])
    may = only_spec(bill(ws, "2026-05"))
    assert may["lines"] == [] and cards(may) == {"DK/klippekort:30/2021-06-15": ("25", "0", "2", "0", "23")}
    assert may["warnings"] == ["Klippekort DK/klippekort:30/2021-06-15: 23 klip will be forfeited on "
                               "2026-06-15 (5 years after its purchase) (K6)"]
    june = only_spec(bill(ws, "2026-06"))
    assert lines(june, "klippekort.forfeit") == [("23", "klip", "0.00", "0.00", "K6")]
    assert lines(june, "klippekort.overflow") == [("1", "klip", "895.00", "895.00", "K5")]
    assert totals(june) == ("895.00", "223.75", "1118.75")
    assert cards(june) == {"DK/klippekort:30/2021-06-15": ("23", "0", "0", "23", "0")}
    assert june["warnings"] == []


def test_leap_day_and_start_of_day_forfeiture():
    assert add_years(date(2024, 2, 29), 5) == date(2029, 2, 28)
    assert add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)
    card = CardPurchase("row", "S/klippekort:10/2024-02-29", date(2024, 2, 29), "klippekort:10", 10,
                        Decimal("1"), False)
    before = klippekort_ledger([card], [], date(2027, 2, 28), 3, 5)
    assert before.cards[0].remaining == 10 and not [m for m in before.movements if m.kind == "forfeit"]
    after = klippekort_ledger([card], [KlipDraw(date(2027, 2, 28), 1, (), "t", 1)], date(2027, 3, 1), 3, 5)
    assert [(m.day, m.kind, m.klip) for m in after.movements] == [
        (date(2024, 2, 29), "purchase", 10), (date(2027, 2, 28), "forfeit", -10),
        (date(2027, 2, 28), "overflow", -1)]


def _scenario(ws):
    subscriber(ws)
    contract(ws, ("10", "2026-01-01", None, {"auto_renew": True}), ("monthly_check", "2026-01-01", None, None),
             ("20", "2026-02-15", None, None))
    write_feed(ws, "worklogs", "w.csv", [
        task("T1", "2026-01-20T09:00:00+01:00", 400, "onsite"),   # 7.17 h → 8
        task("T2", "2026-02-10T09:00:00+01:00", 120),             # 2: 1 left on the first card → renewal
        task("T3", "2026-03-05T09:00:00+01:00", 1300),            # 22
    ])


def test_months_billed_in_reverse_order_give_the_same_ledger(tmp_path):
    forward = Workspace.from_env(tmp_path / "forward").ensure()
    backward = Workspace.from_env(tmp_path / "backward").ensure()
    _scenario(forward)
    _scenario(backward)
    months = ["2026-01", "2026-02", "2026-03"]
    a = {m: only_spec(bill(forward, m)) for m in months}
    b = {m: only_spec(bill(backward, m)) for m in reversed(months)}
    for m in months:
        for key in ("lines", "balances", "tasks", "actions", "warnings", "subtotal", "total"):
            assert a[m][key] == b[m][key], (m, key)
    # Jan: card 10 − 1 (check) − 8 = 1. Feb: − 1 (check) = 0; T2 needs 2 → renewal #1 (auto_renew) → 8;
    # card 20 bought 15 Feb. Mar: − 1 (check) from #1 → 7; T3 22 = 7 (#1) + 15 (card 20) → 5 left.
    assert lines_by_code(a["2026-01"]) == {"klippekort.purchase": "8502.50"}
    assert lines(a["2026-02"], "klippekort.purchase") == [("1", "card", "8502.50", "8502.50", "K2"),
                                                          ("1", "card", "16110.00", "16110.00", "K2")]
    assert a["2026-03"]["lines"] == []
    assert cards(a["2026-03"]) == {"DK/klippekort:10/2026-02-10#1": ("8", "0", "8", "0", "0"),
                                   "DK/klippekort:20/2026-02-15": ("20", "0", "15", "0", "5")}


# --- property -------------------------------------------------------------------------

@st.composite
def card_histories(draw):
    start = date(2020, 1, 1)
    purchases, seen = [], set()
    for i in range(draw(st.integers(0, 4))):
        size = draw(st.sampled_from([10, 20, 30]))
        day = start + timedelta(days=draw(st.integers(0, 2500)))
        if (size, day) in seen:  # a row is identified by (subscriber, product, valid_from)
            continue
        seen.add((size, day))
        purchases.append(CardPurchase(f"row{i}", f"S/klippekort:{size}/{day}", day, f"klippekort:{size}", size,
                                      Decimal(size), draw(st.booleans()), (i,)))
    draws = []
    for i in range(draw(st.integers(0, 30))):
        day = start + timedelta(days=draw(st.integers(0, 3000)))
        draws.append(KlipDraw(day, draw(st.integers(0, 1)), (draw(st.integers(0, 3)),), f"d{i:02d}",
                              draw(st.integers(1, 25))))
    end = start + timedelta(days=draw(st.integers(1, 4000)))
    return purchases, draws, end


@settings(max_examples=80, deadline=None)
@given(card_histories())
def test_card_balance_is_credits_minus_draws_minus_forfeits_at_every_row(history):
    purchases, draws, end = history
    led = klippekort_ledger(purchases, draws, end, 3, 5)
    running: dict[str, int] = {}
    last_day = date.min
    for m in led.movements:
        assert m.day < end and m.day >= last_day
        last_day = m.day
        if m.card_id is None:
            assert m.kind == "overflow" and m.klip < 0
            continue
        running[m.card_id] = running.get(m.card_id, 0) + m.klip
        assert m.balance == running[m.card_id] >= 0
    for card in led.cards:
        credits = sum(m.klip for m in led.movements if m.card_id == card.card_id and m.klip > 0)
        drawn = -sum(m.klip for m in led.movements if m.card_id == card.card_id and m.kind == "draw")
        forfeited = -sum(m.klip for m in led.movements if m.card_id == card.card_id and m.kind == "forfeit")
        assert card.remaining == credits - drawn - forfeited == running[card.card_id]
        assert forfeited == card.forfeited
        if card.remaining:
            assert card.forfeit_date(3, 5) >= end
    # every klip a draw needed is drawn from cards or invoiced as overflow, never lost
    for d in draws:
        if d.day < end:
            assert sum(n for _, n in led.allocations[d.record]) == d.klip
        else:
            assert d.record not in led.allocations
    assert klippekort_ledger(list(reversed(purchases)), list(reversed(draws)), end, 3, 5).movements == \
        led.movements


def test_malformed_card_price_rejects_its_purchase_month(tmp_workspace):
    ws = tmp_workspace
    subscriber(ws)
    contract(ws, ("10", "2026-03-02", None, {"unit_price": "lots"}))
    write_feed(ws, "worklogs", "w.csv", [task("T1", "2026-04-10T09:00:00+02:00", 60)])
    march = bill(ws, "2026-03")
    assert not march.specs
    assert [(e.family, e.rule) for e in march.errors] == [("klippekort", "G10")]
    april = only_spec(bill(ws, "2026-04"))
    assert april["lines"] == [] and cards(april) == {"DK/klippekort:10/2026-03-02": ("10", "0", "1", "0", "9")}
