"""The vectorised prepaid ledgers (`metering.ledgers`, Polars running sums) give exactly
the movements of the sequential reference walks (`tests/reference_ledgers.py`), every
field, for random histories: several purchase rows (auto_renew on and off, sizes
changing), several events a day, actions on purchase days and before the first
purchase, zero and large units."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from reference_ledgers import reference_klippekort_ledger, reference_service_pack_ledger

from metering.ledgers import CardPurchase, KlipDraw, PackAction, PackPurchase, klippekort_ledger, service_pack_ledger

PACKS = [("1h", 12), ("3h", 36), ("10h", 120)]
START = date(2026, 1, 1)


@st.composite
def pack_histories(draw):
    buys = []
    for i in range(draw(st.integers(0, 5))):
        pack, units = draw(st.sampled_from(PACKS))
        day = START + timedelta(days=draw(st.integers(0, 12)))
        price = draw(st.sampled_from([Decimal("80.00"), Decimal("225"), Decimal("699.995")]))
        # the row order among rows of one day: a file and line, sometimes shared
        buys.append(PackPurchase(f"subscriptions/S/servicepack:{pack}/{i}", day, pack, units, price,
                                 draw(st.booleans()), (draw(st.integers(0, 2)), i)))
    acts = []
    for i in range(draw(st.integers(0, 40))):
        day = START + timedelta(days=draw(st.integers(0, 14)))
        units = draw(st.one_of(st.integers(0, 15), st.integers(100, 1000)))
        kind = draw(st.sampled_from(["call", "interaction", "worklog"]))
        acts.append(PackAction(day, (draw(st.integers(0, 3)), f"r{i:02d}"), f"{kind}s/r{i:02d}", kind, units))
    return buys, acts


@settings(max_examples=300, deadline=None)
@given(pack_histories())
def test_service_pack_ledger_equals_the_reference_walk(history):
    buys, acts = history
    assert service_pack_ledger(buys, acts) == reference_service_pack_ledger(buys, acts)


def test_service_pack_ledger_renews_at_exactly_zero_and_many_times_at_once():
    buy = PackPurchase("row", START, "1h", 12, Decimal("80.00"), True, ())
    acts = [PackAction(START, (1,), "calls/a", "call", 12), PackAction(START, (2,), "calls/b", "call", 30)]
    moves = service_pack_ledger([buy], acts)
    assert [(m.kind, m.units, m.balance) for m in moves] == [
        ("purchase", 12, 12), ("call", -12, 0), ("renewal", 12, 12),
        ("call", -30, -18), ("renewal", 12, -6), ("renewal", 12, 6)]
    assert moves == reference_service_pack_ledger([buy], acts)


# --- klippekort -----------------------------------------------------------------------

@st.composite
def card_histories(draw, span_days: int):
    """Purchase rows and draws over `span_days`: short spans never reach a forfeiture
    (the running sums decide), long ones reach 3 idle years and 5-year limits (the walk)."""
    start = date(2023, 1, 1)
    purchases, seen = [], set()
    for i in range(draw(st.integers(0, 5))):
        size = draw(st.sampled_from([10, 20, 30]))
        day = start + timedelta(days=draw(st.integers(0, span_days)))
        if (size, day) in seen:  # a row is identified by (subscriber, product, valid_from)
            continue
        seen.add((size, day))
        price = draw(st.sampled_from([Decimal("8502.50"), Decimal("16110"), Decimal("1.5")]))
        purchases.append(CardPurchase(f"row{i}", f"S/klippekort:{size}/{day}", day, f"klippekort:{size}", size,
                                      price, draw(st.booleans()), (draw(st.integers(0, 2)), i)))
    draws = []
    for i in range(draw(st.integers(0, 40))):
        day = start + timedelta(days=draw(st.integers(0, span_days)))
        klip = draw(st.one_of(st.integers(0, 12), st.integers(25, 100)))
        draws.append(KlipDraw(day, draw(st.integers(0, 1)), (draw(st.integers(0, 3)),), f"d{i:02d}", klip))
    end = start + timedelta(days=draw(st.integers(1, span_days + 30)))
    return purchases, draws, end


def _same_ledger(history):
    purchases, draws, end = history
    got = klippekort_ledger(purchases, draws, end, 3, 5)
    want = reference_klippekort_ledger(purchases, draws, end, 3, 5)
    assert got.movements == want.movements
    assert got.allocations == want.allocations
    assert got.cards == want.cards


@settings(max_examples=300, deadline=None)
@given(card_histories(span_days=400))
def test_klippekort_running_sums_equal_the_reference_walk(history):
    _same_ledger(history)


@settings(max_examples=150, deadline=None)
@given(card_histories(span_days=3000))
def test_klippekort_ledger_with_forfeitures_equals_the_reference_walk(history):
    _same_ledger(history)


def test_short_histories_take_the_running_sums_not_the_walk(monkeypatch):
    """The equivalence above tests the vectorised ledger only if it is the one used."""
    import metering.ledgers as ledgers

    def no_walk(*args):
        raise AssertionError("the sequential walk ran for a history without forfeiture")
    monkeypatch.setattr(ledgers, "_klippekort_walk", no_walk)
    card = CardPurchase("row", "S/klippekort:10/2026-01-01", START, "klippekort:10", 10, Decimal("1"), True)
    led = klippekort_ledger([card], [KlipDraw(START, 1, (), "t1", 25), KlipDraw(START, 0, (), "a1", 1)],
                            date(2027, 1, 1), 3, 5)
    assert [(m.kind, m.card_id, m.klip, m.balance) for m in led.movements] == [
        ("purchase", "S/klippekort:10/2026-01-01", 10, 10),
        ("draw", "S/klippekort:10/2026-01-01", -1, 9),      # the add-on draw first (K4 order)
        ("draw", "S/klippekort:10/2026-01-01", -9, 0),
        ("renewal", "S/klippekort:10/2026-01-01#1", 10, 10),
        ("draw", "S/klippekort:10/2026-01-01#1", -10, 0),
        ("renewal", "S/klippekort:10/2026-01-01#2", 10, 10),
        ("draw", "S/klippekort:10/2026-01-01#2", -6, 4)]
    assert led.allocations["t1"] == [("S/klippekort:10/2026-01-01", 9), ("S/klippekort:10/2026-01-01#1", 10),
                                     ("S/klippekort:10/2026-01-01#2", 6)]


def test_klippekort_forfeiture_on_the_boundary_days_equals_the_reference_walk():
    """The shortest idle spans that forfeit (3 years to the day, 29 February → 28
    February: 1,095 days) must reach the walk; one day less must not forfeit."""
    for bought, later in ((date(2024, 2, 29), date(2027, 2, 28)), (date(2023, 1, 1), date(2026, 1, 1)),
                          (date(2023, 1, 2), date(2026, 1, 1))):
        card = CardPurchase("row", f"S/klippekort:10/{bought}", bought, "klippekort:10", 10, Decimal("1"), False)
        for end in (later, later + timedelta(days=1)):
            draws = [KlipDraw(bought, 1, (), "t0", 1), KlipDraw(later, 1, (), "t1", 2)]
            _same_ledger(([card], draws, end))
            _same_ledger(([card], draws[1:], end))
