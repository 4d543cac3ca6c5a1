"""The `klippekort` tariff family (pricing.md K1–K6): punch cards of klip (hours),
drawn by tasks and add-ons, oldest card first, recomputed from the first purchase every
run. DuckDB lists the tasks (`sql/marts/klippekort_ledger_tasks.sql`); the ledger (draws,
renewals, overflow, forfeiture) is `metering.ledgers.klippekort_ledgers`: running sums in
Polars, and the sequential walk only for ledgers that reach a forfeiture."""
from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from metering import sqlfiles
from metering.catalog import KlippekortTariff
from metering.context import BillingInput
from metering.contracts import ContractProblem
from metering.db import rows
from metering.ledgers import CardPurchase, KlipDraw, KlipLedger, KlipMovement, add_years, klippekort_ledgers
from metering.lines import ContractError, FamilyResult, Line
from metering.money import CENT, round_half_up
from metering.periods import Month
from metering.pricing.service_pack import flag_param

FAMILY = "klippekort"
ADDON_LABEL = {"monthly_check": "Monthly check", "quarterly_check": "Quarterly check",
               "phone_support": "Phone support", "callout_8h": "Call-out guarantee 8 h",
               "callout_6h": "Call-out guarantee 6 h", "callout_4h": "Call-out guarantee 4 h"}


def _display_price(p: Decimal) -> Decimal:
    return p.quantize(CENT) if p == p.quantize(CENT) else p.normalize()


def task_klip(t: KlippekortTariff, minutes: int, activity: str | None) -> tuple[Fraction, int]:
    """K3: hours = minutes / 60 (+ the standard travel time on site); klip = ceil(hours)."""
    hours = Fraction(minutes, 60)
    if activity == "onsite":
        hours += Fraction(t.onsite_travel_hours.value)
    return hours, math.ceil(hours)


def card_rows(inp: BillingInput, t: KlippekortTariff, sid: str, end: date
              ) -> tuple[list[CardPurchase], dict[str, dict[str, str]]]:
    out, problems = [], {}
    for r in inp.family_rows(sid, FAMILY):
        if r.item not in t.cards or r.valid_from >= end:
            continue
        issues: dict[str, str] = {}
        try:
            override = r.unit_price()
        except ContractProblem as exc:
            override, issues["price"] = None, str(exc)
        price = override if override is not None else t.card_price(r.item, r.valid_from)
        auto, problem = flag_param(r, "auto_renew", t.auto_renew_default.value)
        if problem:
            issues["auto_renew"] = problem
        if issues:
            problems[r.ref] = issues
        out.append(CardPurchase(r.ref, f"{sid}/{r.product}/{r.valid_from.isoformat()}", r.valid_from, r.product,
                                t.cards[r.item].klip, price, auto, (r.file, r.line, r.product)))
    return out, problems


def addon_draws(inp: BillingInput, t: KlippekortTariff, sid: str, end: date) -> list[KlipDraw]:
    """K4: each add-on row draws its klip on the first day of every month (quarterly
    check: of every quarter) on which it is active, up to `end`."""
    out = []
    for r in inp.family_rows(sid, FAMILY):
        if r.item not in t.addons or r.valid_from >= end:
            continue
        addon = t.addons[r.item]
        m = Month.of(r.valid_from)
        while m.first < end:
            first = m.first
            if r.active_on(first) and (addon.every == "month" or first.month % 3 == 1):
                out.append(KlipDraw(first, 0, (r.valid_from, r.product), f"{r.ref}@{first.isoformat()}", addon.klip))
            if r.valid_to is not None and m.first >= r.valid_to:
                break
            m = m.next()
    return out


def rate(inp: BillingInput) -> dict[str, FamilyResult]:
    t = inp.catalog.klippekort
    month = inp.month
    vat = t.vat.rate
    end = month.end
    tasks: dict[str, list[KlipDraw]] = defaultdict(list)
    info: dict[str, dict] = {}
    for sid, feed, rid, started, local_at, local_date, activity, minutes, consultant, description in rows(
            inp.con, sqlfiles.sql("marts/klippekort_ledger_tasks"), {"end": end}):
        record = f"{feed}/{rid}"
        hours, klip = task_klip(t, int(minutes), activity)
        tasks[sid].append(KlipDraw(local_date, 1, (started, feed.encode(), rid.encode()), record, klip))
        if month.first <= local_date < end:
            info[record] = {"day": local_date, "local_at": local_at, "activity": activity, "minutes": int(minutes),
                            "hours": hours, "klip": klip, "consultant": consultant, "description": description}

    candidates = set(tasks) | {sid for sid, rs in inp.contracts.items()
                               if any(r.family == FAMILY and r.valid_from < end for r in rs)}
    known = [sid for sid in sorted(candidates, key=lambda s: s.encode()) if sid in inp.subscribers]
    rows_of = {sid: card_rows(inp, t, sid, end) for sid in known}
    draws_of = {sid: addon_draws(inp, t, sid, end) + tasks.get(sid, []) for sid in known}
    # every subscriber's ledger in one vectorised pass (metering.ledgers.klippekort_ledgers)
    ledgers = klippekort_ledgers({sid: rows_of[sid][0] for sid in known}, draws_of, end,
                                 t.forfeiture.unused_years, t.forfeiture.max_years)
    results: dict[str, FamilyResult] = {}
    for sid in known:
        cards, problems = rows_of[sid]
        draws = draws_of[sid]
        led = ledgers[sid]
        moves = [m for m in led.movements if month.first <= m.day < end]
        addon_active = any(r.item in t.addons and r.days_in(month) for r in inp.family_rows(sid, FAMILY))
        if not moves and not addon_active:
            continue
        res = FamilyResult(FAMILY, present=True,
                           ledger_movement=any(m.kind != "overflow" for m in moves))
        results[sid] = res
        res.ledger = [{"day": m.day, "kind": m.kind, "card_id": m.card_id, "record": m.record, "units": m.klip,
                       "balance": m.balance,
                       "rule": {"purchase": "K2", "renewal": "K5", "overflow": "K5", "forfeit": "K6"}.get(m.kind, "K3")}
                      for m in led.movements]
        _errors(sid, cards, problems, moves, res)
        res.lines.extend(_lines(t, moves, vat))
        res.balances.extend(_balances(led, month))
        res.warnings.extend(_warnings(t, led, month))
        # K3/K4: the month's tasks and add-on draws in ledger order, so that the klip
        # listed add up to the klip consumed (plus overflow)
        listed = sorted((d for d in draws if month.first <= d.day < end and (d.record in info or d.phase == 0)),
                        key=lambda d: (d.day, d.phase, d.order, d.record))
        for d in listed:
            alloc = led.allocations.get(d.record, [])
            drawn = {"card_id": " + ".join(c for c, _ in alloc if c is not None),
                     "draws": [{"card_id": c, "klip": str(n)} for c, n in alloc if c is not None],
                     "overflow": str(sum(n for c, n in alloc if c is None))}
            if d.phase == 0:
                item = d.record.split("/")[2].split(":", 1)[1]
                res.tasks.append({"date": d.day.isoformat(), "record": d.record, "kind": "addon",
                                  "consultant": "", "activity": "add-on", "minutes": "", "hours": "",
                                  "klip": str(d.klip), **drawn,
                                  "description": f"{ADDON_LABEL.get(item, item)} (add-on, K4)"})
                continue
            i = info[d.record]
            res.tasks.append({
                "date": i["day"].isoformat(), "record": d.record, "kind": "task",
                "consultant": i["consultant"] or "", "activity": i["activity"], "minutes": str(i["minutes"]),
                "hours": str(round_half_up(i["hours"])), "klip": str(i["klip"]), **drawn,
                "description": i["description"] or "",
            })
    return results


def _errors(sid: str, cards: list[CardPurchase], problems: dict[str, dict[str, str]],
            moves: list[KlipMovement], res: FamilyResult) -> None:
    """A row's malformed price or auto_renew rejects the months whose invoice or
    renewal decision depends on it (G10)."""
    if not problems:
        return
    used: dict[str, set[str]] = defaultdict(set)
    for m in moves:
        if m.kind == "purchase":
            used[m.record or ""].add("price")
        elif m.kind in ("renewal", "overflow"):
            eligible = [c for c in cards if c.day <= m.day]
            if eligible:
                gov = max(eligible, key=lambda c: (c.day, c.order, c.key))
                used[gov.key].add("auto_renew")
                if m.kind == "renewal":
                    used[gov.key].add("price")
    for key in sorted(used):
        for attr in sorted(used[key]):
            if attr in problems.get(key, {}):
                res.errors.append(ContractError(sid, FAMILY, "G10", problems[key][attr]))


def _lines(t: KlippekortTariff, moves: list[KlipMovement], vat: Decimal) -> list[Line]:
    """K2 purchases and renewals (one line per card size and unit price), K5 overflow at
    the hour rate valid on the draw's day, K6 forfeiture (zero amount, klip lost)."""
    out: list[Line] = []
    cards: dict[tuple[str, Decimal], list[int]] = {}
    overflow: dict[Decimal, int] = {}
    forfeits: list[KlipMovement] = []
    for m in moves:
        if m.kind in ("purchase", "renewal"):
            g = cards.setdefault((m.product or "", m.price or Decimal(0)), [0, 0])
            g[0 if m.kind == "purchase" else 1] += 1
        elif m.kind == "overflow":
            rate_ = t.hour_rate.value.at(m.day)
            overflow[rate_] = overflow.get(rate_, 0) - m.klip
        elif m.kind == "forfeit":
            forfeits.append(m)
    for (product, price), (bought, renewed) in sorted(cards.items(), key=lambda kv: (int(kv[0][0].split(":")[1]),
                                                                                      kv[0][1])):
        size = product.split(":", 1)[1]
        parts = []
        if bought:
            parts.append(f"{bought} purchase{'s' if bought != 1 else ''}")
        if renewed:
            parts.append(f"{renewed} auto-renewal{'s' if renewed != 1 else ''}")
        out.append(Line(code="klippekort.purchase", description=f"Klippekort {size} klip: {', '.join(parts)}",
                        quantity=bought + renewed, unit="card", unit_price=_display_price(price),
                        price_unit="card", exact=Fraction(price) * (bought + renewed), vat_rate=vat,
                        rule="K2", family=FAMILY))
    for rate_, klip in sorted(overflow.items()):
        out.append(Line(code="klippekort.overflow", description="Hours beyond the klippekort, at the full hour rate",
                        quantity=klip, unit="klip", unit_price=_display_price(rate_),
                        price_unit="klip", exact=Fraction(rate_) * klip, vat_rate=vat, rule="K5",
                        family=FAMILY))
    if forfeits:
        lost = -sum(m.klip for m in forfeits)
        which = "; ".join(f"{m.card_id} ({-m.klip} klip on {m.day.isoformat()})" for m in forfeits)
        out.append(Line(code="klippekort.forfeit", description=f"Klip forfeited: {which}", quantity=lost, unit="klip",
                        unit_price=Decimal("0.00"), price_unit="klip", exact=Fraction(0),
                        vat_rate=vat, rule="K6", family=FAMILY))
    return out


def _balances(led: KlipLedger, month: Month) -> list[dict]:
    out = []
    for card in led.cards:
        if card.purchase_date >= month.end:
            continue
        mine = [m for m in led.movements if m.card_id == card.card_id]
        opening = sum(m.klip for m in mine if m.day < month.first)
        inside = [m for m in mine if month.first <= m.day < month.end]
        credited = sum(m.klip for m in inside if m.kind in ("purchase", "renewal"))
        consumed = -sum(m.klip for m in inside if m.kind == "draw")
        forfeited = -sum(m.klip for m in inside if m.kind == "forfeit")
        closing = opening + credited - consumed - forfeited
        if not inside and closing == 0:
            continue
        out.append({"kind": "klippekort", "unit": "klip", "card_id": card.card_id,
                    "purchase_date": card.purchase_date.isoformat(), "opening": str(opening),
                    "credited": str(credited), "consumed": str(consumed), "forfeited": str(forfeited),
                    "closing": str(closing)})
    return out


def _warnings(t: KlippekortTariff, led: KlipLedger, month: Month) -> list[str]:
    """K6: cards that will forfeit klip between the issue date and `warning_days` after
    it (inclusive), as things stand at the end of the month."""
    issue = month.end
    last = issue + timedelta(days=t.forfeiture.warning_days)
    out = []
    for card in led.cards:
        if card.remaining <= 0:
            continue
        when = card.forfeit_date(t.forfeiture.unused_years, t.forfeiture.max_years)
        if issue <= when <= last:
            if when == add_years(card.purchase_date, t.forfeiture.max_years):
                why = f"{t.forfeiture.max_years} years after its purchase"
            else:
                why = (f"{t.forfeiture.unused_years} years after its last use on "
                       f"{(card.last_use or card.purchase_date).isoformat()}, unless used before")
            out.append(f"Klippekort {card.card_id}: {card.remaining} klip will be forfeited on "
                       f"{when.isoformat()} ({why}) (K6)")
    return out

