"""Peppol BIS Billing 3.0 e-invoices (UBL 2.1) of specifications.

Interface (for issuing; nothing here writes files or touches the warehouse):

    from metering.einvoice.seller import load_seller
    from metering.einvoice.ubl import EinvoiceSkipped, ubl_document

    seller = load_seller(ws.root)                 # SellerError: a broken seller.yaml
    result = ubl_document(spec, seller)           # spec: the JSON dict of a specification
    if isinstance(result, bytes):
        write ubl/<subscriber_id>.xml with result (list it in the manifest)
    elif result.anomaly:
        bill.anomalies.append(skipped_anomaly(spec, result))   # kind `einvoice.skipped`
    # else: nothing to do (no peppol_id, a draft, no charge line)

    spec["seller"] = seller.as_json()             # before writing the JSON: the PDF prints it

`ubl_document` reads the specification dict alone (decimals as strings, the format of
data-contract.md) and never raises on its content: a subscriber without `peppol_id` or a
draft gives `EinvoiceSkipped(anomaly=False)`; malformed e-invoice data (an unknown
endpoint scheme, a check digit, a missing address part the rules require, a document the
rules cannot express) gives `EinvoiceSkipped(anomaly=True)` with the reason. The same
spec and seller give the same bytes.

Mapping (see README "E-invoices"):
- total ≥ 0 → Invoice (380); total < 0 → CreditNote (381) with every amount and
  quantity negated, so they read positive; its due date goes to
  PaymentMeans/PaymentDueDate (UBL's CreditNote has no DueDate).
- ID = spec_number; BuyerReference = `buyer_reference`, else the subscriber id.
- InvoicePeriod: first day of the earliest month an adjustment corrects (else of the
  month) → last day of the month. BillingReference: one per corrected document
  (`adjusts`, non-null, sorted).
- One line per own line and per adjustment line (in that order). A line whose unit is
  its price unit and whose amount is quantity × unit price within 0.02 is written as is
  (unit code from UNIT_CODES); otherwise (PEPPOL-EN16931-R120: per-second lines priced
  per minute, prorated fees) as quantity 1 `C62` at price = |amount|, the reader's
  quantity and unit in the line note. Prices are never negative (BR-27): a negative
  amount has a negative quantity.
- VAT category S at the line's rate, Z at rate 0; one TaxTotal, a TaxSubtotal per rate
  with the JSON base and amount; LegalMonetaryTotal = JSON subtotal / total.
- Adjustment lines carry their month as line InvoicePeriod and the corrected document
  in the note.
"""
from __future__ import annotations

import calendar
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from metering.einvoice import identifiers as ids
from metering.einvoice.seller import Seller

__all__ = ["EinvoiceSkipped", "ubl_document", "skipped_anomaly", "UNIT_CODES", "CUSTOMIZATION_ID",
           "PROFILE_ID"]

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
ET.register_namespace("cac", CAC)
ET.register_namespace("cbc", CBC)

# UN/ECE Recommendation 20 unit codes of the line units ccmeter's pricing emits (a
# unit not listed is written as C62 "one"). Time units are real units; counted things
# (calls, reports, klip, fees …) are "one".
UNIT_CODES = {
    "second": "SEC", "minute": "MIN", "hour": "HUR", "day": "DAY", "week": "WEE", "month": "MON",
    "quarter": "QAN", "year": "ANN", "km": "KMT",
    "call": "C62", "interaction": "C62", "attempt": "C62", "report": "C62", "sms": "C62",
    "invoice": "C62", "session": "C62", "fee": "C62", "one-off": "C62", "card": "C62", "pack": "C62",
    "klip": "C62", "channel": "C62", "user": "C62", "unit": "C62", "trip": "C62", "task": "C62",
    "user-day": "C62", "user-month": "C62",
}
ONE = "C62"
R120_SLACK = Decimal("0.02")
CENT = Decimal("0.01")
# XML 1.0 forbids these characters even escaped: they become spaces
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_TEXT = 1000


@dataclass(frozen=True)
class EinvoiceSkipped:
    """No e-invoice for this specification. `anomaly`: True when e-invoice data is
    malformed (the caller lists an `einvoice.skipped` anomaly with `reason`); False when
    there is simply nothing to send (no peppol_id, a draft)."""
    reason: str
    anomaly: bool = True


def skipped_anomaly(spec: dict, skipped: EinvoiceSkipped):
    """The `einvoice.skipped` anomaly (metering.lines.Anomaly) of a specification whose
    e-invoice was skipped for malformed data; None when nothing was malformed."""
    from metering.lines import Anomaly
    if not skipped.anomaly:
        return None
    sid = str(spec.get("subscriber_id") or "")
    return Anomaly("einvoice.skipped", "einvoice", sid, f"subscribers/{sid}",
                   f"no e-invoice for {spec.get('spec_number')}: {skipped.reason}")


class _Skip(Exception):
    def __init__(self, reason: str, anomaly: bool = True):
        super().__init__(reason)
        self.result = EinvoiceSkipped(reason, anomaly)


# --------------------------------------------------------------------------- helpers
def _text(value, limit: int = MAX_TEXT) -> str:
    s = "" if value is None else str(value)
    s = " ".join(_XML_BAD.sub(" ", s).split())
    if len(s) > limit:
        s = s[:limit - 1].rstrip() + "\u2026"
    return s


def _dec(value, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _Skip(f"{what} {value!r} is not a decimal string")
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise _Skip(f"{what} {value!r} is not a decimal") from None
    if not d.is_finite():
        raise _Skip(f"{what} {value!r} is not a finite decimal")
    return d


def _plain(d: Decimal) -> str:
    """A decimal as plain text, no exponent, no needless trailing zeros (at least an
    integer): 325 → '325', 0.1250 → '0.125', -0 → '0'."""
    if d == 0:
        return "0"
    s = format(d.normalize(), "f")
    return s


def _money(d: Decimal) -> str:
    if d != d.quantize(CENT):
        raise _Skip(f"amount {d} has more than two decimals")
    return str(d.quantize(CENT) + 0)  # + 0 turns -0.00 into 0.00


def _month(text, what: str) -> tuple[date, date]:
    m = _MONTH.fullmatch(str(text or ""))
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise _Skip(f"{what} {text!r} is not a month YYYY-MM")
    y, mo = int(m.group(1)), int(m.group(2))
    return date(y, mo, 1), date(y, mo, calendar.monthrange(y, mo)[1])


def _day(text, what: str) -> str:
    s = str(text or "")
    if not _DAY.fullmatch(s):
        raise _Skip(f"{what} {text!r} is not a date YYYY-MM-DD")
    try:
        date.fromisoformat(s)
    except ValueError:
        raise _Skip(f"{what} {text!r} is not a date") from None
    return s


def _percent(rate: Decimal) -> str:
    return _plain(rate * 100)


def _el(parent, tag: str, text=None, **attrs):
    """A child element cbc:/cac:tag (prefix in `tag`), text set when given."""
    prefix, name = tag.split(":")
    e = ET.SubElement(parent, f"{{{CBC if prefix == 'cbc' else CAC}}}{name}",
                      {k.replace("_", ""): v for k, v in attrs.items()})
    if text is not None:
        e.text = text
    return e


# --------------------------------------------------------------------------- buyer data
@dataclass(frozen=True)
class _Buyer:
    endpoint: ids.PeppolId
    name: str
    country: str
    street: str
    city: str
    postcode: str
    vat_id: str
    company_id: str
    company_scheme: str
    reference: str


def _buyer(spec: dict, seller: Seller) -> _Buyer:
    sid = _text(spec.get("subscriber_id"), 64)
    raw_peppol = _text(spec.get("peppol_id"), 200)
    if not raw_peppol:
        raise _Skip("the subscriber has no peppol_id", anomaly=False)
    try:
        endpoint = ids.parse_peppol_id(raw_peppol)
    except ids.IdentifierError as exc:
        raise _Skip(str(exc)) from None
    country = _text(spec.get("country"), 2)
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise _Skip(f"country {spec.get('country')!r} is not an ISO 3166-1 alpha-2 code")
    name = _text(spec.get("name"), 300)
    if not name:
        raise _Skip("the subscriber has no name (Buyer name, BT-44)")
    street, city, postcode = (_text(spec.get(k), 200) for k in ("street", "city", "postcode"))
    vat_id = _text(spec.get("vat_id"), 40).replace(" ", "")
    if vat_id:
        # the prefix rule (BR-CO-09) only: a customer's VAT id is the customer's data
        problem = ids.vat_prefix_error(vat_id)
        if problem:
            raise _Skip(f"vat_id: {problem}")
    company_id, scheme = _text(spec.get("company_id"), 40), ""
    if company_id:
        problem = ids.company_id_error(country, company_id)
        if problem:
            raise _Skip(f"company_id: {problem}")
        company_id = ids.normalise_company_id(country, company_id)
        scheme = ids.COMPANY_SCHEMES[country]
    if seller.country == "NL" and country == "NL":
        missing = [k for k, v in (("street", street), ("city", city), ("postcode", postcode)) if not v]
        if missing:
            raise _Skip(f"{', '.join(missing)} missing: a Dutch seller's invoice to a Dutch customer needs "
                        "street, city and postcode (Peppol NL-R-004)")
        if not company_id:
            raise _Skip("company_id (KVK) missing: a Dutch seller's invoice to a Dutch customer needs the "
                        "customer's KVK number (Peppol NL-R-005)")
    reference = _text(spec.get("buyer_reference"), 200) or sid
    return _Buyer(endpoint, name, country, street, city, postcode, vat_id, company_id, scheme, reference)


# --------------------------------------------------------------------------- lines
@dataclass(frozen=True)
class _Line:
    code: str
    name: str
    quantity: Decimal
    unit_code: str
    price: Decimal
    amount: Decimal
    rate: Decimal
    note: str
    period: tuple[date, date] | None


def _line(ln: dict, sign: int, what: str) -> _Line:
    if not isinstance(ln, dict):
        raise _Skip(f"{what} is not an object")
    amount = _dec(ln.get("amount"), f"{what} amount") * sign
    quantity = _dec(ln.get("quantity"), f"{what} quantity") * sign
    unit_price = _dec(ln.get("unit_price"), f"{what} unit_price")
    rate = _dec(ln.get("vat_rate"), f"{what} vat_rate")
    if not Decimal(0) <= rate < 1:
        raise _Skip(f"{what} vat_rate {rate} is outside [0, 1)")
    unit, price_unit = _text(ln.get("unit"), 40), _text(ln.get("price_unit"), 40)
    code = _text(ln.get("code"), 120)
    name = _text(ln.get("description"), 300) or code or "Charge"
    notes = []
    # quantity × price must give the amount (R120); prices are never negative (BR-27):
    # the sign goes to the quantity
    q = abs(quantity) * (-1 if amount < 0 or (amount == 0 and quantity * unit_price < 0) else 1)
    p = abs(unit_price)
    if unit == price_unit and abs(q * p - amount) <= R120_SLACK:
        unit_code = UNIT_CODES.get(unit.lower(), ONE)
    else:
        reader = f"{_plain(quantity * sign)} {unit}".strip()
        per = f" per {price_unit}" if price_unit else ""
        notes.append(f"Quantity {reader} at {_text(ln.get('unit_price'), 40)}{per}")
        q, p, unit_code = (Decimal(-1) if amount < 0 else Decimal(1)), abs(amount), ONE
    return _Line(code, name, q, unit_code, p, amount, rate, "; ".join(notes), None)


def _adjustment(ln: dict, sign: int, what: str) -> tuple[_Line, str | None]:
    base = _line(ln, sign, what)
    start, end = _month(ln.get("period"), f"{what} period")
    adjusts = _text(ln.get("adjusts"), 60) or None
    corrects = (f"Adjustment for {start:%Y-%m} of document {adjusts}" if adjusts
                else f"Adjustment for {start:%Y-%m} (no document was issued for that month)")
    note = corrects + ("; " + base.note if base.note else "")
    return _Line(base.code, base.name, base.quantity, base.unit_code, base.price, base.amount, base.rate,
                 note, (start, end)), adjusts


# --------------------------------------------------------------------------- document
def ubl_document(spec: dict, seller: Seller) -> bytes | EinvoiceSkipped:
    """The Peppol BIS Billing 3.0 UBL 2.1 document of one specification (see the module
    docstring), or why there is none."""
    try:
        return _document(spec, seller)
    except _Skip as skip:
        return skip.result


def _document(spec: dict, seller: Seller) -> bytes:
    if not isinstance(spec, dict):
        raise _Skip("the specification is not an object")
    if spec.get("draft") or not spec.get("spec_number"):
        raise _Skip("a draft gets no e-invoice", anomaly=False)
    buyer = _buyer(spec, seller)
    number = _text(spec.get("spec_number"), 60)
    currency = _text(spec.get("currency"), 3)
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise _Skip(f"currency {spec.get('currency')!r} is not an ISO 4217 code")
    issue = _day(spec.get("issue_date"), "issue_date")
    due = _day(spec.get("due_date"), "due_date")
    month_start, month_end = _month(spec.get("period"), "period")

    total = _dec(spec.get("total"), "total")
    credit = total < 0
    sign = -1 if credit else 1
    subtotal = _dec(spec.get("subtotal"), "subtotal") * sign
    total *= sign
    lines = [_line(ln, sign, f"line {i}") for i, ln in enumerate(spec.get("lines") or [], start=1)]
    refs: set[str] = set()
    for i, ln in enumerate(spec.get("adjustments") or [], start=1):
        adj, ref = _adjustment(ln, sign, f"adjustment {i}")
        lines.append(adj)
        if ref:
            refs.add(ref)
    if not lines:
        raise _Skip("nothing to invoice: no charge lines (only prepaid balance movements); an e-invoice "
                    "needs at least one line (BR-16)", anomaly=False)
    vat = []
    for i, v in enumerate(spec.get("vat") or [], start=1):
        if not isinstance(v, dict):
            raise _Skip(f"vat {i} is not an object")
        vat.append((_dec(v.get("rate"), f"vat {i} rate"), _dec(v.get("base"), f"vat {i} base") * sign,
                    _dec(v.get("amount"), f"vat {i} amount") * sign))
    vat.sort()
    _check_totals(lines, vat, subtotal, total)
    start = min([month_start] + [ln.period[0] for ln in lines if ln.period])
    if credit and seller.country == "NL" and not refs:
        raise _Skip("a credit note of a Dutch seller must reference the corrected invoice (Peppol NL-R-001), "
                    "and no adjustment line names one (adjusts is null)")

    # The root is written unqualified with an explicit default namespace: ElementTree's
    # own default_namespace option refuses unqualified attributes (currencyID, unitCode).
    root = ET.Element("CreditNote" if credit else "Invoice", {"xmlns": NS_CREDIT if credit else NS_INVOICE})
    _el(root, "cbc:CustomizationID", CUSTOMIZATION_ID)
    _el(root, "cbc:ProfileID", PROFILE_ID)
    _el(root, "cbc:ID", number)
    _el(root, "cbc:IssueDate", issue)
    if credit:
        _el(root, "cbc:CreditNoteTypeCode", "381")
    else:
        _el(root, "cbc:DueDate", due)
        _el(root, "cbc:InvoiceTypeCode", "380")
    _el(root, "cbc:Note", _text(f"Specification {number}, period {month_start:%Y-%m}"
                                + (" (DEMO seller, not a real document)" if seller.demo else "")))
    _el(root, "cbc:DocumentCurrencyCode", currency)
    _el(root, "cbc:BuyerReference", buyer.reference)
    period = _el(root, "cac:InvoicePeriod")
    _el(period, "cbc:StartDate", start.isoformat())
    _el(period, "cbc:EndDate", month_end.isoformat())
    for ref in sorted(refs):
        _el(_el(_el(root, "cac:BillingReference"), "cac:InvoiceDocumentReference"), "cbc:ID", ref)
    _supplier(_el(root, "cac:AccountingSupplierParty"), seller)
    _customer(_el(root, "cac:AccountingCustomerParty"), buyer)
    means = _el(root, "cac:PaymentMeans")
    _el(means, "cbc:PaymentMeansCode", "58", name="SEPA credit transfer")
    if credit:
        _el(means, "cbc:PaymentDueDate", due)
    _el(means, "cbc:PaymentID", number)
    account = _el(means, "cac:PayeeFinancialAccount")
    _el(account, "cbc:ID", seller.iban)
    _el(account, "cbc:Name", _text(seller.name, 200))
    _el(_el(account, "cac:FinancialInstitutionBranch"), "cbc:ID", seller.bic)
    terms = (f"Credit note {number}: the amount is refunded or set off against the next invoice. "
             if credit else f"Due {due}. ")
    _el(_el(root, "cac:PaymentTerms"), "cbc:Note", _text(terms + seller.payment_terms))

    tax = _el(root, "cac:TaxTotal")
    _el(tax, "cbc:TaxAmount", _money(sum((a for _, _, a in vat), Decimal(0))), currencyID=currency)
    for rate, base, amount in vat:
        sub = _el(tax, "cac:TaxSubtotal")
        _el(sub, "cbc:TaxableAmount", _money(base), currencyID=currency)
        _el(sub, "cbc:TaxAmount", _money(amount), currencyID=currency)
        _category(sub, "cac:TaxCategory", rate)
    totals = _el(root, "cac:LegalMonetaryTotal")
    _el(totals, "cbc:LineExtensionAmount", _money(subtotal), currencyID=currency)
    _el(totals, "cbc:TaxExclusiveAmount", _money(subtotal), currencyID=currency)
    _el(totals, "cbc:TaxInclusiveAmount", _money(total), currencyID=currency)
    _el(totals, "cbc:PayableAmount", _money(total), currencyID=currency)

    for n, ln in enumerate(lines, start=1):
        e = _el(root, "cac:CreditNoteLine" if credit else "cac:InvoiceLine")
        _el(e, "cbc:ID", str(n))
        if ln.note:
            _el(e, "cbc:Note", _text(ln.note))
        _el(e, "cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity", _plain(ln.quantity),
            unitCode=ln.unit_code)
        _el(e, "cbc:LineExtensionAmount", _money(ln.amount), currencyID=currency)
        if ln.period:
            lp = _el(e, "cac:InvoicePeriod")
            _el(lp, "cbc:StartDate", ln.period[0].isoformat())
            _el(lp, "cbc:EndDate", ln.period[1].isoformat())
        item = _el(e, "cac:Item")
        _el(item, "cbc:Name", ln.name)
        if ln.code:
            _el(_el(item, "cac:SellersItemIdentification"), "cbc:ID", ln.code)
        _category(item, "cac:ClassifiedTaxCategory", ln.rate)
        price = _el(e, "cac:Price")
        _el(price, "cbc:PriceAmount", _plain(ln.price) if ln.price != ln.price.quantize(CENT)
            else _money(ln.price), currencyID=currency)

    ET.indent(root, space="  ")
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n'
            + ET.tostring(root, encoding="unicode").encode("utf-8") + b"\n")


def _check_totals(lines: list[_Line], vat: list[tuple[Decimal, Decimal, Decimal]], subtotal: Decimal,
                  total: Decimal) -> None:
    """The JSON's totals must hold for its lines, or the document would break BR-CO-10…16
    and BR-S-08: subtotal = Σ lines, VAT base per rate = Σ lines at that rate, total =
    subtotal + Σ VAT."""
    line_sum = sum((ln.amount for ln in lines), Decimal(0))
    if line_sum != subtotal:
        raise _Skip(f"the lines add up to {line_sum}, the subtotal says {subtotal}")
    per_rate: dict[Decimal, Decimal] = {}
    for ln in lines:
        per_rate[ln.rate] = per_rate.get(ln.rate, Decimal(0)) + ln.amount
    if len({r for r, _, _ in vat}) != len(vat) or {r: b for r, b, _ in vat} != per_rate:
        raise _Skip("the VAT breakdown does not match the lines' amounts per rate")
    if subtotal + sum((a for _, _, a in vat), Decimal(0)) != total:
        raise _Skip("total is not subtotal + VAT")


def _category(parent, tag: str, rate: Decimal) -> None:
    cat = _el(parent, tag)
    _el(cat, "cbc:ID", "S" if rate > 0 else "Z")
    _el(cat, "cbc:Percent", _percent(rate))
    _el(_el(cat, "cac:TaxScheme"), "cbc:ID", "VAT")


def _supplier(parent, seller: Seller) -> None:
    party = _el(parent, "cac:Party")
    ep = seller.endpoint
    _el(party, "cbc:EndpointID", ep.identifier, schemeID=ep.scheme)
    _el(_el(party, "cac:PartyName"), "cbc:Name", _text(seller.name, 300))
    addr = _el(party, "cac:PostalAddress")
    _el(addr, "cbc:StreetName", _text(seller.street, 200))
    _el(addr, "cbc:CityName", _text(seller.city, 200))
    _el(addr, "cbc:PostalZone", _text(seller.postcode, 40))
    _el(_el(addr, "cac:Country"), "cbc:IdentificationCode", seller.country)
    pts = _el(party, "cac:PartyTaxScheme")
    _el(pts, "cbc:CompanyID", seller.vat_id)
    _el(_el(pts, "cac:TaxScheme"), "cbc:ID", "VAT")
    legal = _el(party, "cac:PartyLegalEntity")
    _el(legal, "cbc:RegistrationName", _text(seller.name, 300))
    _el(legal, "cbc:CompanyID", seller.company_id, schemeID=seller.company_scheme)
    if seller.email or seller.phone:
        contact = _el(party, "cac:Contact")
        if seller.phone:
            _el(contact, "cbc:Telephone", _text(seller.phone, 60))
        if seller.email:
            _el(contact, "cbc:ElectronicMail", _text(seller.email, 200))


def _customer(parent, buyer: _Buyer) -> None:
    party = _el(parent, "cac:Party")
    _el(party, "cbc:EndpointID", buyer.endpoint.identifier, schemeID=buyer.endpoint.scheme)
    _el(_el(party, "cac:PartyName"), "cbc:Name", buyer.name)
    addr = _el(party, "cac:PostalAddress")
    if buyer.street:
        _el(addr, "cbc:StreetName", buyer.street)
    if buyer.city:
        _el(addr, "cbc:CityName", buyer.city)
    if buyer.postcode:
        _el(addr, "cbc:PostalZone", buyer.postcode)
    _el(_el(addr, "cac:Country"), "cbc:IdentificationCode", buyer.country)
    if buyer.vat_id:
        pts = _el(party, "cac:PartyTaxScheme")
        _el(pts, "cbc:CompanyID", buyer.vat_id)
        _el(_el(pts, "cac:TaxScheme"), "cbc:ID", "VAT")
    legal = _el(party, "cac:PartyLegalEntity")
    _el(legal, "cbc:RegistrationName", buyer.name)
    if buyer.company_id:
        _el(legal, "cbc:CompanyID", buyer.company_id, schemeID=buyer.company_scheme)
