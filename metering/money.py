"""Exact money (pricing G1/G2): amounts are Fractions until a line is rounded once,
half-up, to cents. No binary float ever touches a price or an amount."""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def round_half_up(value: Fraction | Decimal | int, places: Decimal = CENT) -> Decimal:
    """Round an exact value half-up to `places`; a negative value rounds its magnitude
    half-up (G2: a discount's magnitude), i.e. half away from zero."""
    if isinstance(value, float):  # pragma: no cover
        raise TypeError("float is not allowed where money passes")
    frac = value if isinstance(value, Fraction) else Fraction(value)
    sign = -1 if frac < 0 else 1
    mag = abs(frac)
    scale = Fraction(1) / Fraction(places)  # e.g. 100 for cents
    scaled = mag * scale
    whole, rest = divmod(scaled.numerator, scaled.denominator)
    if 2 * rest >= scaled.denominator:
        whole += 1
    result = (Decimal(whole) * places).quantize(places)
    return -result if sign < 0 and whole else result


def round_int_half_up(value: Fraction) -> int:
    """Half-up to a whole number (used for AHT seconds, M3)."""
    whole, rest = divmod(value.numerator, value.denominator)
    if 2 * rest >= value.denominator:
        whole += 1
    return whole


def fmt(amount: Decimal) -> str:
    """A money amount as the JSON string the contract wants: plain, two decimals."""
    return str(amount.quantize(CENT))


def fmt_qty(value: Decimal | int | Fraction) -> str:
    """A quantity as a plain decimal string without exponent or needless zeros."""
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return str(value.numerator)
        value = Decimal(value.numerator) / Decimal(value.denominator)
    d = Decimal(value)
    if d == d.to_integral_value():
        return str(d.quantize(Decimal(1)))
    s = format(d.normalize(), "f")
    return s
