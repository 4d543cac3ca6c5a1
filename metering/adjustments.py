"""X3: the difference between a month re-rated now and the month as issued, per
subscriber and key (code, unit price, price unit, VAT rate). Both sides are sums of
rounded lines, so every difference is in exact cents. Recomputed at every issue from
the issued documents, never stored as pending: issuing the same data twice never bills
it twice."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from metering.lines import Line
from metering.specification import Adjustment

Key = tuple[str, str, str, str]  # code, unit price, price unit, VAT rate


@dataclass
class Side:
    amount: Decimal
    quantity: Decimal
    description: str
    unit: str
    family: str
    unit_price: Decimal
    vat_rate: Decimal


def _canonical(value) -> str:
    """A decimal as plain text without trailing zeros: 0.2100 and 0.21 are one key."""
    return format(Decimal(str(value)).normalize(), "f")


def key_of(code: str, unit_price, price_unit: str, vat_rate) -> Key:
    return (code, _canonical(unit_price), price_unit or "", _canonical(vat_rate))


def summed_lines(lines: list[Line]) -> dict[Key, Side]:
    out: dict[Key, Side] = {}
    for ln in lines:
        k = key_of(ln.code, ln.unit_price, ln.price_unit, ln.vat_rate)
        s = out.setdefault(k, Side(Decimal("0.00"), Decimal(0), ln.description, ln.unit, ln.family,
                                     Decimal(ln.unit_price), Decimal(ln.vat_rate)))
        s.amount += ln.amount
        s.quantity += Decimal(ln.quantity)
    return out


def summed_rows(rows: list[dict]) -> dict[Key, Side]:
    """Issued lines (JSON/warehouse rows: strings) summed per key."""
    out: dict[Key, Side] = {}
    for r in rows:
        k = key_of(r["code"], r["unit_price"], r["price_unit"], r["vat_rate"])
        s = out.setdefault(k, Side(Decimal("0.00"), Decimal(0), r["description"], r["unit"], r["family"],
                                     Decimal(r["unit_price"]), Decimal(r["vat_rate"]).normalize()))
        s.amount += Decimal(r["amount"])
        s.quantity += Decimal(r["quantity"])
    return out


def differences(rerated: list[Line], issued: list[dict], period: str, adjusts: str | None) -> list[Adjustment]:
    """One adjustment line per key whose amount differs (a missing side counts 0);
    differences in quantity alone make none."""
    now, then = summed_lines(rerated), summed_rows(issued)
    out = []
    for k in sorted(set(now) | set(then)):
        a, b = now.get(k), then.get(k)
        amount = (a.amount if a else Decimal("0.00")) - (b.amount if b else Decimal("0.00"))
        if amount == 0:
            continue
        qty = (a.quantity if a else Decimal(0)) - (b.quantity if b else Decimal(0))
        ref = a or b
        assert ref is not None  # k comes from one side or the other
        code, _, price_unit, _ = k
        out.append(Adjustment(
            code=code, description=f"{ref.description} (correction of {period})", quantity=qty, unit=ref.unit,
            unit_price=ref.unit_price, price_unit=price_unit, exact=Fraction(amount), vat_rate=ref.vat_rate,
            rule="X3", family=ref.family, rounded=amount, period=period, adjusts=adjusts))
    return out
