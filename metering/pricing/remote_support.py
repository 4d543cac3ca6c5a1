"""The `remote_support` tariff family (pricing.md L1–L4).

- L1: every work log `remote_support` rates (routing: `usage.family`) is an invoice
  item: time amount = half-up(minutes × hourly rate / 60) to cents, the rate being the
  `params.unit_price` of the `remote:standard` row active that local day, else the
  catalog rate valid that day. `remote.time` = Σ rounded time amounts (one line per
  hourly rate); a session (`activity = remote`) costs at least the session minimum:
  `remote.session_minimum` = Σ max(0, minimum − its rounded time amount).
- L2 (invoice minimum over the whole specification) and the 14-day term are added by
  `metering.billing`, not here.
- L3: sessions starting outside business hours (local, half-open) are rated at the
  same rate and listed as anomalies, unless an always-reachable add-on (`remote:pager`)
  is active that day.
- L4: `remote:pager` / `remote:lpas` monthly at the row's `params.unit_price`, prorated
  by G4; a row without one is a contract error in every month it is active.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from metering import sqlfiles
from metering.catalog import RemoteSupportTariff
from metering.context import BillingInput
from metering.contracts import ContractProblem, Row
from metering.lines import Anomaly, ContractError, FamilyResult, Line, fee_line
from metering.money import ZERO, fmt, round_half_up

FAMILY = "remote_support"
ADDON_NAMES = {"pager": "Pager service (24/7)", "lpas": "LPAS monitoring"}


def rate(inp: BillingInput) -> dict[str, FamilyResult]:
    t = inp.catalog.remote_support
    month = inp.month
    logs: dict[str, list[tuple]] = defaultdict(list)
    for sid, rid, activity, minutes, local_at, local_date in sqlfiles.rows(
            inp.con, "marts/remote_support_logs", {"m": str(month)}):
        logs[sid].append((rid, activity, int(minutes), local_at, local_date))

    results: dict[str, FamilyResult] = {}
    candidates = set(logs) | {sid for sid in inp.contracts
                              if any(r.group == "remote" and r.item in t.addons
                                     for r in inp.month_rows(sid, FAMILY))}
    for sid in sorted(candidates, key=lambda s: s.encode()):
        if sid not in inp.subscribers:
            continue
        res = FamilyResult(FAMILY, present=True)
        results[sid] = res
        family_rows = inp.family_rows(sid, FAMILY)
        try:
            res.lines.extend(_time_lines(t, sid, family_rows, logs.get(sid, []), res))
        except ContractProblem as exc:
            res.errors.append(ContractError(sid, FAMILY, "L1", str(exc)))
        res.lines.extend(_addon_lines(inp, t, sid, res))
        _hours_anomalies(t, sid, family_rows, logs.get(sid, []), res)
    return results


def _standard_row(sid: str, family_rows: list[Row], day: date, res: FamilyResult) -> Row | None:
    live = [r for r in family_rows if r.product == "remote:standard" and r.active_on(day)]
    if not live:
        return None
    if len(live) > 1:
        ref = f"remote:standard on {day}"
        if not any(a.record == ref for a in res.anomalies):
            res.anomalies.append(Anomaly(
                "contract_inconsistency", "L1", sid, ref,
                f"{len(live)} remote:standard rows are active on {day}; the one from "
                f"{max(r.valid_from for r in live)} (latest) sets the rate"))
    return max(live, key=lambda r: (r.valid_from, r.product))


def _time_lines(t: RemoteSupportTariff, sid: str, family_rows: list[Row], logs: list[tuple],
                res: FamilyResult) -> list[Line]:
    vat = t.vat.rate
    time: dict[Decimal, list] = {}          # rate → [minutes, Σ rounded, work logs]
    minimum: dict[Decimal, list] = {}       # session minimum → [sessions topped up, Σ top-ups]
    for rid, activity, minutes, local_at, day in logs:
        row = _standard_row(sid, family_rows, day, res)
        override = row.unit_price() if row is not None else None
        hourly = override if override is not None else t.hour_rate.at(day)
        amount = round_half_up(Fraction(minutes) * Fraction(hourly) / 60)
        acc = time.setdefault(hourly, [0, ZERO, 0])
        acc[0] += minutes
        acc[1] += amount
        acc[2] += 1
        if activity == "remote":
            floor = t.session_minimum.at(day)
            if amount < floor:
                m = minimum.setdefault(floor, [0, ZERO])
                m[0] += 1
                m[1] += floor - amount
    out = []
    for hourly, (minutes, total, n) in sorted(time.items()):
        out.append(Line(code="remote.time",
                        description=f"Remote support time at {fmt(hourly)} per hour ({n} work "
                                    f"log{'s' if n != 1 else ''}, each rounded to cents)",
                        quantity=minutes, unit="minute", unit_price=hourly, price_unit="hour", exact=Fraction(total),
                        vat_rate=vat, rule="L1", family=FAMILY, rounded=total))
    for floor, (n, total) in sorted(minimum.items()):
        out.append(Line(code="remote.session_minimum",
                        description=f"Session minimum {fmt(floor)}: supplement for {n} "
                                    f"session{'s' if n != 1 else ''} below it",
                        quantity=n, unit="session", unit_price=floor, price_unit="session", exact=Fraction(total),
                        vat_rate=vat, rule="L1", family=FAMILY))
    return out


def _addon_lines(inp: BillingInput, t: RemoteSupportTariff, sid: str, res: FamilyResult) -> list[Line]:
    month = inp.month
    out = []
    for r in sorted((r for r in inp.month_rows(sid, FAMILY) if r.item in t.addons),
                    key=lambda r: (r.item, r.valid_from)):
        days = r.days_in(month)
        try:
            price = r.unit_price()
        except ContractProblem as exc:
            res.errors.append(ContractError(sid, FAMILY, "L4", str(exc)))
            continue
        if price is None:
            res.errors.append(ContractError(
                sid, FAMILY, "L4", f"{r.product} from {r.valid_from} has no params.unit_price: the price sheet "
                "gives no price for this add-on, so its row must carry the agreed monthly price"))
            continue
        span = f"{days[0]:%d %b}–{days[-1]:%d %b}" if len(days) > 1 else f"{days[0]:%d %b}"
        line = fee_line(f"remote.{r.item}", f"{ADDON_NAMES.get(r.item, r.item)} ({span})", days, month,
                        lambda _day: price, t.vat.rate, "L4", FAMILY, price)  # called at once: no late binding
        if line:
            out.append(line)
    return out


def _hours_anomalies(t: RemoteSupportTariff, sid: str, family_rows: list[Row], logs: list[tuple],
                     res: FamilyResult) -> None:
    """L3: sessions starting outside business hours, unless a 24/7 add-on is active."""
    reachable = [r for r in family_rows if r.item in t.addons and t.addons[r.item].always_reachable]
    hours = t.business_hours
    spans = ", ".join(f"{s.from_}–{s.to}" for s in hours.spans)
    names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    wd = sorted(hours.weekdays)
    days = (f"{names[wd[0]]}–{names[wd[-1]]}" if wd and wd == list(range(wd[0], wd[-1] + 1))
            else ", ".join(names[d] for d in wd))
    for rid, activity, _minutes, local_at, day in logs:
        if activity != "remote":
            continue
        at: datetime = local_at
        second = at.hour * 3600 + at.minute * 60 + at.second
        if hours.contains(at.weekday(), second) or any(r.active_on(day) for r in reachable):
            continue
        res.anomalies.append(Anomaly(
            "outside_hours", "L3", sid, f"worklogs/{rid}",
            f"remote session started {at:%a %Y-%m-%d %H:%M:%S} local, outside business hours "
            f"({days} {spans}) and no pager subscription active that day; rated at the normal rate"))
