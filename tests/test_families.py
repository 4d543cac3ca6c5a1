"""The family registry (issue 14): one explicit dict of `TariffFamily` objects is all
billing knows of the families — their models and product codes agree with the catalog,
the routing SQL names exactly their usage families, billing.py names no family, and the
remote-support hooks (L2 minimum, G8 term) apply through the shape."""
from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from metering import billing
from metering.catalog import FAMILIES as CATALOG_FAMILIES
from metering.catalog import MODELS, PRODUCT_CODES, load_catalog
from metering.charges import registry
from metering.families import FAMILIES, minimums, term_days
from metering.periods import Month
from metering.sqlfiles import SQL_DIR


def test_registry_matches_the_catalog_and_the_product_codes():
    assert set(FAMILIES) == set(CATALOG_FAMILIES) == set(MODELS)
    for name, family in FAMILIES.items():
        assert family.name == name and family.model is MODELS[name]
        assert {c for c, f in PRODUCT_CODES.items() if f == name} == set(family.product_codes())


def test_routing_sql_routes_to_the_families_usage():
    text = (SQL_DIR / "marts" / "usage.sql").read_text(encoding="utf-8")
    end = text.index("end as family")
    routing = text[text.rindex("case", 0, end):end]  # the CASE that sets usage.family
    routed = set(re.findall(r"then '([a-z_]+)'", routing)) - {"none"}
    assert routed == {f.usage_family for f in FAMILIES.values() if f.usage_family}


def test_billing_names_no_family():
    source = Path(billing.__file__).read_text(encoding="utf-8")
    for name in FAMILIES:
        assert f'"{name}"' not in source and f"'{name}'" not in source, name
    assert "importlib" not in source


def test_remote_support_governs_the_term_and_adds_the_minimum():
    catalog = load_catalog()
    assert term_days(catalog, ["answering", "remote_support"], ["answering", "remote_support"]) == \
        catalog.remote_support.payment_term_days.value
    assert term_days(catalog, ["answering"], ["answering", "interact"]) == max(
        catalog.answering.payment_term_days.value, catalog.interact.payment_term_days.value)
    month = Month.parse("2026-10")
    small = registry(catalog)["remote.time"].line(rate="1.00", n=1, s="", quantity=1, unit_price=Decimal("60.00"),
                                                  exact=Fraction(1), vat_rate=Decimal("0.21"), rounded=Decimal("1.00"))
    [minimum] = minimums(catalog, month, ["answering", "remote_support"], [small])
    assert (minimum.code, minimum.rule, minimum.amount) == (
        "invoice.minimum", "L2", catalog.remote_support.invoice_minimum.at(month.last) - Decimal("1.00"))
    assert minimums(catalog, month, ["answering"], [small]) == []
