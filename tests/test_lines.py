"""`Line` is keyword-only (issue 14): ten fields, six of them strings, so a positional
call that swaps two would price and print silently wrong."""
from decimal import Decimal
from fractions import Fraction

import pytest

from metering.lines import Line

FIELDS = dict(code="phone.calls.tier1", description="Calls, ranks 1–50", quantity=2, unit="call",
              unit_price=Decimal("3.03"), price_unit="call", exact=Fraction(606, 100), vat_rate=Decimal("0.21"),
              rule="A3", family="answering")


def test_line_takes_keywords_only():
    with pytest.raises(TypeError):
        Line(*FIELDS.values())  # type: ignore[misc]  # the call this test proves impossible
    line = Line(**FIELDS)
    assert line.amount == Decimal("6.06") and line.service == "phone"
