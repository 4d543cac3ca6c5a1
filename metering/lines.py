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
from typing import TYPE_CHECKING, Callable

from metering.money import round_half_up
from metering.periods import Month

if TYPE_CHECKING:
    from metering.aht import Evaluation
    from metering.charges import Charge


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
    service: str = ""  # the code's service (metering.charges); looked up when not given

    def __post_init__(self) -> None:
        if not self.service:
            from metering.charges import service_of
            self.service = service_of(self.code)

    @property
    def amount(self) -> Decimal:
        # rounded once per (exact, rounded) pair: totals, VAT and renderers ask many times
        key = (self.exact, self.rounded)
        cached = self.__dict__.get("_amount")
        if cached is None or cached[0] != key:
            value = self.rounded if self.rounded is not None else round_half_up(self.exact)
            self.__dict__["_amount"] = cached = (key, value)
        return cached[1]


@dataclass(frozen=True, slots=True)
class Anomaly:
    kind: str
    rule: str
    subscriber_id: str
    record: str
    message: str


@dataclass(frozen=True, slots=True)
class ContractError:
    subscriber_id: str
    family: str
    rule: str
    message: str


@dataclass(frozen=True, kw_only=True, slots=True)
class RatedRecord:
    """One usage record's part of one line, as a family rated it: the row of its rating
    relation that the per-record trace keeps (rated_records). The line of the record is
    (code, unit_price) on its subscriber's document (G2)."""
    feed: str
    record_id: str
    code: str
    rule: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True, kw_only=True, slots=True)
class LedgerMovement:
    """One movement of a prepaid ledger (S1–S4, K2–K6): units (+ credited, − drawn) on
    a holding — the klippekort card, or the service pack bought (warehouse column card_id)."""
    day: date
    kind: str
    holding: str | None
    record: str | None
    units: int
    balance: int | None
    rule: str

    def as_row(self) -> dict:
        return {"day": self.day, "kind": self.kind, "card_id": self.holding, "record": self.record,
                "units": self.units, "balance": self.balance, "rule": self.rule}


@dataclass(frozen=True, kw_only=True, slots=True)
class Balance:
    """A prepaid balance of the month (a card, or the subscriber's service-pack units)."""
    kind: str
    unit: str
    opening: int
    credited: int
    consumed: int
    forfeited: int
    closing: int
    card_id: str | None = None
    purchase_date: date | None = None

    def as_dict(self) -> dict[str, str]:
        card = {} if self.card_id is None else {
            "card_id": self.card_id, "purchase_date": self.purchase_date.isoformat() if self.purchase_date else ""}
        return {"kind": self.kind, "unit": self.unit, **card, "opening": str(self.opening),
                "credited": str(self.credited), "consumed": str(self.consumed), "forfeited": str(self.forfeited),
                "closing": str(self.closing)}


@dataclass(frozen=True, kw_only=True, slots=True)
class KlipTask:
    """A klippekort task or add-on draw of the month and the cards it drew from (K3/K4)."""
    date: date
    record: str
    kind: str  # 'task' or 'addon'
    consultant: str
    activity: str
    minutes: str
    hours: str
    klip: int
    draws: tuple[tuple[str, int], ...]  # (card id, klip) in draw order
    overflow: int
    description: str

    def as_dict(self) -> dict:
        return {"date": self.date.isoformat(), "record": self.record, "kind": self.kind,
                "consultant": self.consultant, "activity": self.activity, "minutes": self.minutes,
                "hours": self.hours, "klip": str(self.klip), "card_id": " + ".join(c for c, _ in self.draws),
                "draws": [{"card_id": c, "klip": str(n)} for c, n in self.draws], "overflow": str(self.overflow),
                "description": self.description}


@dataclass(frozen=True, kw_only=True, slots=True)
class ListedPackAction:
    """A service-pack movement of the month as listed (S1–S4): strings as printed."""
    date: str
    record: str | None
    kind: str
    units: str
    balance: str
    pack: str | None
    started_at: str | None
    duration_s: str | None

    def as_dict(self) -> dict:
        return {"date": self.date, "record": self.record, "kind": self.kind, "units": self.units,
                "balance": self.balance, "pack": self.pack, "started_at": self.started_at,
                "duration_s": self.duration_s}


@dataclass(frozen=True, kw_only=True, slots=True)
class AppendixItem:
    """A call or interaction itemised on the R3 appendix (number masked)."""
    started_at: str
    kind: str
    id: str
    number: str
    duration_s: int
    code: str

    def as_dict(self) -> dict:
        return {"started_at": self.started_at, "kind": self.kind, "id": self.id, "number": self.number,
                "duration_s": self.duration_s, "code": self.code}


@dataclass
class Listings:
    """What a specification shows beside its lines, as one family rated it."""
    balances: list[Balance] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    tasks: list[KlipTask] = field(default_factory=list)
    actions: list[ListedPackAction] = field(default_factory=list)
    aht: Evaluation | None = None  # the quarter's M3 evaluation, shown in its last month
    appendix: list[AppendixItem] | None = None


@dataclass
class FamilyResult:
    """One family's part of one subscriber's month."""
    family: str
    present: bool = False  # a fee or one-off of the month, usage it rated, or a ledger movement
    lines: list[Line] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    errors: list[ContractError] = field(default_factory=list)
    ledger: list[LedgerMovement] = field(default_factory=list)  # full prepaid ledger through the month
    ledger_movement: bool = False  # the ledger moved this month (purchase, renewal, draw, forfeit)
    rated: list[RatedRecord] = field(default_factory=list)  # per-record trace kept in Python (answering's is SQL)
    listings: Listings = field(default_factory=Listings)

    # the specification's form of two listings (strings as printed), for readers of one family's result
    @property
    def balances(self) -> list[dict[str, str]]:
        return [b.as_dict() for b in self.listings.balances]

    @property
    def actions(self) -> list[dict]:
        return [a.as_dict() for a in self.listings.actions]


def fee_line(charge: Charge, description: str, days: list[date], month: Month,
             price_on: Callable[[date], Decimal], vat_rate: Decimal, override: Decimal | None = None) -> Line | None:
    """G4/G5: a monthly fee per active day at the price valid that day (or the row's
    negotiated `unit_price`): Σ price(day) / days in the month."""
    if not days:
        return None
    prices = [override if override is not None else price_on(d) for d in days]
    day_counts = Counter(prices)  # Σ over days, grouped by price: prices change rarely
    exact = sum((Fraction(p) * n for p, n in day_counts.items()), Fraction(0)) / month.days
    unit_price = prices[0] if len(day_counts) == 1 else prices[-1]
    return charge.line(description=description, quantity=len(days), unit_price=unit_price, exact=exact,
                       vat_rate=vat_rate)
