"""Subscribers and their contracts (subscription rows in force), as plain objects the
pricing modules read. A row is identified by (subscriber, product, valid_from); the
`subscriptions` view already holds only the latest version of each."""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from metering import sqlfiles
from metering.catalog import family_of
from metering.periods import TIMEZONES, Month, active_days, is_active


@dataclass(frozen=True)
class Subscriber:
    subscriber_id: str
    name: str
    country: str
    address: str | None = None
    vat_id: str | None = None
    email: str | None = None
    # e-invoice fields (data-contract.md), as loaded: checked when the e-invoice is made
    street: str | None = None
    city: str | None = None
    postcode: str | None = None
    company_id: str | None = None
    peppol_id: str | None = None
    buyer_reference: str | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(TIMEZONES[self.country])


@dataclass(frozen=True)
class Row:
    subscriber_id: str
    product: str
    quantity: int
    valid_from: date
    valid_to: date | None
    params: dict = field(hash=False, compare=False)
    file: str = ""
    line: int = 0

    @property
    def family(self) -> str:
        return family_of(self.product) or ""

    @property
    def group(self) -> str:
        return self.product.split(":", 1)[0]

    @property
    def item(self) -> str:
        return self.product.split(":", 1)[1]

    @property
    def ref(self) -> str:
        return f"subscriptions/{self.subscriber_id}/{self.product}/{self.valid_from}"

    def active_on(self, day: date) -> bool:
        return is_active(self.valid_from, self.valid_to, day)

    def days_in(self, month: Month) -> list[date]:
        return active_days(self.valid_from, self.valid_to, month)

    def unit_price(self) -> Decimal | None:
        """`params.unit_price` (negotiated price, G5) or None. A malformed value raises
        ContractProblem so the subscriber's month is rejected with the reason."""
        if "unit_price" not in self.params:
            return None
        raw = self.params["unit_price"]
        if isinstance(raw, bool) or not isinstance(raw, (str, int)):
            raise ContractProblem(f"{self.product} from {self.valid_from}: params.unit_price must be a "
                                  f"quoted decimal string, got {raw!r}")
        try:
            value = Decimal(str(raw))
        except InvalidOperation:
            raise ContractProblem(f"{self.product} from {self.valid_from}: params.unit_price {raw!r} "
                                  "is not a decimal") from None
        if not value.is_finite() or value < 0:
            raise ContractProblem(f"{self.product} from {self.valid_from}: params.unit_price {raw!r} "
                                  "must be a decimal ≥ 0")
        if value != value.quantize(PRICE_QUANTUM):
            # a line's unit price is held exactly to 6 places (spec_lines.unit_price DECIMAL(18,6)):
            # a finer one would print one price and store another, so this subscriber is not billed
            raise ContractProblem(f"{self.product} from {self.valid_from}: params.unit_price {raw!r} has more "
                                  "than 6 decimal places")
        return value


PRICE_QUANTUM = Decimal("0.000001")


class ContractProblem(ValueError):
    """A contract that breaks a rule (pricing G10)."""


def load_subscribers(con) -> dict[str, Subscriber]:
    out = {}
    for sid, name, country, address, vat_id, email, street, city, postcode, company_id, peppol_id, ref in \
            sqlfiles.rows(con, "contracts/subscribers"):
        out[sid] = Subscriber(sid, name, country, address, vat_id, email, street, city, postcode, company_id,
                              peppol_id, ref)
    return out


def load_contracts(con) -> dict[str, list[Row]]:
    """Rows in force (not cancelled) per subscriber, ordered by valid_from, product."""
    out: dict[str, list[Row]] = defaultdict(list)
    for sid, product, qty, vf, vt, params, f, line in sqlfiles.rows(con, "contracts/subscriptions_in_force"):
        out[sid].append(Row(sid, product, int(qty), vf, vt, json.loads(params or "{}"), f, int(line)))
    return dict(out)


FAR_FUTURE = date(9999, 12, 31)


def segments(rows_: list[Row]) -> list[tuple[date, date, Row]]:
    """Non-overlapping day segments [from, to) over rows of one slot (e.g. the phone
    plan). Where rows overlap (a contract error, reported elsewhere) the row with the
    latest valid_from wins, so routing stays deterministic."""
    points = sorted({r.valid_from for r in rows_} | {r.valid_to or FAR_FUTURE for r in rows_})
    out: list[tuple[date, date, Row]] = []
    for lo, hi in zip(points, points[1:]):
        live = [r for r in rows_ if r.valid_from <= lo and (r.valid_to or FAR_FUTURE) >= hi]
        if not live:
            continue
        winner = max(live, key=lambda r: (r.valid_from, r.product))
        if out and out[-1][2] is winner and out[-1][1] == lo:
            out[-1] = (out[-1][0], hi, winner)
        else:
            out.append((lo, hi, winner))
    return out


def overlapping_days(rows_: list[Row], month: Month) -> list[date]:
    """Days of the month on which two or more of the rows are active."""
    out = []
    for day in month.day_list():
        if sum(1 for r in rows_ if r.active_on(day)) > 1:
            out.append(day)
    return out


def merged_spans(rows_: list[Row]) -> list[tuple[date, date]]:
    spans = sorted((r.valid_from, r.valid_to or FAR_FUTURE) for r in rows_)
    out: list[list[date]] = []
    for lo, hi in spans:
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return [(a, b) for a, b in out]

