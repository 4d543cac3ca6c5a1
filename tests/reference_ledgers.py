"""The prepaid ledgers as plain sequential walks — the test reference for the
vectorised Polars ledgers in `metering.ledgers` (pricing.md S2–S4).

This is the ledger the product ran before it was vectorised, kept word for word as the
specification in code: one event at a time, the rules as the spec states them. Tests
require the production ledger to give exactly the same movements (every field) for
random histories (tests/test_ledger_equivalence.py). Never imported by `metering`."""
from __future__ import annotations

from metering.ledgers import PackAction, PackMovement, PackPurchase


def reference_service_pack_ledger(purchases: list[PackPurchase], actions: list[PackAction]) -> list[PackMovement]:
    """S2–S4 and the finer points: one running balance; each purchase is credited at the
    start of its day, before that day's actions; actions in start-time order (ties by
    feed, then id). When an action leaves the balance ≤ 0, the pack of the most recent
    purchase row dated on or before the action is bought again at that row's price,
    dated the action's day, as often as needed to bring the balance above 0 — unless
    that row says `auto_renew: false`. Units never expire."""
    rows_sorted = sorted(purchases, key=lambda p: (p.day, p.order, p.key))
    events: list[tuple] = [((p.day, 0, p.order, p.key), "purchase", p) for p in rows_sorted]
    events += [((a.day, 1, a.order, a.record), "action", a) for a in actions]
    events.sort(key=lambda e: e[0])
    balance = 0
    out: list[PackMovement] = []
    governing: PackPurchase | None = None   # most recent purchase row so far
    for _, what, ev in events:
        if what == "purchase":
            balance += ev.units
            governing = ev
            out.append(PackMovement(ev.day, "purchase", ev.key, ev.units, balance, ev.pack, ev.price, ev.key))
            continue
        balance -= ev.units
        out.append(PackMovement(ev.day, ev.kind, ev.record, -ev.units, balance))
        if balance <= 0 and governing is not None and governing.auto_renew:
            times = -balance // governing.units + 1
            for _ in range(times):
                balance += governing.units
                out.append(PackMovement(ev.day, "renewal", ev.record, governing.units, balance,
                                        governing.pack, governing.price, governing.key))
    return out
