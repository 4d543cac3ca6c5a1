"""Exact money (pricing G1/G2): amounts are Fractions until a line is rounded once,
half-up, to cents. No binary float ever touches a price or an amount."""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def round_half_up(value: Fraction | Decimal | int, places: Decimal = CENT) -> Decimal:
    """Round an exact value half-up to `places`; a negative value rounds its magnitude
    half-up (G2: a discount's magnitude), i.e. half away from zero. Integer arithmetic on
    the exact ratio (every line and VAT group passes here: no Fraction objects made)."""
    if isinstance(value, float):  # pragma: no cover
        raise TypeError("float is not allowed where money passes")
    if isinstance(value, Fraction):
        num, den = value.numerator, value.denominator
    elif isinstance(value, int):
        num, den = value, 1
    else:
        num, den = value.as_integer_ratio()  # a Decimal's exact value
    places_num, places_den = _ratio(places)
    # |value| / places = |num| * places_den / (den * places_num)
    divisor = den * places_num
    whole, rest = divmod(abs(num) * places_den, divisor)
    if 2 * rest >= divisor:
        whole += 1
    result = (Decimal(whole) * places).quantize(places)
    return -result if num < 0 and whole else result


@lru_cache(maxsize=16)
def _ratio(places: Decimal) -> tuple[int, int]:
    return places.as_integer_ratio()


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
