"""A subscriber's monthly specification: its own lines, adjustment lines for earlier
months (X3), subtotal, VAT per rate and total over both (G2, X4), issue and due dates
(G8), document type (X6), as the dict the JSON file holds."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, Sequence

from metering.contracts import Subscriber
from metering.lines import Line
from metering.money import fmt, fmt_qty, round_half_up
from metering.periods import Month

FAMILY_ORDER = ("answering", "interact", "remote_support", "service_pack", "klippekort")


@dataclass(kw_only=True)
class Adjustment(Line):
    """An X3 line: the difference between month `period` re-rated now and as issued,
    in exact cents (both sides are sums of rounded lines)."""
    period: str = ""
    adjusts: str | None = None


def vat_groups(lines: list[Line]) -> list[dict]:
    bases: dict[Decimal, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for ln in lines:
        bases[ln.vat_rate] += ln.amount
    return [{"rate": str(rate), "base": fmt(base), "amount": fmt(round_half_up(Fraction(base) * Fraction(rate)))}
            for rate, base in sorted(bases.items())]


def totals(lines: list[Line]) -> tuple[Decimal, list[dict], Decimal]:
    subtotal = sum((ln.amount for ln in lines), Decimal("0.00"))
    vat = vat_groups(lines)
    total = subtotal + sum((Decimal(v["amount"]) for v in vat), Decimal("0.00"))
    return subtotal, vat, total


def line_dict(ln: Line) -> dict[str, str | None]:
    out: dict[str, str | None] = {"code": ln.code, "description": ln.description, "quantity": fmt_qty(ln.quantity),
           "unit": ln.unit, "unit_price": str(ln.unit_price), "price_unit": ln.price_unit,
           "amount": fmt(ln.amount), "vat_rate": str(ln.vat_rate), "rule": ln.rule,
           "service": ln.service, "family": ln.family}
    if isinstance(ln, Adjustment):
        out["period"] = ln.period
        out["adjusts"] = ln.adjusts
    return out


def build(sub: Subscriber, month: Month, number: str | None, currency: str, payment_days: int,
          lines: list[Line], balances: list[dict], aht: dict | None, warnings: list[str],
          tasks: list[dict], actions: list[dict], appendix: list[dict] | None,
          adjustments: Sequence[Adjustment] = (), draft: bool = False, revised_aht: Sequence[dict] = ()) -> dict:
    subtotal, vat, total = totals(list(lines) + list(adjustments))
    issue = month.end
    spec: dict[str, Any] = {
        "subscriber_id": sub.subscriber_id,
        "name": sub.name,
        "address": sub.address,
        "vat_id": sub.vat_id,
        "email": sub.email,
        "country": sub.country,
        "street": sub.street,
        "city": sub.city,
        "postcode": sub.postcode,
        "company_id": sub.company_id,
        "peppol_id": sub.peppol_id,
        "buyer_reference": sub.buyer_reference,
        "period": str(month),
        "spec_number": number,
        "issue_date": issue.isoformat(),
        "due_date": (issue + timedelta(days=payment_days)).isoformat(),
        "currency": currency,
        "document_type": "credit_note" if total < 0 else "specification",
        "lines": [line_dict(ln) for ln in lines],
        "adjustments": [line_dict(a) for a in adjustments],
        "subtotal": fmt(subtotal),
        "vat": vat,
        "total": fmt(total),
        "balances": balances,
        "aht": aht,
        "aht_revised": list(revised_aht),
        "warnings": warnings,
        "tasks": tasks,
        "actions": actions,
        "appendix": appendix,
    }
    if draft:
        spec["draft"] = True
    return spec


def spec_number(month: Month, n: int) -> str:
    return f"{month.year:04d}{month.month:02d}-{n:05d}"
