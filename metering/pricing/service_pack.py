"""The `service_pack` tariff family (pricing.md S1–S6): a prepaid unit balance per
subscriber, carried across months and recomputed from the first purchase every run.

DuckDB gives each action its units (`sql/marts/service_pack_ledger_actions.sql`); the
sequential walk (balance, auto-renewals) is `metering.ledgers.service_pack_ledger`."""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from fractions import Fraction

from metering import sqlfiles
from metering.catalog import ServicePackTariff
from metering.context import BillingInput
from metering.contracts import ContractProblem, Row
from metering.db import rows
from metering.ledgers import PackAction, PackMovement, PackPurchase, service_pack_ledger
from metering.lines import Anomaly, ContractError, FamilyResult, Line
from metering.money import CENT, fmt_qty

FAMILY = "service_pack"
PACK_LABEL = {"1h": "1 h", "3h": "3 h", "10h": "10 h"}


def _display_price(p: Decimal) -> Decimal:
    return p.quantize(CENT) if p == p.quantize(CENT) else p.normalize()


def flag_param(row: Row, name: str, default: bool) -> tuple[bool, str | None]:
    """A boolean parameter of a row: (value, problem). A value that is present but not
    a JSON boolean is a contract problem (G10), never silently the default."""
    if name not in row.params:
        return default, None
    value = row.params[name]
    if isinstance(value, bool):
        return value, None
    return default, (f"{row.product} from {row.valid_from}: params.{name} must be true or false, "
                     f"got {value!r}")


def _row_order(r: Row) -> tuple:
    """Tie-break among purchase rows of one day: the row that arrived last (files in
    name order, then line) is the most recent."""
    return (r.file, r.line, r.product)


def purchases(inp: BillingInput, t: ServicePackTariff, sid: str, end: date
              ) -> tuple[list[PackPurchase], dict[str, dict[str, str]]]:
    """The subscriber's pack purchase rows dated before `end`, with the problems of each
    row by attribute ("price", "auto_renew")."""
    out, problems = [], {}
    for r in inp.family_rows(sid, FAMILY):
        if r.group != "servicepack" or r.item not in t.packs or r.valid_from >= end:
            continue
        pack = t.packs[r.item]
        issues: dict[str, str] = {}
        try:
            override = r.unit_price()
        except ContractProblem as exc:
            override, issues["price"] = None, str(exc)
        price = override if override is not None else pack.price.at(r.valid_from)
        auto, problem = flag_param(r, "auto_renew", t.auto_renew_default)
        if problem:
            issues["auto_renew"] = problem
        if issues:
            problems[r.ref] = issues
        out.append(PackPurchase(r.ref, r.valid_from, r.item, pack.units, price, auto, _row_order(r)))
    return out, problems


def rate(inp: BillingInput) -> dict[str, FamilyResult]:
    t = inp.catalog.service_pack
    month = inp.month
    vat = t.vat.rate
    actions: dict[str, list[PackAction]] = defaultdict(list)
    detail: dict[str, dict] = {}
    for (sid, feed, rid, kind, started, local_at, local_date, duration, units, activity, km) in rows(
            inp.con, sqlfiles.sql("marts/service_pack_ledger_actions"),
            {"end": month.end, "unit_s": t.unit_minutes * 60}):
        record = f"{feed}/{rid}"
        actions[sid].append(PackAction(local_date, (started, feed.encode(), rid.encode()), record, kind, int(units)))
        if month.first <= local_date < month.end:
            detail[record] = {"local_at": local_at, "duration_s": int(duration), "activity": activity,
                              "km": km, "day": local_date}

    candidates = set(actions) | {sid for sid, rs in inp.contracts.items()
                                 if any(r.family == FAMILY and r.valid_from < month.end for r in rs)}
    results: dict[str, FamilyResult] = {}
    for sid in sorted(candidates, key=lambda s: s.encode()):
        if sid not in inp.subscribers:
            continue  # records of an unknown subscriber are anomalies (billing.py), not ledger
        bought, problems = purchases(inp, t, sid, month.end)
        ledger = service_pack_ledger(bought, actions.get(sid, []))
        moves = [m for m in ledger if month.first <= m.day < month.end]
        if not moves:
            continue
        res = FamilyResult(FAMILY, present=True, ledger_movement=True)
        results[sid] = res
        res.ledger = [{"day": m.day, "kind": m.kind, "card_id": m.pack, "record": m.record, "units": m.units,
                       "balance": m.balance,
                       "rule": {"purchase": "S2", "renewal": "S4"}.get(m.kind, "S1")} for m in ledger]
        _errors(sid, bought, problems, moves, res)
        res.lines.extend(_purchase_lines(moves, vat))
        res.lines.extend(_travel_lines(t, moves, detail, vat))
        res.anomalies.extend(_hours_anomalies(t, sid, moves, detail))
        before = [m for m in ledger if m.day < month.first]
        opening = before[-1].balance if before else 0
        credited = sum(m.units for m in moves if m.units > 0)
        consumed = -sum(m.units for m in moves if m.units < 0)
        res.balances.append({"kind": "service_pack", "unit": "units", "opening": str(opening),
                             "credited": str(credited), "consumed": str(consumed), "forfeited": "0",
                             "closing": str(opening + credited - consumed)})
        for m in moves:
            d = detail.get(m.record, {}) if m.kind not in ("purchase", "renewal") else {}
            res.actions.append({
                "date": m.day.isoformat(), "record": m.record, "kind": m.kind, "units": str(m.units),
                "balance": str(m.balance),
                "pack": m.pack,
                "started_at": d["local_at"].strftime("%Y-%m-%d %H:%M:%S") if d else None,
                "duration_s": str(d["duration_s"]) if d else None,
            })
    return results


def _errors(sid: str, bought: list[PackPurchase], problems: dict[str, dict[str, str]],
            moves: list[PackMovement], res: FamilyResult) -> None:
    """A row's malformed price or auto_renew rejects the months whose invoice or
    renewal decision depends on it (G10)."""
    if not problems:
        return
    used: dict[str, set[str]] = defaultdict(set)
    for m in moves:
        if m.kind in ("purchase", "renewal"):
            assert m.row is not None  # the ledger names the row of every purchase and renewal
            used[m.row].add("price")
            if m.kind == "renewal":
                used[m.row].add("auto_renew")
        elif m.balance <= 0:
            gov = _governing(bought, m.day)
            if gov is not None:
                used[gov.key].add("auto_renew")
    for key in sorted(used):
        for attr in sorted(used[key]):
            if attr in problems.get(key, {}):
                res.errors.append(ContractError(sid, FAMILY, "G10", problems[key][attr]))


def _governing(bought: list[PackPurchase], day: date) -> PackPurchase | None:
    eligible = [p for p in bought if p.day <= day]
    return max(eligible, key=lambda p: (p.day, p.order, p.key)) if eligible else None


def _purchase_lines(moves: list[PackMovement], vat: Decimal) -> list[Line]:
    """S2/S4: the month's purchases and renewals, one line per pack and unit price."""
    groups: dict[tuple[str, Decimal], list[int]] = {}
    for m in moves:
        if m.kind in ("purchase", "renewal"):
            assert m.pack is not None and m.price is not None  # set on every purchase and renewal
            g = groups.setdefault((m.pack, m.price), [0, 0])
            g[0 if m.kind == "purchase" else 1] += 1
    out = []
    order = {p: i for i, p in enumerate(PACK_LABEL)}
    for (pack, price), (bought, renewed) in sorted(groups.items(), key=lambda kv: (order.get(kv[0][0], 9), kv[0][1])):
        qty = bought + renewed
        parts = []
        if bought:
            parts.append(f"{bought} purchase{'s' if bought != 1 else ''}")
        if renewed:
            parts.append(f"{renewed} auto-renewal{'s' if renewed != 1 else ''}")
        units = {"1h": 12, "3h": 36, "10h": 120}.get(pack)
        desc = f"Service Pack {PACK_LABEL.get(pack, pack)}" + (f" ({units} units)" if units else "")
        out.append(Line(code="servicepack.purchase", description=f"{desc}: {', '.join(parts)}", quantity=qty,
                        unit="pack", unit_price=_display_price(price), price_unit="pack",
                        exact=Fraction(price) * qty, vat_rate=vat, rule="S2", family=FAMILY))
    return out


def _travel_lines(t: ServicePackTariff, moves: list[PackMovement], detail: dict[str, dict],
                  vat: Decimal) -> list[Line]:
    """S5: each on-site work log max(km × rate, minimum) (a missing km is 0). Trips
    charged by distance go on a line in km at the km rate, trips at the minimum on a
    line in trips at the minimum (one line per code and unit price, G2)."""
    per_km: dict[Decimal, list] = {}
    minimum: dict[Decimal, int] = {}
    for m in moves:
        if m.kind != "worklog" or m.record not in detail:
            continue
        d = detail[m.record]
        if d["activity"] != "onsite":
            continue
        km = Decimal(d["km"]) if d["km"] is not None else Decimal(0)
        rate_, floor = t.travel.per_km.at(d["day"]), t.travel.minimum_per_trip.at(d["day"])
        if km * rate_ >= floor:
            g = per_km.setdefault(rate_, [0, Decimal(0)])
            g[0] += 1
            g[1] += km
        else:
            minimum[floor] = minimum.get(floor, 0) + 1
    out = []
    for rate_, (trips, km) in sorted(per_km.items()):
        out.append(Line(code="servicepack.travel",
                        description=f"Travel, {trips} on-site trip{'s' if trips != 1 else ''}, "
                                    f"{fmt_qty(km)} km round trip",
                        quantity=km, unit="km", unit_price=rate_, price_unit="km", exact=Fraction(km) * Fraction(rate_),
                        vat_rate=vat, rule="S5", family=FAMILY))
    for floor, trips in sorted(minimum.items()):
        out.append(Line(code="servicepack.travel",
                        description=f"Travel, minimum per on-site trip ({trips} trip{'s' if trips != 1 else ''})",
                        quantity=trips, unit="trip", unit_price=floor, price_unit="trip",
                        exact=Fraction(floor) * trips, vat_rate=vat, rule="S5", family=FAMILY))
    return out


def _hours_anomalies(t: ServicePackTariff, sid: str, moves: list[PackMovement],
                     detail: dict[str, dict]) -> list[Anomaly]:
    """S6: actions starting outside service hours are rated and listed (half-open)."""
    hours = t.service_hours
    spans = ", ".join(f"{s.from_}–{s.to}" for s in hours.spans)
    out = []
    for m in moves:
        if m.kind in ("purchase", "renewal") or m.record not in detail:
            continue
        at = detail[m.record]["local_at"]
        second = at.hour * 3600 + at.minute * 60 + at.second
        if not hours.contains(at.weekday(), second):
            out.append(Anomaly("outside_hours", "S6", sid, m.record,
                               f"{m.kind} started {at:%Y-%m-%d %H:%M:%S} local ({at:%a}), outside service "
                               f"hours Mon–Fri {spans}; rated normally"))
    return out
