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
from reference_ledgers import reference_service_pack_ledger

from metering.ledgers import PackAction, PackPurchase, service_pack_ledger

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
