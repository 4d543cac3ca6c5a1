"""The charge-code registry (issue 14): every code a pricing module or the answering SQL
emits is registered, lines carry the registry's rule, units, service and family, the
warehouse's `charge_codes` is the registry, and a code's facts come from the tariff
(a tenth tier, another threshold) instead of being parsed out of the code."""
from __future__ import annotations

import re
import shutil
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from metering import sqlfiles
from metering.catalog import Catalog, load_catalog, tariffs_dir
from metering.charges import registry
from metering.db import connect
from metering.lines import Line
from pipelines.cli import main
from synthetic.workspace import generate_workspace

# one code, two forms: the rule and the code stay, the unit says which form a line is


@pytest.fixture(scope="module")
def billed(tmp_path_factory):
    """A small demo workspace (every family, price changes, adjustments) billed for three months."""
    root = tmp_path_factory.mktemp("charges") / "workspace"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CCMETER_HOME", str(root))
        mp.setenv("CCMETER_TODAY", "2026-12-04")
        generate_workspace(root, months=["2026-08", "2026-09", "2026-10"], size="small", bad_files=False)
        for month in ("2026-08", "2026-09", "2026-10"):
            assert main(["bill", month, "--no-pdf", "--skip-checks"]) == 0
        yield root


def test_every_issued_line_is_a_registered_charge(billed):
    charges = registry(load_catalog())
    con = connect(billed / "warehouse.duckdb", read_only=True)
    try:
        lines = con.execute("select distinct code, rule, unit, price_unit, service, family from spec_lines "
                            "where kind = 'line'").fetchall()
        traced = con.execute("select distinct code, rule from rated_records").fetchall()
        table = con.execute("select code, rule, service, family from charge_codes order by code").fetchall()
    finally:
        con.close()
    assert len({ln[0] for ln in lines}) >= 20  # the demo's months reach most codes of all five families
    for code, rule, unit, price_unit, service, family in lines:
        c = charges[code]  # KeyError: a pricing module emitted a code the registry lacks
        assert (rule, service, family) == (c.rule, c.service, c.family), code
        forms = {(c.unit, c.price_unit)} | {(f.unit, f.price_unit) for f in c.forms.values()}
        assert (unit, price_unit) in forms, code
    assert traced and all(charges[code].rule == rule for code, rule in traced)
    assert table == sorted((c.code, c.rule, c.service, c.family) for c in charges.charges.values())


def test_codes_written_in_the_answering_sql_are_registered():
    """The SQL names usage codes as literals; each must be a registered answering charge."""
    charges = registry(load_catalog())
    found = set()
    for name in ("answering_charges",):
        text = (sqlfiles.SQL_DIR / "marts" / f"{name}.sql").read_text(encoding="utf-8")
        text = re.sub(r"--[^\n]*", "", text)
        found |= set(re.findall(r"'((?:phone|messaging|reports|training|direct)\.[a-z_.0-9]+)'", text))
    assert {"phone.calls.included", "messaging.aht", "direct.hours", "reports.sms"} <= found
    for code in found:
        assert code in charges and charges[code].family == "answering" and charges[code].usage, code


def test_a_line_of_an_unregistered_code_is_refused():
    with pytest.raises(KeyError, match="not in the charge registry"):
        Line(code="phone.calls.bonus", description="", quantity=1, unit="call", unit_price=0, price_unit="call",
             exact=0, vat_rate=0, rule="A3", family="answering")


def _tariffs_with(tmp_path: Path, old: str, new: str) -> Catalog:
    directory = tmp_path / "tariffs"
    shutil.copytree(tariffs_dir(), directory)
    path = directory / "answering.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return Catalog(directory)


def test_eleven_tiers_keep_their_prices_and_rank_order(tmp_path):
    """A tenth tier was read as tier 0 by `int(code[-1])` and sorted before tier 2."""
    bands = "".join(f"    - {{from: {10 * i + 1}, to: {10 * i + 10}, price: \"{3 - i / 10:.2f}\"}}\n"
                    for i in range(10)) + "    - {from: 101, to: null, price: \"1.84\"}\n"
    catalog = _tariffs_with(tmp_path, '    - {from: 1,   to: 50,  price: "3.03"}\n'
                                      '    - {from: 51,  to: 100, price: "2.52"}\n'
                                      '    - {from: 101, to: null, price: "1.84"}\n', bands)
    charges = registry(catalog)
    tiers = [c for c in charges.of_family("answering") if c.kind == "call" and c.tier]
    assert [c.code for c in sorted(tiers, key=lambda c: c.order)] == [f"phone.calls.tier{i}" for i in range(1, 12)]
    ten = charges["phone.calls.tier10"]
    assert (ten.tier, str(ten.unit_price(catalog.answering.price_valid_from.value))) == (10, "2.10")
    assert ten.describe() == "Calls, ranks 91–100"
    assert charges["phone.calls.tier11"].describe() == "Calls, ranks 101 and up"


def test_texts_follow_the_tariffs_thresholds(tmp_path):
    catalog = _tariffs_with(tmp_path, "talk_over_s: 90", "talk_over_s: 120")
    assert registry(catalog)["phone.talk_over_90s"].describe() == "Talk time above 120 s per call"
    assert registry(load_catalog())["phone.talk_over_90s"].describe() == "Talk time above 90 s per call"


def test_a_second_form_has_its_own_units_and_text():
    """S5 and I4 price one code two ways; the second form's units and text are the
    registry's, filled from the tariff (term_months) and the line's fields."""
    catalog = load_catalog()
    charges = registry(catalog)
    travel = charges["servicepack.travel"]
    by_km = travel.line(trips=1, s="", km="12", quantity=Decimal("12"), unit_price=Decimal("0.40"),
                        exact=Fraction("4.8"), vat_rate=Decimal("0.21"))
    minimum = travel.line(form="minimum", trips=2, s="s", quantity=2, unit_price=Decimal("25.00"),
                          exact=Fraction(50), vat_rate=Decimal("0.21"))
    assert (by_km.unit, by_km.price_unit, by_km.description) == ("km", "km", "Travel, 1 on-site trip, 12 km round trip")
    assert (minimum.unit, minimum.price_unit, minimum.description) == (
        "trip", "trip", "Travel, minimum per on-site trip (2 trips)")
    assert minimum.code == by_km.code and minimum.rule == "S5"
    fee = charges["interact.early_termination"].line(form="agreed_fee", span="plan from 01 Jan 2026",
                                                     quantity=1, unit_price=Decimal("500.00"), exact=Fraction(500),
                                                     vat_rate=Decimal("0.21"))
    term = catalog.interact.term_months
    assert (fee.unit, fee.price_unit, fee.rule) == ("fee", "fee", "I4")
    assert fee.description == f"Early termination within the {term}-month term (plan from 01 Jan 2026; agreed fee)"
    with pytest.raises(KeyError):
        travel.line(form="per_hour", quantity=1, unit_price=Decimal("1"), exact=Fraction(1), vat_rate=Decimal("0"))


def test_a_code_names_its_service_first():
    """Documents issued before lines carried `service` are read by the part of the code
    before the first dot (spec_lines.service, the PDF sections): that reading must agree
    with the registry for every code it has."""
    charges = registry(load_catalog())
    assert {c.code: c.code.split(".", 1)[0] for c in charges.charges.values()} == \
        {c.code: c.service for c in charges.charges.values()}
