"""Charge lines and what a tariff family's pricing returns for one subscriber-month.

A line carries its exact amount (a Fraction); it is rounded once, half-up, to cents
(G2). `Line.amount` is authoritative; quantity, unit, unit price and price unit say
how it arose."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Callable

from metering.money import round_half_up
from metering.periods import Month


@dataclass(kw_only=True)
class Line:
    """Keyword-only: ten fields of which six are strings read wrong silently when swapped."""
    code: str
    description: str
    quantity: Decimal | int
    unit: str
    unit_price: Decimal
    price_unit: str
    exact: Fraction
    vat_rate: Decimal
    rule: str
    family: str
    rounded: Decimal | None = None  # set when the rule rounds before the line (L1)

    @property
    def amount(self) -> Decimal:
        # rounded once per (exact, rounded) pair: totals, VAT and renderers ask many times
        key = (self.exact, self.rounded)
        cached = self.__dict__.get("_amount")
        if cached is None or cached[0] != key:
            value = self.rounded if self.rounded is not None else round_half_up(self.exact)
            self.__dict__["_amount"] = cached = (key, value)
        return cached[1]

    @property
    def service(self) -> str:
        return self.code.split(".", 1)[0]


@dataclass(frozen=True)
class Anomaly:
    kind: str
    rule: str
    subscriber_id: str
    record: str
    message: str


@dataclass(frozen=True)
class ContractError:
    subscriber_id: str
    family: str
    rule: str
    message: str


@dataclass
class FamilyResult:
    """One family's part of one subscriber's month."""
    family: str
    lines: list[Line] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    errors: list[ContractError] = field(default_factory=list)
    balances: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    aht: dict | None = None
    tasks: list[dict] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)
    appendix: list[dict] | None = None
    ledger: list[dict] = field(default_factory=list)  # full prepaid ledger through the month
    ledger_movement: bool = False
    present: bool = False  # a fee or one-off of the month, usage it rated, or a ledger movement


def fee_line(code: str, description: str, days: list[date], month: Month,
             price_on: Callable[[date], Decimal], vat_rate: Decimal, rule: str, family: str,
             override: Decimal | None = None, quantity_multiplier: int = 1) -> Line | None:
    """G4/G5: a monthly fee per active day at the price valid that day (or the row's
    negotiated `unit_price`): Σ price(day) × multiplier / days in the month."""
    if not days:
        return None
    prices = [override if override is not None else price_on(d) for d in days]
    day_counts = Counter(prices)  # Σ over days, grouped by price: prices change rarely
    exact = sum((Fraction(p) * n for p, n in day_counts.items()), Fraction(0)) * quantity_multiplier / month.days
    unit_price = prices[0] if len(day_counts) == 1 else prices[-1]
    qty: Decimal | int = len(days)
    unit = "day"
    price_unit = "month"
    if quantity_multiplier != 1:
        description = f"{description} × {quantity_multiplier}"
    return Line(code=code, description=description, quantity=qty, unit=unit, unit_price=unit_price,
                price_unit=price_unit, exact=exact, vat_rate=vat_rate, rule=rule, family=family)
