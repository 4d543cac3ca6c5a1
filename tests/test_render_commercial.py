"""The PDF as a commercial document (issue 12): embedded TrueType fonts covering the
Nordic and Dutch letters, the seller block on every page, payment instructions and
reference, the customer's company id and VAT id, human durations beside per-second and
per-minute quantities."""
from __future__ import annotations

import io

import pytest

pypdf = pytest.importorskip("pypdf")

from test_render import sample_eur  # noqa: E402

from metering.einvoice.seller import DEMO_SELLER, load_seller_file  # noqa: E402
from metering.render.pdf import _human_duration, human_duration, pdf_bytes  # noqa: E402


def _spec(**kw) -> dict:
    spec = sample_eur()
    spec["seller"] = load_seller_file(DEMO_SELLER).as_json()
    spec["company_id"] = "34567890"
    spec.update(kw)
    return spec


def _pages(data: bytes) -> list[str]:
    return [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages]


def _fonts(data: bytes) -> list[dict]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    found = {}
    for page in reader.pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for ref in fonts.values():
            font = ref.get_object()
            found[font["/BaseFont"]] = font
    return list(found.values())


def test_every_font_is_an_embedded_truetype():
    data = pdf_bytes(_spec())
    fonts = _fonts(data)
    assert fonts
    for font in fonts:
        assert font["/Subtype"] == "/TrueType", font["/BaseFont"]
        descriptor = font["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor, f"{font['/BaseFont']} is not embedded"
        assert "Lato" in font["/BaseFont"]
    # the minimal document (no seller) too: no standard-14 font such as Helvetica
    assert all("Helvetica" not in f["/BaseFont"] for f in _fonts(pdf_bytes(sample_eur())))


def test_nordic_and_dutch_letters_are_drawn():
    spec = _spec()
    spec["lines"][0]["description"] = "Ærø-kontoret æ ø å é ë Å Ø"
    text = "\n".join(_pages(pdf_bytes(spec)))
    assert "Ærø-kontoret æ ø å é ë Å Ø" in text


def test_seller_block_on_every_page_and_payment():
    spec = _spec()
    spec["appendix"] = spec["appendix"] * 3  # several pages
    pages = _pages(pdf_bytes(spec))
    assert len(pages) >= 3
    seller = spec["seller"]
    for text in pages:
        assert seller["name"] in text
        assert "Voorbeeldstraat 1, 3511 AA Utrecht" in text
        assert f"VAT ID {seller['vat_id']}" in text and f"KVK {seller['company_id']}" in text
        assert f"IBAN {seller['iban']}" in text and f"BIC {seller['bic']}" in text
    first = " ".join(pages[0].split())
    assert "Payment" in first and "quoting reference 202610-00001" in first
    assert f"by 2026-12-01 to IBAN {seller['iban']}" in first
    assert " ".join(seller["payment_terms"].split()[:5]) in first
    # the customer's ids in the header
    assert "VAT ID NL123456789B01" in first and "KVK 34567890" in first


def test_credit_total_wording_and_other_countries():
    spec = _spec(total="-73.14", country="BE", company_id="0123456749")
    text = " ".join(" ".join(_pages(pdf_bytes(spec))).split())
    assert "credits EUR 73.14" in text and "Please pay" not in text
    assert "Enterprise no. 0123456749" in text


def test_without_seller_block_no_payment_section():
    text = "\n".join(_pages(pdf_bytes(sample_eur())))
    assert "Payment" not in text and "IBAN" not in text


def test_human_durations():
    assert human_duration(14169) == "3 h 56 min 9 s"
    assert human_duration(3600) == "1 h"
    assert human_duration(61) == "1 min 1 s"
    assert human_duration(0) == "0 s"
    assert _human_duration("14169", "second") == "3 h 56 min 9 s"
    assert _human_duration("90", "minute") == "1 h 30 min"
    assert _human_duration("59", "second") == ""  # under a minute: nothing to add
    assert _human_duration("30", "minute") == ""
    assert _human_duration("-125", "second") == "\u22122 min 5 s"
    assert _human_duration("12.5", "second") == "" and _human_duration("x", "second") == ""
    assert _human_duration("500", "call") == ""
    text = " ".join(" ".join(_pages(pdf_bytes(_spec()))).split())
    assert "12,345 second 3 h 25 min 45 s" in text  # talk time line of the sample
    assert "90 minute 1 h 30 min" in text


def test_commercial_pdf_is_deterministic():
    assert pdf_bytes(_spec()) == pdf_bytes(_spec())
