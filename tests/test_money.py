from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metering.money import fmt_qty, round_half_up, round_int_half_up


@pytest.mark.parametrize("value, expected", [
    (Fraction(12345, 1000), "12.35"),   # half-up, not banker's
    (Fraction(12355, 1000), "12.36"),
    (Fraction(12344, 1000), "12.34"),
    (Fraction(-246875, 10000), "-24.69"),  # a discount rounds its magnitude half-up
    (Fraction(1200) * Fraction("1.64") / 60, "32.80"),
    (Fraction(1, 3), "0.33"),
    (Fraction(0), "0.00"),
])
def test_round_half_up(value, expected):
    assert str(round_half_up(value)) == expected


def test_round_int_half_up():
    assert round_int_half_up(Fraction(5, 2)) == 3
    assert round_int_half_up(Fraction(249, 1)) == 249
    assert round_int_half_up(Fraction(4999, 20)) == 250  # 249.95


def test_float_refused():
    with pytest.raises(TypeError):
        round_half_up(0.1)  # type: ignore[arg-type]


def test_fmt_qty():
    assert fmt_qty(Decimal("31")) == "31"
    assert fmt_qty(Decimal("1.50")) == "1.5"
    assert fmt_qty(Fraction(3, 2)) == "1.5"
    assert fmt_qty(1200) == "1200"


@given(st.integers(min_value=-10**9, max_value=10**9), st.integers(min_value=1, max_value=10**6))
def test_rounding_error_at_most_half_cent(num, den):
    value = Fraction(num, den)
    rounded = Fraction(round_half_up(value))
    assert abs(rounded - value) <= Fraction(1, 200)
    assert round_half_up(-value) == -round_half_up(value)


def _round_half_up_reference(value: Fraction | Decimal | int, places: Decimal) -> Decimal:
    """The Fraction arithmetic round_half_up replaced by integer arithmetic."""
    frac = value if isinstance(value, Fraction) else Fraction(value)
    scaled = abs(frac) / Fraction(places)
    whole, rest = divmod(scaled.numerator, scaled.denominator)
    if 2 * rest >= scaled.denominator:
        whole += 1
    result = (Decimal(whole) * places).quantize(places)
    return -result if frac < 0 and whole else result


@given(st.integers(min_value=-10**12, max_value=10**12), st.integers(min_value=1, max_value=10**7),
       st.sampled_from([Decimal("0.01"), Decimal("0.001"), Decimal("1"), Decimal("0.000001")]))
def test_round_half_up_matches_fraction_arithmetic(num, den, places):
    for value in (Fraction(num, den), Decimal(num) / Decimal(den) if den in (1, 2, 4, 5, 8, 10, 100) else num):
        got = round_half_up(value, places)
        assert got == _round_half_up_reference(value, places)
        assert str(got) == str(_round_half_up_reference(value, places))  # same exponent, same sign of zero
