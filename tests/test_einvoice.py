"""E-invoices (issue 12): identifiers and check digits, the seller file, the UBL writer
(UBL 2.1 schema, EN 16931 totals rules BR-CO-10…17, PEPPOL-EN16931-R120, credit notes,
adjustment lines, skip reasons), the subscribers' e-invoice columns and the JSON Schema
of the specification file."""
from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import jsonschema
import pytest
import xmlschema

from metering.einvoice import identifiers as ids
from metering.einvoice.seller import DEMO_SELLER, Seller, SellerError, load_seller, load_seller_file
from metering.einvoice.ubl import (
    CUSTOMIZATION_ID,
    PROFILE_ID,
    UNIT_CODES,
    EinvoiceSkipped,
    skipped_anomaly,
    ubl_document,
)

XSD = Path(__file__).resolve().parent / "ubl21" / "maindoc"
SCHEMA = Path(__file__).resolve().parent.parent / "metering" / "einvoice" / "specification.schema.json"
NS = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
      "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"}
D = Decimal


@pytest.fixture(scope="module")
def schemas():
    return {k: xmlschema.XMLSchema(str(XSD / f"UBL-{k}-2.1.xsd")) for k in ("Invoice", "CreditNote")}


@pytest.fixture(scope="module")
def seller() -> Seller:
    return load_seller_file(DEMO_SELLER)


# --------------------------------------------------------------------------- identifiers
@pytest.mark.parametrize("value", ["0123456749", "0203040695", "0555123476"])
def test_be_enterprise_number_valid(value):
    assert ids.be_enterprise_valid(value)
    assert ids.scheme_id_error("0208", value) is None


@pytest.mark.parametrize("value", ["0123456748", "123456749", "01234567490", "0123A56749", ""])
def test_be_enterprise_number_invalid(value):
    assert not ids.be_enterprise_valid(value)


@pytest.mark.parametrize("value", ["12345674", "29710007"])
def test_dk_cvr_valid(value):
    assert ids.dk_cvr_valid(value)


@pytest.mark.parametrize("value", ["12345675", "1234567", "DK12345674", "1234567a"])
def test_dk_cvr_invalid(value):
    assert not ids.dk_cvr_valid(value)


@pytest.mark.parametrize("value", ["5790000435968", "4000001000005"])
def test_gln_valid(value):
    assert ids.gln_valid(value)


@pytest.mark.parametrize("value", ["5790000435969", "579000043596", "57900004359a8"])
def test_gln_invalid(value):
    assert not ids.gln_valid(value)


def test_kvk_and_oin():
    assert ids.kvk_valid("34567890")
    assert not ids.kvk_valid("3456789") and not ids.kvk_valid("345678901") and not ids.kvk_valid("3456789a")
    assert ids.scheme_id_error("0190", "00000001234567890000") is None
    assert ids.scheme_id_error("0190", "1234") is not None


@pytest.mark.parametrize("value", ["NL93DEMO0123456789", "NL91ABNA0417164300", "BE68539007547034",
                                   "DK5000400440116243", "nl91 abna 0417 1643 00"])
def test_iban_valid(value):
    assert ids.iban_valid(value)


@pytest.mark.parametrize("value", ["NL92DEMO0123456789", "NL91ABNA041716430", "XX", "BE68 5390 0754 7035"])
def test_iban_invalid(value):
    assert not ids.iban_valid(value)


def test_nl_vat_id():
    assert ids.nl_vat_valid("NL999000001B01")  # mod 97 (btw-id)
    assert ids.nl_vat_valid("NL000099998B57")  # 11-test (omzetbelastingnummer)
    assert not ids.nl_vat_valid("NL999000002B01")
    assert not ids.nl_vat_valid("NL99900001B01")
    assert ids.vat_id_error("BE0123456749") is None
    assert ids.vat_prefix_error("0123456749") is not None


def test_peppol_id_parse():
    assert ids.parse_peppol_id("0208:0123456749") == ids.PeppolId("0208", "0123456749")
    assert str(ids.parse_peppol_id(" 0106:12345678 ")) == "0106:12345678"
    assert ids.parse_peppol_id("0184:12345674").scheme == "0184"
    assert ids.parse_peppol_id("0088:5790000435968").identifier == "5790000435968"
    assert ids.parse_peppol_id("9925:BE0123456749").scheme == "9925"  # no check digits defined here
    for bad, why in (("0123456749", "scheme:identifier"), ("1234:0123456749", "not a Peppol EAS code"),
                     ("0208:0123456748", "mod-97"), ("0184:12345675", "mod-11"), ("0088:5790000435969", "check"),
                     ("0106:1234567", "8 digits"), ("0208:", "1-50 characters")):
        with pytest.raises(ids.IdentifierError, match=why):
            ids.parse_peppol_id(bad)


def test_eas_code_list_is_data():
    codes = ids.eas_codes()
    assert {"0088", "0106", "0184", "0190", "0208", "9925", "9944"} <= set(codes)
    assert all(len(c) == 4 for c in codes)


def test_company_id_normalised_per_country():
    assert ids.company_id_error("BE", "0123.456.749") is None
    assert ids.normalise_company_id("BE", "BE 0123.456.749") == "0123456749"
    assert "mod-97" in ids.company_id_error("BE", "0123.456.748")
    assert ids.company_id_error("DK", "12345674") is None
    assert ids.company_id_error("NL", "34567890") is None
    assert ids.company_id_error("NL", "3456789") is not None


# --------------------------------------------------------------------------- seller
SELLER_YAML = DEMO_SELLER.read_text(encoding="utf-8")


def test_demo_seller_is_default_and_valid(tmp_path):
    s = load_seller(tmp_path)
    assert s.demo and "DEMO" in s.name
    assert ids.nl_vat_valid(s.vat_id) and ids.iban_valid(s.iban) and ids.kvk_valid(s.company_id)
    assert s.peppol_id == f"0106:{s.company_id}"
    block = s.as_json()
    assert block["iban"] == s.iban and block["demo"] is True
    assert Seller.from_json(block) == s


def test_workspace_seller_file_wins(tmp_path):
    (tmp_path / "seller.yaml").write_text(SELLER_YAML.replace("demo: true", "demo: false")
                                          .replace("DEMO Contactcenter B.V. (fictitious)", "Echt B.V."),
                                          encoding="utf-8")
    s = load_seller(tmp_path)
    assert s.name == "Echt B.V." and not s.demo


@pytest.mark.parametrize("change, field", [
    (("NL93DEMO0123456789", "NL92DEMO0123456789"), "iban"),
    (("NL999000001B01", "NL999000002B01"), "vat_id"),
    (('peppol_id: "0106:90000002"', 'peppol_id: "1234:90000002"'), "peppol_id"),
    (('company_id: "90000002"', 'company_id: "9000000"'), "company_id"),
    (('company_scheme: "0106"', 'company_scheme: "0208"'), "company"),
    (('bic: "DEMONL2A"', 'bic: "DEMO"'), "bic"),
    (('city: "Utrecht"', 'city: ""'), "city"),
    (('city: "Utrecht"', 'town: "Utrecht"'), "town"),
    (('country: "NL"', 'country: "NL"\ncountry: "BE"'), "duplicated key"),
    (('postcode: "3511 AA"', 'postcode: 3511'), "postcode"),
])
def test_seller_errors_name_file_and_field(tmp_path, change, field):
    path = tmp_path / "seller.yaml"
    path.write_text(SELLER_YAML.replace(*change), encoding="utf-8")
    with pytest.raises(SellerError) as err:
        load_seller(tmp_path)
    assert str(path) in str(err.value) and field in str(err.value)


def test_seller_optional_contact_may_be_empty(tmp_path):
    (tmp_path / "seller.yaml").write_text(SELLER_YAML.replace('email: "billing@demo-contactcenter.example"',
                                                              'email: ""\nphone: "+31 30 000 0000"'),
                                          encoding="utf-8")
    s = load_seller(tmp_path)
    assert s.email is None and s.phone == "+31 30 000 0000"


def test_seller_file_not_yaml(tmp_path):
    (tmp_path / "seller.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(SellerError, match="not valid YAML"):
        load_seller(tmp_path)
    (tmp_path / "seller.yaml").write_text("- a list\n", encoding="utf-8")
    with pytest.raises(SellerError, match="mapping"):
        load_seller(tmp_path)


# --------------------------------------------------------------------------- specifications
def line(code, qty, unit, price, price_unit, amount, rate="0.21", description=None, **extra):
    return {"code": code, "description": description or code.replace(".", " "), "quantity": qty, "unit": unit,
            "unit_price": price, "price_unit": price_unit, "amount": amount, "vat_rate": rate, "rule": "T",
            "service": code.split(".")[0], "family": "f", **extra}


def make_spec(lines, adjustments=(), sid="S1", country="NL", currency="EUR", **kw) -> dict:
    """A specification dict with totals computed as the product does (G2)."""
    everything = list(lines) + list(adjustments)
    bases: dict[str, Decimal] = {}
    for ln in everything:
        bases[ln["vat_rate"]] = bases.get(ln["vat_rate"], D("0.00")) + D(ln["amount"])

    def half_up(x: Decimal) -> Decimal:
        q = abs(x).quantize(D("0.01"), ROUND_HALF_UP)
        return -q if x < 0 else q
    vat = [{"rate": r, "base": str(b), "amount": str(half_up(b * D(r)))} for r, b in sorted(bases.items())]
    subtotal = sum((D(ln["amount"]) for ln in everything), D("0.00"))
    total = subtotal + sum((D(v["amount"]) for v in vat), D("0.00"))
    address = {"NL": ("Kerkstraat 1", "Utrecht", "3511 AB", "34567890", "0106:34567890", "NL999000001B01"),
               "BE": ("Meir 1", "Antwerpen", "2000", "0123456749", "0208:0123456749", "BE0123456749"),
               "DK": ("Algade 1", "Aalborg", "9000", "12345674", "0184:12345674", "DK12345674")}[country]
    spec = {"subscriber_id": sid, "name": f"Customer {sid} & Zonen <B.V.>", "address": "somewhere",
            "vat_id": address[5], "email": "a@b.example", "country": country, "street": address[0],
            "city": address[1], "postcode": address[2], "company_id": address[3], "peppol_id": address[4],
            "buyer_reference": None, "period": "2026-10", "spec_number": "202610-00003",
            "issue_date": "2026-11-01", "due_date": "2026-12-01", "currency": currency,
            "lines": list(lines), "adjustments": list(adjustments), "subtotal": str(subtotal), "vat": vat,
            "total": str(total), "balances": [], "aht": None, "warnings": [], "tasks": [], "actions": [],
            "appendix": None, "document_type": "credit_note" if total < 0 else "specification"}
    spec.update(kw)
    return spec


ANSWERING = make_spec([
    line("phone.plan", "31", "day", "35.00", "month", "35.00"),
    line("phone.calls.tier1", "50", "call", "3.03", "call", "151.50"),
    line("phone.calls.tier2", "50", "call", "2.52", "call", "126.00"),
    line("phone.calls.tier3", "20", "call", "1.84", "call", "36.80"),
    line("phone.talk_over_90s", "1200", "second", "1.64", "minute", "32.80"),
    line("messaging.included", "50", "interaction", "0.00", "interaction", "0.00"),
    line("discount.bundle", "325", "fee", "-0.125", "fee", "-40.63"),
], sid="NL-ANS-1")
SERVICE_PACK = make_spec([
    line("servicepack.purchase", "2", "pack", "80.00", "pack", "160.00"),
    line("servicepack.travel", "24", "km", "0.80", "km", "19.20"),
], sid="BE-SP-1", country="BE", buyer_reference="PO 4711")
KLIPPEKORT = make_spec([
    line("klippekort.purchase", "1", "card", "4995.00", "card", "4995.00", rate="0.25"),
    line("klippekort.overflow", "3", "klip", "499.50", "klip", "1498.50", rate="0.25"),
], sid="DK-KK-1", country="DK", currency="DKK")
INTERACT = make_spec([
    line("interact.seats", "93", "user-day", "30.00", "user-month", "90.00"),
    line("interact.generic_api", "20", "day", "50.00", "month", "32.26"),
    line("interact.activation", "1", "one-off", "250.00", "one-off", "250.00"),
], sid="BE-IX-1", country="BE")
REMOTE = make_spec([
    line("remote.time", "10", "minute", "103.85", "hour", "17.31"),
    line("remote.session_minimum", "1", "session", "2.69", "session", "2.69"),
    line("invoice.minimum", "1", "invoice", "10.00", "invoice", "10.00"),
], sid="NL-RS-1", due_date="2026-11-15")
ADJUSTED = make_spec(
    [line("phone.plan", "30", "day", "35.00", "month", "35.00")],
    [line("phone.calls.tier3", "20", "call", "1.84", "call", "36.80", period="2026-09", adjusts="202609-00012",
          rule="X3"),
     line("phone.talk_over_90s", "1200", "second", "1.64", "minute", "32.80", period="2026-09",
          adjusts="202609-00012", rule="X3"),
     line("phone.calls.tier1", "-2", "call", "3.03", "call", "-6.06", period="2026-08", adjusts="202608-00007",
          rule="X3")],
    sid="NL-ANS-2", period="2026-11", spec_number="202611-00004", issue_date="2026-12-01", due_date="2026-12-31")
CREDIT = make_spec(
    [],
    [line("phone.plan", "-31", "day", "60.45", "month", "-60.45", period="2026-10", adjusts="202610-00002",
          rule="X3")],
    sid="NL-ANS-3", period="2026-11", spec_number="202611-00005", issue_date="2026-12-01", due_date="2026-12-31")
MIXED_CREDIT = make_spec(
    [line("phone.plan", "30", "day", "35.00", "month", "35.00")],
    [line("phone.plan", "-31", "day", "243.00", "month", "-243.00", period="2026-10", adjusts="202610-00009",
          rule="X3")],
    sid="NL-ANS-4", period="2026-11", spec_number="202611-00006", issue_date="2026-12-01", due_date="2026-12-31")

TWO_RATES = make_spec([
    line("phone.plan", "1", "month", "35.00", "month", "35.00"),
    line("training.hours", "90", "minute", "33.05", "hour", "49.58", rate="0.09"),
    line("servicepack.travel", "24.5", "km", "0.80", "km", "19.60", rate="0.09"),
], sid="NL-X-1")
DK_CREDIT = make_spec(
    [line("klippekort.purchase", "1", "card", "100.00", "card", "100.00", rate="0.25")],
    [line("klippekort.overflow", "-3", "klip", "499.50", "klip", "-1498.50", rate="0.25", period="2026-07",
          adjusts="202607-00002", rule="X3"),
     line("klippekort.overflow", "0", "klip", "499.50", "klip", "-10.00", rate="0.25", period="2026-08",
          adjusts=None, rule="X3")],
    sid="DK-KK-9", country="DK", currency="DKK", period="2026-11", spec_number="202611-00002",
    issue_date="2026-12-01", due_date="2026-12-31", buyer_reference="Réf. <Ærø> & \"x\"")

DOCUMENTS = {"two_rates": TWO_RATES, "dk_credit_note": DK_CREDIT, "answering": ANSWERING, "service_pack": SERVICE_PACK, "klippekort": KLIPPEKORT,
             "interact": INTERACT, "remote_support": REMOTE, "adjusted": ADJUSTED, "credit_note": CREDIT,
             "mixed_credit_note": MIXED_CREDIT}


def parse(doc: bytes):
    return ET.fromstring(doc)


def amount(root, path) -> Decimal:
    return D(root.find(path, NS).text)


def doc_lines(root):
    return root.findall("cac:InvoiceLine", NS) + root.findall("cac:CreditNoteLine", NS)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_ubl_is_valid_ubl_2_1(name, seller, schemas):
    doc = ubl_document(DOCUMENTS[name], seller)
    assert isinstance(doc, bytes), doc
    root = parse(doc)
    kind = root.tag.split("}")[1]
    assert kind == ("CreditNote" if "credit" in name else "Invoice")
    schemas[kind].validate(doc.decode("utf-8"))
    assert root.find("cbc:CustomizationID", NS).text == CUSTOMIZATION_ID
    assert root.find("cbc:ProfileID", NS).text == PROFILE_ID
    assert root.find("cbc:ID", NS).text == DOCUMENTS[name]["spec_number"]
    # no empty element (PEPPOL-EN16931-R008)
    assert all((e.text or "").strip() or len(e) for e in root.iter())


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_ubl_totals_rules(name, seller):
    """BR-CO-10 (Σ line net = line extension), BR-CO-13 (tax exclusive = line extension −
    allowances + charges), BR-CO-15 (tax inclusive = exclusive + tax), BR-CO-16
    (payable = inclusive − prepaid + rounding), BR-CO-14 (tax total = Σ subtotals),
    BR-CO-17 (subtotal tax = taxable × rate, rounded), BR-S-08 (taxable per rate = Σ
    lines at that rate), PEPPOL-EN16931-R120 (line net = quantity × price), BR-27
    (price ≥ 0)."""
    spec = DOCUMENTS[name]
    root = parse(ubl_document(spec, seller))
    sign = -1 if D(spec["total"]) < 0 else 1
    lmt = "cac:LegalMonetaryTotal/"
    lines = doc_lines(root)
    line_ext = sum((amount(ln, "cbc:LineExtensionAmount") for ln in lines), D(0))
    assert amount(root, lmt + "cbc:LineExtensionAmount") == line_ext == sign * D(spec["subtotal"])
    allowances = charges = D(0)  # ccmeter writes discounts as lines, never document allowances
    assert amount(root, lmt + "cbc:TaxExclusiveAmount") == line_ext - allowances + charges
    tax = amount(root, "cac:TaxTotal/cbc:TaxAmount")
    assert amount(root, lmt + "cbc:TaxInclusiveAmount") == amount(root, lmt + "cbc:TaxExclusiveAmount") + tax
    assert amount(root, lmt + "cbc:PayableAmount") == amount(root, lmt + "cbc:TaxInclusiveAmount") \
        == sign * D(spec["total"])
    subtotals = root.findall("cac:TaxTotal/cac:TaxSubtotal", NS)
    assert len(root.findall("cac:TaxTotal", NS)) == 1
    assert tax == sum((amount(s, "cbc:TaxAmount") for s in subtotals), D(0))
    for s in subtotals:
        base, rate = amount(s, "cbc:TaxableAmount"), amount(s, "cac:TaxCategory/cbc:Percent") / 100
        assert abs(amount(s, "cbc:TaxAmount") - (base * rate).quantize(D("0.01"), ROUND_HALF_UP)) <= D("0.01")
        at_rate = [ln for ln in lines if amount(ln, "cac:Item/cac:ClassifiedTaxCategory/cbc:Percent") / 100 == rate]
        assert base == sum((amount(ln, "cbc:LineExtensionAmount") for ln in at_rate), D(0))
    assert len(lines) == len(spec["lines"]) + len(spec["adjustments"])
    for ln in lines:
        qty = ln.find("cbc:InvoicedQuantity", NS)
        qty = qty if qty is not None else ln.find("cbc:CreditedQuantity", NS)
        price = amount(ln, "cac:Price/cbc:PriceAmount")
        assert price >= 0
        assert abs(D(qty.text) * price - amount(ln, "cbc:LineExtensionAmount")) <= D("0.02")
        assert qty.get("unitCode") in set(UNIT_CODES.values())
    # every amount in the document's currency
    assert {e.get("currencyID") for e in root.iter() if e.get("currencyID")} == {spec["currency"]}


def test_lines_map_units_and_r120(seller):
    root = parse(ubl_document(ANSWERING, seller))
    by_code = {ln.find("cac:Item/cac:SellersItemIdentification/cbc:ID", NS).text: ln for ln in doc_lines(root)}
    calls = by_code["phone.calls.tier1"]
    assert calls.find("cbc:InvoicedQuantity", NS).text == "50"
    assert calls.find("cbc:InvoicedQuantity", NS).get("unitCode") == "C62"
    assert calls.find("cbc:Note", NS) is None
    # per-second line priced per minute: quantity 1 C62 at price = amount, the reader's units in the note
    talk = by_code["phone.talk_over_90s"]
    assert (talk.find("cbc:InvoicedQuantity", NS).text, talk.find("cbc:InvoicedQuantity", NS).get("unitCode")) \
        == ("1", "C62")
    assert talk.find("cac:Price/cbc:PriceAmount", NS).text == "32.80"
    assert talk.find("cbc:Note", NS).text == "Quantity 1200 second at 1.64 per minute"
    plan = by_code["phone.plan"]  # prorated fee: days at a monthly price
    assert plan.find("cbc:Note", NS).text == "Quantity 31 day at 35.00 per month"
    # a discount: negative quantity, positive price (BR-27)
    disc = by_code["discount.bundle"]
    assert disc.find("cbc:InvoicedQuantity", NS).text == "-325"
    assert disc.find("cac:Price/cbc:PriceAmount", NS).text == "0.125"
    assert disc.find("cbc:LineExtensionAmount", NS).text == "-40.63"
    km = parse(ubl_document(SERVICE_PACK, seller))
    assert [q.get("unitCode") for q in km.findall("cac:InvoiceLine/cbc:InvoicedQuantity", NS)] == ["C62", "KMT"]
    assert km.find("cbc:BuyerReference", NS).text == "PO 4711"
    assert root.find("cbc:BuyerReference", NS).text == "NL-ANS-1"  # none given: the subscriber id


def test_unit_table_covers_units_in_use():
    for unit in ("call", "interaction", "second", "minute", "hour", "day", "month", "unit", "klip", "km",
                 "report", "sms", "attempt", "invoice", "user", "session", "fee", "one-off", "card", "pack",
                 "channel", "user-day", "user-month"):
        assert unit in UNIT_CODES
    assert UNIT_CODES["second"] == "SEC" and UNIT_CODES["minute"] == "MIN" and UNIT_CODES["hour"] == "HUR"
    assert UNIT_CODES["day"] == "DAY" and UNIT_CODES["month"] == "MON" and UNIT_CODES["km"] == "KMT"


def test_adjustments_period_references_and_notes(seller):
    root = parse(ubl_document(ADJUSTED, seller))
    assert root.find("cac:InvoicePeriod/cbc:StartDate", NS).text == "2026-08-01"  # earliest corrected month
    assert root.find("cac:InvoicePeriod/cbc:EndDate", NS).text == "2026-11-30"
    refs = [e.text for e in root.findall("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", NS)]
    assert refs == ["202608-00007", "202609-00012"]
    lines = doc_lines(root)
    assert lines[0].find("cac:InvoicePeriod", NS) is None
    adj = lines[1]
    assert adj.find("cac:InvoicePeriod/cbc:StartDate", NS).text == "2026-09-01"
    assert adj.find("cac:InvoicePeriod/cbc:EndDate", NS).text == "2026-09-30"
    assert "202609-00012" in adj.find("cbc:Note", NS).text and "2026-09" in adj.find("cbc:Note", NS).text
    assert "Quantity 1200 second" in lines[2].find("cbc:Note", NS).text
    neg = lines[3]
    assert neg.find("cbc:InvoicedQuantity", NS).text == "-2"
    assert neg.find("cac:Price/cbc:PriceAmount", NS).text == "3.03"


def test_credit_note_reads_positive(seller):
    root = parse(ubl_document(CREDIT, seller))
    assert root.tag.endswith("}CreditNote")
    assert root.find("cbc:CreditNoteTypeCode", NS).text == "381"
    assert root.find("cbc:DueDate", NS) is None
    assert root.find("cac:PaymentMeans/cbc:PaymentDueDate", NS).text == "2026-12-31"
    assert root.find("cac:LegalMonetaryTotal/cbc:PayableAmount", NS).text == "73.14"
    assert root.find("cac:TaxTotal/cbc:TaxAmount", NS).text == "12.69"
    (ln,) = root.findall("cac:CreditNoteLine", NS)
    assert ln.find("cbc:CreditedQuantity", NS).text == "1"
    assert ln.find("cbc:LineExtensionAmount", NS).text == "60.45"
    assert [e.text for e in root.findall("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", NS)] \
        == ["202610-00002"]
    # an own line of a credit note reads negative there
    mixed = parse(ubl_document(MIXED_CREDIT, seller))
    own = mixed.findall("cac:CreditNoteLine", NS)[0]
    assert own.find("cbc:LineExtensionAmount", NS).text == "-35.00"
    assert own.find("cbc:CreditedQuantity", NS).text == "-1"


def test_parties_and_payment(seller):
    root = parse(ubl_document(INTERACT, seller))
    sup = root.find("cac:AccountingSupplierParty/cac:Party", NS)
    assert sup.find("cbc:EndpointID", NS).get("schemeID") == "0106"
    assert sup.find("cac:PartyLegalEntity/cbc:CompanyID", NS).get("schemeID") == "0106"
    assert sup.find("cac:PartyTaxScheme/cbc:CompanyID", NS).text == seller.vat_id
    cus = root.find("cac:AccountingCustomerParty/cac:Party", NS)
    assert (cus.find("cbc:EndpointID", NS).get("schemeID"), cus.find("cbc:EndpointID", NS).text) \
        == ("0208", "0123456749")
    assert cus.find("cac:PartyLegalEntity/cbc:CompanyID", NS).get("schemeID") == "0208"
    assert cus.find("cac:PartyLegalEntity/cbc:RegistrationName", NS).text == "Customer BE-IX-1 & Zonen <B.V.>"
    assert cus.find("cac:PostalAddress/cbc:PostalZone", NS).text == "2000"
    pm = root.find("cac:PaymentMeans", NS)
    assert pm.find("cbc:PaymentMeansCode", NS).text == "58"
    assert pm.find("cbc:PaymentID", NS).text == INTERACT["spec_number"]
    assert pm.find("cac:PayeeFinancialAccount/cbc:ID", NS).text == seller.iban
    assert pm.find("cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID", NS).text == seller.bic
    assert seller.payment_terms in root.find("cac:PaymentTerms/cbc:Note", NS).text
    assert root.find("cbc:DueDate", NS).text == "2026-12-01"


def test_deterministic_and_escaped(seller):
    spec = copy.deepcopy(ANSWERING)
    spec["lines"][0]["description"] = "<script>alert('x')</script> & \x01 \"q\" Ærø"
    a, b = ubl_document(spec, seller), ubl_document(copy.deepcopy(spec), seller)
    assert a == b
    assert b"<script>" not in a and b"&lt;script&gt;" in a and b"\x01" not in a
    root = parse(a)
    names = [e.text for e in root.findall("cac:InvoiceLine/cac:Item/cbc:Name", NS)]
    assert names[0] == "<script>alert('x')</script> & \"q\" Ærø"
    assert a.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Invoice ')


@pytest.mark.parametrize("change, anomaly, reason", [
    ({"peppol_id": None}, False, "no peppol_id"),
    ({"peppol_id": ""}, False, "no peppol_id"),
    ({"draft": True, "spec_number": None}, False, "draft"),
    ({"peppol_id": "9999:123"}, True, "not a Peppol EAS code"),
    ({"peppol_id": "0106-34567890"}, True, "scheme:identifier"),
    ({"peppol_id": "0208:0123456748"}, True, "mod-97"),
    ({"company_id": "3456789"}, True, "8 digits"),
    ({"company_id": None}, True, "NL-R-005"),
    ({"street": None}, True, "NL-R-004"),
    ({"postcode": "  "}, True, "NL-R-004"),
    ({"vat_id": "999000001B01"}, True, "country prefix"),
    ({"subtotal": "1.00"}, True, "subtotal"),
    ({"currency": "euro"}, True, "ISO 4217"),
])
def test_skipped_with_reason(seller, change, anomaly, reason):
    spec = copy.deepcopy(ANSWERING)
    spec.update(change)
    result = ubl_document(spec, seller)
    assert isinstance(result, EinvoiceSkipped)
    assert result.anomaly is anomaly and reason in result.reason
    a = skipped_anomaly(spec, result)
    if anomaly:
        assert (a.kind, a.subscriber_id) == ("einvoice.skipped", "NL-ANS-1") and reason in a.message
    else:
        assert a is None


def test_be_customer_malformed_company_id_skipped(seller):
    spec = copy.deepcopy(SERVICE_PACK)
    spec["company_id"] = "0123.456.748"
    result = ubl_document(spec, seller)
    assert isinstance(result, EinvoiceSkipped) and result.anomaly and "mod-97" in result.reason
    spec["company_id"] = None  # optional outside NL-NL
    assert isinstance(ubl_document(spec, seller), bytes)


def test_credit_note_without_corrected_document_is_skipped_for_dutch_seller(seller):
    spec = copy.deepcopy(CREDIT)
    spec["adjustments"][0]["adjusts"] = None
    result = ubl_document(spec, seller)
    assert isinstance(result, EinvoiceSkipped) and "NL-R-001" in result.reason


def test_zero_rate_line_is_category_z(seller, schemas):
    spec = make_spec([line("phone.plan", "1", "month", "35.00", "month", "35.00", rate="0")])
    root = parse(ubl_document(spec, seller))
    assert root.find("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:ID", NS).text == "Z"
    assert root.find("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:Percent", NS).text == "0"


def test_nothing_to_invoice(seller):
    spec = make_spec([], sid="DK-KK-9", country="DK", currency="DKK")
    result = ubl_document(spec, seller)
    assert isinstance(result, EinvoiceSkipped) and not result.anomaly


# --------------------------------------------------------------------------- JSON Schema
def test_specification_schema_accepts_documents_and_rejects_broken():
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    v = jsonschema.Draft202012Validator(schema)
    for spec in DOCUMENTS.values():
        v.validate({**spec, "seller": load_seller_file(DEMO_SELLER).as_json(), "schema_version": "1"})
    v.validate({**ANSWERING, "spec_number": None, "draft": True})
    for broken in ({**ANSWERING, "spec_number": None}, {**ANSWERING, "total": 462.34},
                   {**ANSWERING, "draft": True}, {**CREDIT, "total": "73.14"},
                   {**ADJUSTED, "adjustments": [{**ADJUSTED["adjustments"][0], "period": "2026-13"}]}):
        assert list(v.iter_errors(broken)), broken
