import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from metering.catalog import FAMILIES, PRODUCT_CODES, CatalogError, load_catalog, load_family
from pipelines.cli import main

TARIFFS = Path(__file__).resolve().parent.parent / "tariffs"


def copy_tariffs(tmp_path: Path) -> Path:
    d = tmp_path / "tariffs"
    shutil.copytree(TARIFFS, d)
    return d


def test_all_families_load_with_sheet_prices():
    c = load_catalog()
    a = c.answering
    assert a.plans["SMART"].fee.at(date(2026, 10, 1)) == Decimal("162.50")
    assert [t.price.at(date(2026, 10, 1)) for t in a.phone.graduated] == [Decimal("3.03"), Decimal("2.52"), Decimal("1.84")]
    assert c.klippekort.card_price("20", date(2026, 10, 1)) == Decimal("16110.00")
    assert c.klippekort.card_price("30", date(2026, 10, 1)) == Decimal("22822.50")
    assert c.service_pack.packs["10h"].units == 120
    assert c.remote_support.payment_term_days.value == 14
    assert c.klippekort.currency == "DKK" and c.klippekort.vat.rate == Decimal("0.25")
    assert c.klippekort.hour_rate.assumption is True


def test_price_versions(tmp_path):
    d = copy_tariffs(tmp_path)
    p = d / "answering.yaml"
    text = p.read_text().replace('over_allowance: "1.79"',
                                 'over_allowance: [{valid_from: 2026-01-01, price: "1.79"}, '
                                 '{valid_from: 2026-10-15, price: "1.89"}]')
    p.write_text(text)
    a = load_family("answering", d)
    assert a.phone.over_allowance.at(date(2026, 10, 14)) == Decimal("1.79")
    assert a.phone.over_allowance.at(date(2026, 10, 15)) == Decimal("1.89")
    assert a.phone.over_allowance.at(date(2020, 1, 1)) == Decimal("1.79")  # before the first: the first


@pytest.mark.parametrize("old, new, needle", [
    ('fee: "35.00"', "fee: 35.00", "quoted decimal"),
    ("- {from: 51,  to: 100", "- {from: 52,  to: 100", "contiguous"),
    ('fee: "35.00"', 'fee: "abc"', "not a decimal"),
    ("currency: EUR", "currency: USD", "currency"),
    ("  voice_response:          {fee: \"37.07\"}   # A8\n", "", "options must be exactly"),
])
def test_broken_tariff_names_file_and_field(tmp_path, old, new, needle):
    d = copy_tariffs(tmp_path)
    p = d / "answering.yaml"
    text = p.read_text()
    assert old in text
    p.write_text(text.replace(old, new, 1))
    with pytest.raises(CatalogError) as exc:
        load_family("answering", d)
    msg = str(exc.value)
    assert "answering.yaml" in msg and needle in msg


def test_unknown_product_codes_are_not_in_catalog():
    assert "phone:BASIC" in PRODUCT_CODES and "remote:lpas" in PRODUCT_CODES
    assert "phone:GOLD" not in PRODUCT_CODES
    assert set(PRODUCT_CODES.values()) == set(FAMILIES)


def test_cli_tariffs_check_and_show(capsys):
    assert main(["tariffs", "check"]) == 0
    assert main(["tariffs", "show", "answering"]) == 0
    out = capsys.readouterr().out
    assert "162.50" in out and "assumption" in out


def test_cli_broken_tariff_is_a_clear_error(tmp_path, monkeypatch, capsys):
    d = copy_tariffs(tmp_path)
    (d / "interact.yaml").write_text((d / "interact.yaml").read_text().replace('seat: "15.00"', "seat: [1, 2]"))
    monkeypatch.setenv("CCMETER_TARIFFS", str(d))  # the catalog is keyed on the files: no cache to clear
    assert main(["tariffs", "check"]) == 2
    err = capsys.readouterr().err
    assert "interact.yaml" in err and "plans.HUB.seat" in err


# --- hostile tariff files (issue 11): checked as strictly as inputs ------------------------

@pytest.mark.parametrize("old, new, needles", [
    ('vat: {country: NL, rate: "0.21"}', 'vat: {country: NL, rate: "21"}', ["vat.rate", "outside [0, 1)"]),
    ('vat: {country: NL, rate: "0.21"}', 'vat: {country: NL, rate: "1"}', ["vat.rate", "outside [0, 1)"]),
    ('vat: {country: NL, rate: "0.21"}', 'vat: {country: NL, rate: "-0.01"}', ["vat.rate", "outside [0, 1)"]),
    ('fee: "35.00"', 'fee: "1e3"', ["plans.BASIC.fee", "plain notation"]),
    ('fee: "35.00"', 'fee: "3.5E1"', ["plans.BASIC.fee", "plain notation"]),
    ('fee: "35.00"', 'fee: "Infinity"', ["plans.BASIC.fee", "plain notation"]),
    ('fee: "35.00"', 'fee: "NaN"', ["plans.BASIC.fee", "plain notation"]),
    ('fee: "35.00"', 'fee: "35000000.00"', ["plans.BASIC.fee", "CCMETER_MAX_PRICE"]),
    ('bundle_discount: "0.125"', 'bundle_discount: "12.5"', ["bundle_discount", "outside [0, 1)"]),
    ("price_valid_from: {value: 2026-01-01,", "price_valid_from: {value: 2026-13-45,",
     ["price_valid_from.value", "date"]),
    ("currency: EUR\n", "currency: EUR\ncurrency: DKK\n", ["currency: duplicated key (line 7, first at line 6)"]),
    ('  BASIC:   {fee: "35.00",', '  BASIC:   {fee: "35.00", fee: "0.01",', ["plans.BASIC.fee: duplicated key"]),
])
def test_hostile_tariff_names_file_and_field(tmp_path, old, new, needles):
    d = copy_tariffs(tmp_path)
    p = d / "answering.yaml"
    text = p.read_text()
    assert old in text
    p.write_text(text.replace(old, new, 1))
    with pytest.raises(CatalogError) as exc:
        load_family("answering", d)
    msg = str(exc.value)
    assert "answering.yaml" in msg
    for needle in needles:
        assert needle in msg, msg


def test_hostile_tariff_cli_is_one_clear_error(tmp_path, monkeypatch, capsys):
    d = copy_tariffs(tmp_path)
    p = d / "klippekort.yaml"
    p.write_text(p.read_text().replace('vat: {country: DK, rate: "0.25"}', 'vat: {country: DK, rate: "25"}'))
    monkeypatch.setenv("CCMETER_TARIFFS", str(d))
    assert main(["tariffs", "check"]) == 2
    err = capsys.readouterr().err
    assert "klippekort.yaml" in err and "vat.rate" in err and "Traceback" not in err


def test_price_limit_is_a_parameter(tmp_path, monkeypatch):
    d = copy_tariffs(tmp_path)
    monkeypatch.setenv("CCMETER_MAX_PRICE", "100")
    with pytest.raises(CatalogError, match="(?s)klippekort.yaml.*hour_rate"):
        load_family("klippekort", d)  # 895.00 per hour
    monkeypatch.setenv("CCMETER_MAX_PRICE", "1000")
    assert load_family("klippekort", d).hour_rate.value.at(date(2026, 10, 1)) == Decimal("895.00")


def test_line_texts_name_the_tariffs_thresholds(tmp_path, monkeypatch):
    """A4/M2 texts come from talk_over_s / aht_threshold_s, not from the sheet's figures."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from helpers import bill, write_feed

    from metering.workspace import Workspace
    d = copy_tariffs(tmp_path)
    p = d / "answering.yaml"
    text = p.read_text()
    assert "talk_over_s: 90" in text
    p.write_text(text.replace("talk_over_s: 90", "talk_over_s: 120"))
    monkeypatch.setenv("CCMETER_TARIFFS", str(d))
    ws = Workspace.from_env(tmp_path / "ws").ensure()
    write_feed(ws, "subscribers", "s.csv", [{"subscriber_id": "S1", "name": "A", "country": "NL"}])
    write_feed(ws, "subscriptions", "a.csv", [{"subscriber_id": "S1", "product": "phone:BASIC",
                                               "valid_from": "2026-10-01"}])
    start = datetime(2026, 10, 5, 10, tzinfo=ZoneInfo("Europe/Amsterdam"))
    write_feed(ws, "calls", "c.csv", [{"call_id": "c1", "subscriber_id": "S1", "call_type": "inbound",
                                       "started_at": start.isoformat(), "answered_at": start.isoformat(),
                                       "ended_at": (start + timedelta(seconds=180)).isoformat(), "talk_s": 180}])
    [spec] = bill(ws, "2026-10").specs
    [long_calls] = [ln for ln in spec["lines"] if ln["rule"] == "A4"]
    assert long_calls["description"] == "Talk time above 120 s per call" and long_calls["quantity"] == "60"
