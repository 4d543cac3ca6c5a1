"""The `remote_support` tariff family (pricing.md L1–L4).

- L1: every work log `remote_support` rates (routing: `usage.family`) is an invoice
  item: time amount = half-up(minutes × hourly rate / 60) to cents, the rate being the
  `params.unit_price` of the `remote:standard` row active that local day, else the
  catalog rate valid that day. `remote.time` = Σ rounded time amounts (one line per
  hourly rate); a session (`activity = remote`) costs at least the session minimum:
  `remote.session_minimum` = Σ max(0, minimum − its rounded time amount).
- L2 (invoice minimum over the whole specification) and the 14-day term are this
  family's hooks (`REMOTE_SUPPORT`), which `metering.billing` applies to the whole
  specification of a subscriber that has remote support in the month.
- L3: sessions starting outside business hours (local, half-open) are rated at the
  same rate and listed as anomalies, unless an always-reachable add-on (`remote:pager`)
  is active that day.
- L4: `remote:pager` / `remote:lpas` monthly at the row's `params.unit_price`, prorated
  by G4; a row without one is a contract error in every month it is active.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from metering import sqlfiles
from metering.catalog import REMOTE_ADDONS, Catalog, RemoteSupportTariff
from metering.charges import Charge, Registry, fee, registry
from metering.context import BillingInput
from metering.contracts import ContractProblem, Row
from metering.lines import Anomaly, ContractError, FamilyResult, Line, RatedRecord, fee_line
from metering.money import ZERO, fmt, round_half_up
from metering.periods import Month
from metering.specification import totals

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
            res.lines.extend(_time_lines(registry(inp.catalog), t, sid, family_rows, logs.get(sid, []), res))
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


def _time_lines(charges: Registry, t: RemoteSupportTariff, sid: str, family_rows: list[Row], logs: list[tuple],
                res: FamilyResult) -> list[Line]:
    """L1 as one rating relation: each work log's time charge (and a session's top-up to
    the minimum) with its rounded amount, kept as the per-record trace (`res.rated`); the
    lines are its sums per code and unit price."""
    time, top_up = charges["remote.time"], charges["remote.session_minimum"]
    rated: list[tuple[RatedRecord, Decimal]] = []  # each record's charge and its amount (rounded per record)
    for rid, activity, minutes, local_at, day in logs:
        row = _standard_row(sid, family_rows, day, res)
        override = row.unit_price() if row is not None else None
        hourly = override if override is not None else t.hour_rate.at(day)
        amount = round_half_up(Fraction(minutes) * Fraction(hourly) / 60)
        rated.append((RatedRecord(feed="worklogs", record_id=rid, code=time.code, rule=time.rule, quantity=minutes,
                                  unit_price=hourly), amount))
        if activity == "remote":
            floor = t.session_minimum.at(day)
            if amount < floor:
                rated.append((RatedRecord(feed="worklogs", record_id=rid, code=top_up.code, rule=top_up.rule,
                                          quantity=1, unit_price=floor), floor - amount))
    res.rated.extend(r for r, _ in rated)
    sums: dict[tuple[str, Decimal], list] = {}  # (code, unit price) → [quantity, Σ amounts, records]
    for r, amount in rated:
        acc = sums.setdefault((r.code, r.unit_price), [0, ZERO, 0])
        acc[0] += r.quantity
        acc[1] += amount
        acc[2] += 1
    vat = t.vat.rate
    out = []
    for (code, price), (quantity, total, n) in sorted(sums.items(), key=lambda kv: (charges[kv[0][0]].order,
                                                                                    kv[0][1])):
        if code == time.code:
            out.append(time.line(rate=fmt(price), n=n, s="s" if n != 1 else "", quantity=quantity, unit_price=price,
                                 exact=Fraction(total), vat_rate=vat, rounded=total))
        else:
            out.append(top_up.line(floor=fmt(price), n=n, s="s" if n != 1 else "", quantity=quantity,
                                   unit_price=price, exact=Fraction(total), vat_rate=vat))
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
        charge = registry(inp.catalog)[f"remote.{r.item}"]
        line = fee_line(charge, charge.describe(name=ADDON_NAMES.get(r.item, r.item), span=span), days, month,
                        lambda _day: price, t.vat.rate, price)  # called at once: no late binding
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


def charges(catalog: Catalog) -> list[Charge]:
    """The family's line codes (metering.charges), in the order of its lines."""
    r = FAMILY
    return [
        Charge(code="remote.time", family=r, service="remote", rule="L1", unit="minute", price_unit="hour", order=0,
               text="Remote support time at {rate} per hour ({n} work log{s}, each rounded to cents)"),
        Charge(code="remote.session_minimum", family=r, service="remote", rule="L1", unit="session",
               price_unit="session", order=1, text="Session minimum {floor}: supplement for {n} session{s} below it"),
        *(fee(f"remote.{item}", r, "remote", "L4", 2) for item in sorted(REMOTE_ADDONS)),
        # L2 is added over the whole specification (after every family's lines)
        Charge(code="invoice.minimum", family=r, service="invoice", rule="L2", unit="invoice",
               price_unit="invoice", order=3, text="Minimum invoice amount {minimum}"),
    ]


def invoice_minimum(catalog: Catalog, month: Month, lines: list[Line]) -> Line | None:
    """L2: a month whose subtotal of own lines is above 0 and below the minimum gets a
    supplement (adjustments never count here, X4)."""
    t = catalog.remote_support
    minimum = t.invoice_minimum.at(month.last)
    subtotal, _, _ = totals(lines)
    if Decimal("0") < subtotal < minimum:
        gap = minimum - subtotal
        return registry(catalog)["invoice.minimum"].line(minimum=fmt(minimum), quantity=1, unit_price=gap,
                                                         exact=Fraction(gap), vat_rate=t.vat.rate)
    return None


@dataclass(frozen=True)
class RemoteSupport:
    """The family's shape (metering.families.TariffFamily)."""
    name: str = FAMILY
    model: type[RemoteSupportTariff] = RemoteSupportTariff
    usage_family: str | None = FAMILY  # work logs on a day with remote:standard (sql/marts/usage.sql)

    def product_codes(self) -> tuple[str, ...]:
        return self.model.product_codes()

    def rate(self, inp: BillingInput) -> dict[str, FamilyResult]:
        return rate(inp)

    def charges(self, catalog: Catalog) -> list[Charge]:
        return charges(catalog)

    def invoice_minimum(self, catalog: Catalog, month: Month, lines: list[Line]) -> Line | None:
        return invoice_minimum(catalog, month, lines)

    def payment_term_days(self, catalog: Catalog) -> int | None:
        """G8: 14 days (the tariff's term) for the whole specification."""
        return catalog.remote_support.payment_term_days.value


REMOTE_SUPPORT = RemoteSupport()
