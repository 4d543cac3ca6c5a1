"""The `interact` tariff family — #Interact HUB / PRO (pricing.md I1–I4, finer points).

A *plan* is a chain of `interact:HUB|PRO` rows that follow each other without a gap
(HUB → PRO does not restart it). Every interact price is the one valid on the first day
of the plan in force (G5, which the sheet makes binding); a row's `params.unit_price`
replaces the price the row itself charges (seat price on a plan row, the fee of an
option, the price of a one-off).

- I1 seats: per day a plan row is active, max(3, Σ quantity of `interact:users` rows
  active that day) × seat price / days in the month; one `interact.seats` line per plan
  row.
- I2 options: `interact:generic_api`, `interact:chatbot_api` prorated by G4 on their
  own rows; a chatbot API on a day without the generic API rejects the month (G10).
- I3 one-offs in the month of the row's `valid_from`; an API activation includes
  integration and training of the same month (not charged again: no line).
- I4 early termination: a plan ending before its 12th monthly anniversary owes, in the
  month of its last active day, `params.early_termination_fee` or remaining months ×
  the last day's monthly seats-and-options charge.
"""
from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import partial

from metering.catalog import INTERACT_OPTIONS, INTERACT_PLANS, ONE_OFFS, InteractTariff
from metering.charges import registry
from metering.context import BillingInput
from metering.contracts import ContractProblem, Row, overlapping_days
from metering.lines import Anomaly, ContractError, FamilyResult, Line, fee_line
from metering.money import fmt
from metering.periods import Month

FAMILY = "interact"
PLANS = INTERACT_PLANS  # the tariff model's names (metering.catalog), in listing order
OPTIONS = INTERACT_OPTIONS

OPTION_NAMES = {"generic_api": "Generic API", "chatbot_api": "Chatbot API"}
ONE_OFF_NAMES = {"activation": "Activation", "channel": "Activation per communication channel",
                 "training": "Training", "integration": "Integration", "api_activation": "API activation"}


# --- plans (chains of contiguous plan rows) -----------------------------------------

@dataclass
class Plan:
    rows: list[Row] = field(default_factory=list)  # by valid_from

    @property
    def first(self) -> date:
        return self.rows[0].valid_from

    @property
    def end(self) -> date | None:
        """The plan's last `valid_to` (exclusive); None = open-ended."""
        ends = [r.valid_to for r in self.rows]
        return None if any(e is None for e in ends) else max(ends)  # type: ignore[type-var]

    def covers(self, day: date) -> bool:
        return self.first <= day and (self.end is None or day < self.end)


def plans_of(rows_: list[Row]) -> list[Plan]:
    """Plan rows that follow each other without a gap (or overlap, itself a contract
    error) form one plan; a gap of a day or more starts a new plan and a new term."""
    out: list[Plan] = []
    for r in sorted((r for r in rows_ if r.group == "interact" and r.item in PLANS),
                    key=lambda r: (r.valid_from, r.product)):
        if out and (out[-1].end is None or r.valid_from <= out[-1].end):
            out[-1].rows.append(r)
        else:
            out.append(Plan([r]))
    return out


def add_months(day: date, k: int) -> date:
    """day + k months; a day the target month lacks becomes its last day."""
    y, m = divmod(day.month - 1 + k, 12)
    y += day.year
    m += 1
    return date(y, m, min(day.day, calendar.monthrange(y, m)[1]))


def remaining_months(first: date, end: date, term_months: int = 12) -> int:
    """I4: how many of the anniversaries first + k months (k = 1…term) fall after the
    end date (`valid_to`, exclusive). An anniversary equal to `valid_to` is not after
    it: the term month ending there was served in full (1 Jan → valid_to 1 Nov: 1 Dec
    and 1 Jan, so 2; 1 Jan → valid_to 16 Oct: 1 Nov, 1 Dec, 1 Jan, so 3)."""
    return sum(1 for k in range(1, term_months + 1) if add_months(first, k) > end)


# --- the family -----------------------------------------------------------------------

class _Contract:
    """One subscriber's interact rows and the prices they imply."""

    def __init__(self, t: InteractTariff, rows_: list[Row]):
        self.t = t
        self.rows = rows_
        self.plans = plans_of(rows_)
        self.plan_rows = [r for p in self.plans for r in p.rows]
        self.users = [r for r in rows_ if r.item == "users"]
        self.options = [r for r in rows_ if r.item in OPTIONS]

    def plan_at(self, day: date) -> Plan | None:
        return next((p for p in self.plans if p.covers(day)), None)

    def plan_of_row(self, row: Row) -> Plan:
        return next(p for p in self.plans if any(r is row for r in p.rows))

    def price_day(self, day: date) -> date:
        """G5 for interact: the first day of the plan in force that day (else the day)."""
        plan = self.plan_at(day)
        return plan.first if plan else day

    def users_on(self, day: date) -> int:
        return sum(r.quantity for r in self.users if r.active_on(day))

    def billable_on(self, day: date) -> int:
        return max(self.t.minimum_users, self.users_on(day))

    def seat_price(self, row: Row) -> Decimal:
        override = row.unit_price()
        if override is not None:
            return override
        return self.t.plans[row.item].seat.at(self.plan_of_row(row).first)

    def option_fee(self, row: Row, day: date) -> Decimal:
        override = row.unit_price()
        if override is not None:
            return override
        return self.t.options[row.item].fee.at(self.price_day(day))

    def one_off_price(self, row: Row) -> Decimal:
        override = row.unit_price()
        if override is not None:
            return override
        return self.t.one_offs[row.item].price.at(self.price_day(row.valid_from))


def rate(inp: BillingInput) -> dict[str, FamilyResult]:
    t = inp.catalog.interact
    month = inp.month
    results: dict[str, FamilyResult] = {}
    for sid in sorted(inp.contracts, key=lambda s: s.encode()):
        if sid not in inp.subscribers:
            continue
        all_rows = inp.family_rows(sid, FAMILY)
        month_rows = [r for r in all_rows if r.days_in(month)
                      and (r.item not in ONE_OFFS or Month.of(r.valid_from) == month)]
        if not month_rows:
            continue
        res = FamilyResult(FAMILY)
        res.present = any(r.item != "users" for r in month_rows)
        results[sid] = res
        c = _Contract(t, all_rows)
        _contract_errors(inp, sid, c, month_rows, res)
        for part in (_seat_lines, _option_lines, _one_off_lines, _early_termination):
            try:
                res.lines.extend(part(inp, c, month_rows))
            except ContractProblem as exc:
                rule = "I4" if part is _early_termination else "G5"
                res.errors.append(ContractError(sid, FAMILY, rule, str(exc)))
        _anomalies(inp, sid, c, month_rows, res)
    return results


def _contract_errors(inp: BillingInput, sid: str, c: _Contract, month_rows: list[Row],
                     res: FamilyResult) -> None:
    month = inp.month
    days = overlapping_days([r for r in month_rows if r.item in PLANS], month)
    if days:
        res.errors.append(ContractError(
            sid, FAMILY, "G10", f"two interact plan rows are active on the same day ({days[0]}"
            f"{'' if len(days) == 1 else f' and {len(days) - 1} more days'}): one plan at a time"))
    for item, option in c.t.options.items():  # I2: an option sold only together with another one
        required = option.requires
        if required is None:
            continue
        needing = [r for r in month_rows if r.item == item]
        providing = [r for r in c.options if r.item == required]
        bad = sorted({d for r in needing for d in r.days_in(month) if not any(p.active_on(d) for p in providing)})
        if bad:
            more = "" if len(bad) == 1 else f" and {len(bad) - 1} more days"
            name, other = _lower_first(OPTION_NAMES[item]), _lower_first(OPTION_NAMES[required])
            res.errors.append(ContractError(
                sid, FAMILY, "I2", f"{name} active on {bad[0]}{more} without the {other}; the {name} "
                f"is only sold together with the {other}"))


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _span(days: list[date]) -> str:
    return f"{days[0]:%d %b}–{days[-1]:%d %b}" if len(days) > 1 else f"{days[0]:%d %b}"


def _seat_lines(inp: BillingInput, c: _Contract, month_rows: list[Row]) -> list[Line]:
    t, month = c.t, inp.month
    out = []
    for r in sorted((r for r in month_rows if r.item in PLANS), key=lambda r: (r.valid_from, r.product)):
        days = r.days_in(month)
        seat_days = sum(c.billable_on(d) for d in days)
        price = c.seat_price(r)
        exact = Fraction(seat_days) * Fraction(price) / month.days
        low, high = min(c.billable_on(d) for d in days), max(c.billable_on(d) for d in days)
        users = f"{low} users" if low == high else f"{low}–{high} users"
        sla = ", SLA included" if t.plans[r.item].sla else ""  # I2: shown, not priced
        out.append(registry(inp.catalog)["interact.seats"].line(
            item=r.item, span=_span(days), users=users, sla=sla, quantity=seat_days, unit_price=price, exact=exact,
            vat_rate=t.vat.rate))
    return out


def _option_lines(inp: BillingInput, c: _Contract, month_rows: list[Row]) -> list[Line]:
    t, month = c.t, inp.month
    out = []
    for r in sorted((r for r in month_rows if r.item in OPTIONS),
                    key=lambda r: (OPTIONS.index(r.item), r.valid_from)):
        days = r.days_in(month)
        override = r.unit_price()
        charge = registry(inp.catalog)[f"{FAMILY}.{r.item}"]
        line = fee_line(charge, charge.describe(name=OPTION_NAMES[r.item], span=_span(days)), days, month,
                        partial(c.option_fee, r), t.vat.rate, override)
        if line:
            out.append(line)
    return out


def _one_off_lines(inp: BillingInput, c: _Contract, month_rows: list[Row]) -> list[Line]:
    """I3: one line per code and unit price; integration and training in a month with
    an API activation are included in it: not charged, no line."""
    t = c.t
    month = inp.month
    ones = [r for r in month_rows if r.item in ONE_OFFS and Month.of(r.valid_from) == month]
    api = [r for r in ones if r.item == "api_activation"]
    included = {name for r in api for name in t.one_offs["api_activation"].includes} if api else set()
    grouped: dict[tuple[str, Decimal], int] = defaultdict(int)
    for r in ones:
        if r.item in included:
            continue
        one = t.one_offs[r.item]
        price = c.one_off_price(r)
        grouped[(r.item, price)] += r.quantity if one.per_quantity else 1
    out = []
    for (item, price), qty in sorted(grouped.items(), key=lambda kv: (ONE_OFFS.index(kv[0][0]), kv[0][1])):
        out.append(registry(inp.catalog)[f"{FAMILY}.{item}"].line(
            name=ONE_OFF_NAMES[item], quantity=qty, unit_price=price, exact=Fraction(price) * qty,
            vat_rate=t.vat.rate))
    return out


def _fee_param(row: Row, name: str) -> Decimal:
    raw = row.params[name]
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise ContractProblem(f"{row.product} from {row.valid_from}: params.{name} must be a quoted decimal "
                              f"string, got {raw!r}")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ContractProblem(f"{row.product} from {row.valid_from}: params.{name} {raw!r} is not a decimal") \
            from None
    if not value.is_finite() or value < 0:
        raise ContractProblem(f"{row.product} from {row.valid_from}: params.{name} {raw!r} must be a decimal ≥ 0")
    return value


def _early_termination(inp: BillingInput, c: _Contract, month_rows: list[Row]) -> list[Line]:
    """I4 in the month of the plan's last active day (valid_to − 1)."""
    t, month = c.t, inp.month
    termination = registry(inp.catalog)["interact.early_termination"]
    out = []
    for plan in c.plans:
        end = plan.end
        if end is None:
            continue
        last = end - timedelta(days=1)
        if Month.of(last) != month:
            continue
        remaining = remaining_months(plan.first, end, t.term_months)
        if remaining == 0:
            continue
        span = f"plan from {plan.first:%d %b %Y}, last day {last:%d %b %Y}"
        carrying = [r for r in plan.rows if "early_termination_fee" in r.params]
        if carrying:
            row = max(carrying, key=lambda r: (r.valid_from, r.product))
            fee = _fee_param(row, "early_termination_fee")
            # I4's second form of the code: the row's agreed fee, one fee
            out.append(termination.line(form="agreed_fee", span=span, quantity=1, unit_price=fee,
                                        exact=Fraction(fee), vat_rate=t.vat.rate))
            continue
        plan_row = max((r for r in plan.rows if r.active_on(last)), key=lambda r: (r.valid_from, r.product))
        billable = c.billable_on(last)
        seat = c.seat_price(plan_row)
        options = [(r, c.option_fee(r, last)) for r in c.options if r.active_on(last)]
        monthly = billable * seat + sum((p for _, p in options), Decimal("0"))
        opts = "".join(f" + {OPTION_NAMES[r.item]} {fmt(p)}" for r, p in
                       sorted(options, key=lambda o: (OPTIONS.index(o[0].item), o[0].valid_from)))
        out.append(termination.line(
            span=span, remaining=remaining, users=billable, seat=fmt(seat), options=opts, quantity=remaining,
            unit_price=monthly, exact=Fraction(monthly) * remaining, vat_rate=t.vat.rate))
    return out


def _anomalies(inp: BillingInput, sid: str, c: _Contract, month_rows: list[Row], res: FamilyResult) -> None:
    """G9: rows that make no sense without a plan are listed (users: nothing billed;
    options: billed on their own rows)."""
    for r in month_rows:
        if r.item not in ("users",) + OPTIONS:
            continue
        bare = [d for d in r.days_in(inp.month) if c.plan_at(d) is None]
        if not bare:
            continue
        what = "not billed (seats need a plan)" if r.item == "users" else "billed on its own row"
        res.anomalies.append(Anomaly(
            "no_plan", "I1" if r.item == "users" else "I2", sid, r.ref,
            f"{r.product} active on {len(bare)} day(s) from {bare[0]} without an interact plan; {what}"))
