"""The prepaid ledgers as plain sequential walks — the test reference for the
vectorised Polars ledgers in `metering.ledgers` (pricing.md S2–S4, K5–K6).

This is the ledger the product ran before it was vectorised, kept word for word as the
specification in code: one event at a time, the rules as the spec states them. Tests
require the production ledger to give exactly the same movements (every field) for
random histories (tests/test_ledger_equivalence.py). Never imported by `metering`."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from metering.ledgers import (
    Card,
    CardPurchase,
    KlipDraw,
    KlipLedger,
    KlipMovement,
    PackAction,
    PackMovement,
    PackPurchase,
)


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


def reference_klippekort_ledger(purchases: list[CardPurchase], draws: list[KlipDraw], end: date,
                      unused_years: int, max_years: int) -> KlipLedger:
    """K2, K4–K6 and the finer points, from the first event up to `end` (exclusive).

    Within a day: forfeitures, purchases (rows in row order), add-on draws, tasks in
    start-time order (ties by id). Oldest card first (purchase date, then row order,
    renewals after the rows of their day); a card never goes negative; a draw may span
    cards. Missing klip: if the most recent purchase row dated on or before that day
    has auto_renew, as many cards of its size as the draw needs are bought that day at
    its price and drawn; otherwise (or with no card row at all) the missing klip are
    overflow. Forfeiture happens at the start of a card's forfeit date.
"""
    led = KlipLedger()
    rows_sorted = sorted(purchases, key=lambda p: (p.day, p.order, p.key))
    draws_sorted = sorted(draws, key=lambda d: (d.day, d.phase, d.order, d.record))
    days = sorted({p.day for p in rows_sorted if p.day < end} | {d.day for d in draws_sorted if d.day < end})
    renewals_per_day: dict[tuple[str, date], int] = {}
    governing: CardPurchase | None = None
    pi = di = 0

    def forfeit_until(limit: date, inclusive: bool) -> None:
        while True:
            due = [(c.forfeit_date(unused_years, max_years), i, c) for i, c in enumerate(led.cards)
                   if c.remaining > 0]
            due = [d for d in due if (d[0] <= limit if inclusive else d[0] < limit)]
            if not due:
                return
            when, _, card = min(due, key=lambda d: (d[0], d[1]))
            lost = card.remaining
            card.remaining = 0
            card.forfeited += lost
            led.movements.append(KlipMovement(when, "forfeit", card.card_id, -lost, 0, None, Decimal("0"),
                                              card.product))

    def take(day: date, record: str, need: int) -> int:
        for card in led.cards:
            if need == 0:
                break
            if card.remaining <= 0:
                continue
            n = min(card.remaining, need)
            card.remaining -= n
            card.last_use = day
            need -= n
            led.allocations.setdefault(record, []).append((card.card_id, n))
            led.movements.append(KlipMovement(day, "draw", card.card_id, -n, card.remaining, record,
                                              None, card.product))
        return need

    for day in days:
        forfeit_until(day, inclusive=True)
        while pi < len(rows_sorted) and rows_sorted[pi].day <= day:
            p = rows_sorted[pi]
            pi += 1
            if p.day < day:  # pragma: no cover - every purchase day is an event day
                continue
            led.cards.append(Card(p.card_id, p.product, p.day, p.klip, p.price, p.klip, p.key))
            governing = p
            led.movements.append(KlipMovement(day, "purchase", p.card_id, p.klip, p.klip, p.key, p.price,
                                              p.product))
        while di < len(draws_sorted) and draws_sorted[di].day == day:
            d = draws_sorted[di]
            di += 1
            missing = take(day, d.record, d.klip)
            if missing and governing is not None and governing.auto_renew:
                while missing > 0:
                    k = (governing.product, day)
                    renewals_per_day[k] = renewals_per_day.get(k, 0) + 1
                    base = governing.card_id.rsplit("/", 1)[0]
                    card = Card(f"{base}/{day.isoformat()}#{renewals_per_day[k]}", governing.product, day,
                                governing.klip, governing.price, governing.klip, governing.key)
                    led.cards.append(card)
                    led.movements.append(KlipMovement(day, "renewal", card.card_id, card.size, card.size,
                                                      d.record, card.price, card.product))
                    missing = take(day, d.record, missing)
            if missing:
                led.allocations.setdefault(d.record, []).append((None, missing))
                led.movements.append(KlipMovement(day, "overflow", None, -missing, None, d.record))
    forfeit_until(end, inclusive=False)
    return led
