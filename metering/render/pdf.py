"""The PDF of a specification: the document finance reads and sends.

Input is the already computed specification dict (decimals as strings); nothing here
computes money. Numbers are shown with their digits exactly as given, only thousands
separators are inserted. Output is byte-deterministic for the same input (reportlab
`invariant=1`, fixed metadata).

Speed: styles are built once at import; short cell texts are drawn as plain strings
(no Paragraph parsing), only texts that would not fit their column become wrapping
Paragraphs. Long one-line listings (appendix, pack movements) are drawn by
`_FastListing` (~0.1 ms per row instead of ~0.2 ms with a Table), header repeated on
every page. A one-page specification takes a few milliseconds.
"""
from __future__ import annotations

import io
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.fonts import addMapping
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from metering.render.files import atomic_write
from metering.staging_checks import pdf_marker

__all__ = ["render_pdf", "pdf_bytes", "group_digits", "MAX_TEXT", "MAX_ACTIONS"]

# Compressed streams stay binary instead of also being ASCII85-encoded: without the
# optional C accelerator (`rl_accel`) reportlab's pure-Python ASCII85 encoder costs
# ~3 ms per page, a third of a one-page document. Binary streams are ordinary PDF.
# rl_config is read at save time, so this is set once for the process, not per call
# (toggling it per call would race between threads and break determinism).
rl_config.useA85 = 0

MAX_TEXT = 2000  # free text longer than this is cut in the PDF (the JSON keeps it all)
MAX_ACTIONS = 500  # service-pack movements listed; the rest are counted in a note
MAX_CELL_H = 360  # points: a table row cannot break across pages, so cell text is cut

# --------------------------------------------------------------------------- geometry
PAGE_W, PAGE_H = A4
LEFT = RIGHT = 18 * mm
TOP = 16 * mm
BOTTOM = 18 * mm
WIDTH = PAGE_W - LEFT - RIGHT  # ~493 pt
PAD = 3  # horizontal cell padding (left and right)

# Fonts: Lato (SIL OFL, from the `font-lato` package), TrueType, embedded (subset) in
# every PDF so the document looks the same everywhere and covers æ ø å é ë € – “ ”.
FONT = "CCM-Lato"
BOLD = "CCM-Lato-Bold"
ITALIC = "CCM-Lato-Italic"
SIZE = 8.5
SMALL = 7.5

INK = colors.HexColor("#1a1a1a")
GREY = colors.HexColor("#666666")
RULE = colors.HexColor("#d0d0d0")
BAND = colors.HexColor("#eef1f5")
HEAD_BG = colors.HexColor("#2f3b4c")
WARN = colors.HexColor("#9a4b00")



def _register_fonts() -> tuple[frozenset[int], float]:
    """Registers the embedded TrueType fonts once per process; returns the code points
    all three faces can draw and the widest glyph in em (for the quick fit checks)."""
    import font_lato
    files = {FONT: "Lato-Regular.ttf", BOLD: "Lato-Bold.ttf", ITALIC: "Lato-Italic.ttf"}
    faces = []
    for name, file in files.items():
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, str(Path(font_lato.font_directory) / file)))
        faces.append(pdfmetrics.getFont(name).face)
    for bold, italic, name in ((0, 0, FONT), (1, 0, BOLD), (0, 1, ITALIC), (1, 1, BOLD)):
        addMapping(FONT, bold, italic, name)
    covered = frozenset.intersection(*(frozenset(f.charToGlyph) for f in faces))
    widest = max(max(f.charWidths.values()) for f in faces) / 1000
    return covered, widest


_COVERED, _MAX_EM = _register_fonts()
_MAX_EM = max(_MAX_EM, 1.05)


# --------------------------------------------------------------------------- font subsets
# Every PDF embeds a subset of each face it uses, and making it (TTFontFile.makeSubset)
# then deflating it (~33 KB each) cost ~2 ms of a 10 ms specification. reportlab's first
# subset is ASCII plus the other characters in order of first use, so almost every
# document embeds one of a handful of identical subsets: both steps are cached per
# process (same input, same bytes out; zlib is deterministic at a given level).
_SUBSET_CACHE_SIZE = 64  # per process; ~50 KB each


class _FontSubset(bytes):
    """The bytes of a font subset, carrying their deflated form once computed."""
    deflated: bytes | None = None


_SUBSETS: dict[tuple, _FontSubset] = {}


def _cache_subsets(face) -> None:
    make = face.makeSubset  # the bound method of this face

    def cached(subset):
        key = (face.name, tuple(subset))
        found = _SUBSETS.get(key)
        if found is None:
            if len(_SUBSETS) >= _SUBSET_CACHE_SIZE:
                del _SUBSETS[next(iter(_SUBSETS))]  # the oldest
            found = _SUBSETS[key] = _FontSubset(make(subset))
        return found

    cached.ccm_cached = True  # type: ignore[attr-defined]
    face.makeSubset = cached


class _DeflateOnce(pdfdoc.PDFStreamFilterZCompress):
    """reportlab's Flate filter, except that a cached font subset is deflated once."""

    def encode(self, text):
        if type(text) is _FontSubset:
            if text.deflated is None:
                text.deflated = super().encode(text)
            return text.deflated
        return super().encode(text)


for _name in (FONT, BOLD, ITALIC):
    if not getattr(pdfmetrics.getFont(_name).face.makeSubset, "ccm_cached", False):  # once per process
        _cache_subsets(pdfmetrics.getFont(_name).face)
# font files and page streams take the filter from this module global when a document is saved
pdfdoc.PDFZCompress = _DeflateOnce()

# --------------------------------------------------------------------------- styles
_BODY = ParagraphStyle("ccm-body", fontName=FONT, fontSize=SIZE, leading=10.5, textColor=INK)
_BODY_R = ParagraphStyle("ccm-body-r", parent=_BODY, alignment=TA_RIGHT)
_SMALLP = ParagraphStyle("ccm-small", parent=_BODY, fontSize=SMALL, leading=9, textColor=GREY)
_NAME = ParagraphStyle("ccm-name", parent=_BODY, fontName=BOLD, fontSize=11, leading=14)
_ADDR = ParagraphStyle("ccm-addr", parent=_BODY, fontSize=9, leading=11.5)
_H2 = ParagraphStyle("ccm-h2", parent=_BODY, fontName=BOLD, fontSize=10.5, leading=13,
                     spaceBefore=12, spaceAfter=4, keepWithNext=1)
_NOTE = ParagraphStyle("ccm-note", parent=_BODY, fontName=ITALIC, fontSize=SMALL, leading=9,
                       textColor=GREY, spaceBefore=3)
_WARNP = ParagraphStyle("ccm-warn", parent=_BODY, leftIndent=10, bulletIndent=0,
                        textColor=WARN, spaceAfter=2)
_LISTP = ParagraphStyle("ccm-list", parent=_BODY, leftIndent=10, bulletIndent=0, spaceAfter=2)

# Table style commands shared by every listing (header row 0 dark, thin rules).
_LIST_BASE = (
    ("FONT", (0, 0), (-1, -1), FONT, SIZE, 10.5),
    ("TEXTCOLOR", (0, 0), (-1, -1), INK),
    ("FONT", (0, 0), (-1, 0), BOLD, SMALL, 9),
    ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
    ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("LEFTPADDING", (0, 0), (-1, -1), PAD),
    ("RIGHTPADDING", (0, 0), (-1, -1), PAD),
    ("TOPPADDING", (0, 0), (-1, -1), 2),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ("TOPPADDING", (0, 0), (-1, 0), 3),
    ("BOTTOMPADDING", (0, 0), (-1, 0), 3),
    ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
)

_TOTALS_COLS = (WIDTH - 245, 180, 65)
_TOTALS_STYLE_BASE = (
    ("FONT", (0, 0), (-1, -1), FONT, SIZE + 0.5, 12),
    ("ALIGN", (2, 0), (2, -1), "RIGHT"),
    ("LEFTPADDING", (0, 0), (-1, -1), PAD),
    ("RIGHTPADDING", (0, 0), (-1, -1), PAD),
    ("TOPPADDING", (0, 0), (-1, -1), 2),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
)

_SERVICE_TITLES = {
    "phone": "Phone",
    "messaging": "Messaging",
    "option": "Options",
    "reports": "Reports",
    "training": "Training",
    "direct": "DIRECT assistant",
    "discount": "Discount",
    "servicepack": "Service pack",
    "klippekort": "Klippekort",
    "interact": "Interact",
    "remote": "Remote support",
    "invoice": "Invoice",
}

# --------------------------------------------------------------------------- text helpers
_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_WS = re.compile(r"[\t\r\n]+")
_NUM = re.compile(r"([+-]?)(\d+)(\.\d+)?")
@lru_cache(maxsize=4096)
def _glyph(ch: str) -> str:
    """A character the embedded fonts can draw: itself, its decomposition without
    accents (ő -> o), or '?' (instead of a blank notdef glyph)."""
    if ch == "\n" or ord(ch) in _COVERED:
        return ch
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    if base and all(ord(c) in _COVERED for c in base):
        return base
    return "?"


def _clean(value, limit: int = MAX_TEXT, keep_newlines: bool = False) -> str:
    """Free text, cut to `limit` characters (with an ellipsis), control characters
    removed, characters the fonts lack replaced. Not yet escaped for markup."""
    if value is None:
        return ""
    s = value if isinstance(value, str) else str(value)
    if len(s) > limit:
        s = s[:limit].rstrip() + "\u2026"
    if keep_newlines:
        s = s.replace("\r\n", "\n").replace("\r", "\n")
        s = "\n".join(_WS.sub(" ", part) for part in s.split("\n"))
    else:
        s = _WS.sub(" ", s)
    s = _CTRL.sub(" ", s)
    if not s.isascii() and not all(ord(c) in _COVERED for c in s):
        s = "".join(map(_glyph, s))
    return s


def _markup(value, limit: int = MAX_TEXT) -> str:
    """Free text made safe for Paragraph markup: `<b>` shows literally."""
    return escape(_clean(value, limit))


def group_digits(value) -> str:
    """Insert thousands separators into a plain decimal string, keeping its digits
    exactly: '1390.00' -> '1,390.00', '-12345' -> '-12,345'. Anything that is not a
    plain decimal is returned as text."""
    if value is None:
        return ""
    s = str(value).strip()
    m = _NUM.fullmatch(s)
    if not m:
        return _clean(s, 60)
    sign, whole, frac = m.groups()
    n = len(whole)
    if n > 3:
        head = n % 3 or 3
        whole = ",".join([whole[:head]] + [whole[i:i + 3] for i in range(head, n, 3)])
    return sign + whole + (frac or "")


def _percent(rate) -> str:
    """'0.21' -> '21', '0.095' -> '9.5' (a decimal shift, no arithmetic rounding)."""
    try:
        d = Decimal(str(rate)).scaleb(2).normalize()
    except (InvalidOperation, ValueError):
        return _clean(rate, 20)
    s = format(d, "f")
    return "0" if s in ("-0", "0") else s


def _fits(text: str, width: float, font: str = FONT, size: float = SIZE) -> bool:
    room = width - 2 * PAD - 0.5
    # no glyph of the embedded fonts is wider than _MAX_EM: short texts need no measuring
    return len(text) * size * _MAX_EM <= room or stringWidth(text, font, size) <= room


class _CellParagraph(Paragraph):
    """A table cell's Paragraph, shared by every cell and document of the process that
    shows the same markup in the same style (line descriptions repeat across thousands
    of specifications): parsed once, and its lines broken once per width. A cell is
    never split across pages, so the layout at a width is all that is ever asked."""

    def wrap(self, availWidth, availHeight):
        if self.__dict__.get("_ccm_width") == availWidth:
            return self.width, self.height
        size = super().wrap(availWidth, availHeight)
        self._ccm_width = availWidth
        return size


_PARAGRAPH_CACHE_SIZE = 4096  # per process
_PARAGRAPHS: dict[tuple, _CellParagraph] = {}


def _cell_paragraph(markup: str, style: ParagraphStyle) -> _CellParagraph:
    key = (markup, style.name)
    found = _PARAGRAPHS.get(key)
    if found is None:
        if len(_PARAGRAPHS) >= _PARAGRAPH_CACHE_SIZE:
            del _PARAGRAPHS[next(iter(_PARAGRAPHS))]  # the oldest
        found = _PARAGRAPHS[key] = _CellParagraph(markup, style)
    return found


def _wrapped(text: str, width: float, style: ParagraphStyle = _BODY, suffix: str = ""):
    """A wrapping Paragraph of cleaned `text` (escaped here) plus ready `suffix` markup,
    cut further when it would be taller than MAX_CELL_H (a table row never splits)."""
    p = _cell_paragraph(escape(text) + suffix, style)
    inner = width - 2 * PAD
    # upper bound of the height without laying out (glyphs <= _MAX_EM, +1 line per word
    # break, +2 for the suffix): measure only when it could exceed the limit
    bound = (len(text) * style.fontSize * _MAX_EM / inner + 3) * style.leading * 2
    if bound > MAX_CELL_H:
        keep = len(text)
        h = p.wrap(inner, 1e9)[1]
        while h > MAX_CELL_H and keep > 1:
            keep = int(keep * MAX_CELL_H / h * 0.9)
            p = _cell_paragraph(escape(text[:keep].rstrip()) + "\u2026" + suffix, style)
            h = p.wrap(inner, 1e9)[1]
    return p


def _cell(text: str, width: float, style: ParagraphStyle = _BODY, font: str = FONT,
          size: float = SIZE):
    """Plain string when it fits on one line (drawn with the table's font), else a
    wrapping Paragraph. `text` is cleaned but not escaped."""
    if _fits(text, width, font, size):
        return text
    return _wrapped(text, width, style)


def _heading(text: str) -> Paragraph:
    return Paragraph(text, _H2)


def _listing(header: list[str], rows: list[list], widths, right_cols=(), extra=()) -> list:
    """A listing of any length as one table, its header repeated on every page."""
    cmds = list(_LIST_BASE)
    for c in right_cols:
        cmds.append(("ALIGN", (c, 0), (c, -1), "RIGHT"))
    cmds.extend(extra)
    return [Table([header] + rows, colWidths=widths, repeatRows=1, style=TableStyle(cmds))]


class _FastListing(Flowable):
    """A listing whose cells are all one-line strings, drawn directly (one text object,
    column by column) and split by row count, header repeated on every page. Looks like
    a `_listing` table and is ~5x faster for long appendices (reportlab's Table costs
    ~0.2 ms per row)."""

    ROW = 15.0  # as _LIST_BASE: 2 + 10.5 + 2.5 (body), 3 + 9 + 3 (header)

    def __init__(self, header, rows, widths, right_cols=(), small_cols=()):
        Flowable.__init__(self)
        self.header, self.rows, self.widths = header, rows, tuple(widths)
        self.right_cols, self.small_cols = frozenset(right_cols), frozenset(small_cols)
        self.width = sum(self.widths)
        self.height = self.ROW * (len(rows) + 1)

    def wrap(self, availWidth, availHeight):
        return self.width, self.height

    def split(self, availWidth, availHeight):
        n = int((availHeight + 1e-6) // self.ROW) - 1  # body rows below the header
        if n < 1:
            return []
        if n >= len(self.rows):
            return [self]
        args = (self.widths, self.right_cols, self.small_cols)
        return [_FastListing(self.header, self.rows[:n], *args),
                _FastListing(self.header, self.rows[n:], *args)]

    def draw(self):
        c, R, top = self.canv, self.ROW, self.height
        xs = [0.0]
        for w in self.widths:
            xs.append(xs[-1] + w)
        c.saveState()
        c.setFillColor(HEAD_BG)
        c.rect(0, top - R, self.width, R, stroke=0, fill=1)
        c.setStrokeColor(RULE)
        c.setLineWidth(0.25)
        c.lines([(0, top - R * k, self.width, top - R * k) for k in range(2, len(self.rows) + 2)])
        # row by row, so that text extraction and copy-paste keep the reading order
        t = c.beginText()
        styles = [(BOLD, SMALL, colors.white)] * len(self.widths)
        body = [(FONT, SMALL, GREY) if i in self.small_cols else (FONT, SIZE, INK)
                for i in range(len(self.widths))]
        spans = list(zip(xs, xs[1:]))
        right = [i in self.right_cols for i in range(len(self.widths))]
        current = None
        y = top - 10.5
        for row in [self.header] + list(self.rows):
            for col, v in enumerate(row):
                if not v:
                    continue
                style = styles[col]
                if style != current:
                    t.setFont(style[0], style[1])
                    if current is None or style[2] != current[2]:
                        t.setFillColor(style[2])
                    current = style
                x0, x1 = spans[col]
                t.setTextOrigin(x1 - PAD - stringWidth(v, style[0], style[1]) if right[col]
                                else x0 + PAD, y)
                t.textOut(v)
            styles = body
            y -= R
        c.drawText(t)
        c.restoreState()


def _fast_listing(header: list[str], rows: list[list[str]], widths, right_cols=(),
                  small_cols=()) -> list:
    """`rows` of cleaned strings: drawn by `_FastListing` when every cell fits its
    column on one line, else as a wrapping table."""
    sizes = [SMALL if i in small_cols else SIZE for i in range(len(widths))]
    if all(_fits(v, widths[i], FONT, sizes[i]) for r in rows for i, v in enumerate(r)):
        return [_FastListing(header, rows, widths, right_cols, small_cols)]
    cells = [[_cell(v, widths[i], (_SMALLP if i in small_cols else
                                   _BODY_R if i in right_cols else _BODY), FONT, sizes[i])
              for i, v in enumerate(r)] for r in rows]
    extra = []
    for i in small_cols:
        extra += [("FONT", (i, 1), (i, -1), FONT, SMALL, 9.5), ("TOPPADDING", (i, 1), (i, -1), 3),
                  ("TEXTCOLOR", (i, 1), (i, -1), GREY)]
    return _listing(header, cells, widths, right_cols, extra)


# --------------------------------------------------------------------------- sections
_HEAD_W = (WIDTH - 200, 90, 110)  # subscriber block | label | value
_HEADER_BASE = (
    ("FONT", (0, 0), (-1, -1), FONT, 9, 11.5),
    ("TEXTCOLOR", (0, 0), (-1, -1), INK),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("VALIGN", (0, 0), (-1, 0), "BOTTOM"),
    ("LEFTPADDING", (0, 0), (-1, -1), 0),
    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
    ("RIGHTPADDING", (0, 0), (0, -1), 10),
    ("TOPPADDING", (0, 0), (-1, -1), 0),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
    ("TOPPADDING", (0, 1), (-1, 1), 5),
    ("SPAN", (1, 0), (2, 0)),
    ("FONT", (0, 0), (0, 0), BOLD, 11, 14),
    ("FONT", (1, 0), (1, 0), BOLD, 18, 22),
    ("ALIGN", (1, 0), (2, 0), "RIGHT"),
    ("FONT", (1, 1), (2, -1), FONT, SIZE, 11.5),
    ("TEXTCOLOR", (1, 1), (1, -1), GREY),
    ("ALIGN", (2, 1), (2, -1), "RIGHT"),
    ("LINEBELOW", (0, -1), (-1, -1), 0.8, HEAD_BG),
    ("BOTTOMPADDING", (0, -1), (-1, -1), 8),
)


def _header(spec: dict) -> list:
    """One table: the subscriber block on the left, title and specification data on
    the right. Short texts are plain strings; long ones wrap (Paragraph)."""
    w_left = _HEAD_W[0] - 10 + 2 * PAD  # _cell subtracts 2 * PAD
    name = _clean(spec.get("name") or spec.get("subscriber_id"), 300)
    left: list = [name if _fits(name, w_left, BOLD, 11) else _wrapped(name, w_left, _NAME)]
    small: list[int] = []
    address = _clean(spec.get("address"), 500, keep_newlines=True).strip("\n")
    if address:
        parts = [x.strip() for x in address.split("\n")]
        if len(parts) > 8:
            parts = parts[:8] + ["\u2026"]
        left += [_cell(x, w_left, _ADDR, FONT, 9) for x in parts]
    if spec.get("vat_id"):
        left.append(_cell("VAT ID " + _clean(spec["vat_id"], 100), w_left, _ADDR, FONT, 9))
    company = _customer_company_id(spec)
    if company:
        left.append(_cell(company, w_left, _ADDR, FONT, 9))
    if spec.get("email"):
        small.append(len(left))
        left.append(_cell(_clean(spec["email"], 200), w_left, _SMALLP, FONT, SMALL))

    w_val = _HEAD_W[2] + 2 * PAD
    meta = [
        ("Specification no.", _clean(spec.get("spec_number"), 40)),
        ("Period", _clean(spec.get("period"), 20)),
        ("Issue date", _clean(spec.get("issue_date"), 20)),
        ("Due date", _clean(spec.get("due_date"), 20)),
        ("Currency", _clean(spec.get("currency"), 10)),
        ("Subscriber", _clean(spec.get("subscriber_id"), 40)),
    ]
    n = max(len(left), len(meta) + 1)
    rows = [[left[0], document_title(spec), ""]]
    for i in range(1, n):
        label, value = meta[i - 1] if i - 1 < len(meta) else ("", "")
        rows.append([left[i] if i < len(left) else "", label, _cell(value, w_val, _BODY_R)])
    cmds = list(_HEADER_BASE)
    for i in small:
        cmds += [("FONT", (0, i), (0, i), FONT, SMALL, 11.5), ("TEXTCOLOR", (0, i), (0, i), GREY)]
    return [Table(rows, colWidths=_HEAD_W, style=TableStyle(cmds)), Spacer(1, 10)]


_CHARGE_W = (183, 108, 64, 73, 65)  # description, code, quantity, unit price, amount


def _charges(spec: dict) -> list:
    cur = _clean(spec.get("currency"), 10)
    header = ["Description", "Code", "Quantity", "Unit price", f"Amount ({cur})"]
    lines = spec.get("lines") or []
    groups: dict[str, list] = {}
    for ln in lines:
        key = ln.get("service") or str(ln.get("code") or "").split(".", 1)[0] or "other"
        groups.setdefault(key, []).append(ln)
    order = [k for k in groups if k != "discount"] + (["discount"] if "discount" in groups else [])

    w = _CHARGE_W
    rows: list[list] = [header]
    cmds = list(_LIST_BASE)
    cmds += [("ALIGN", (2, 0), (4, -1), "RIGHT"),
             ("FONT", (1, 1), (1, -1), FONT, SMALL, 9.5),
             ("TEXTCOLOR", (1, 1), (1, -1), GREY),
             ("TOPPADDING", (1, 1), (1, -1), 3)]
    for key in order:
        r = len(rows)
        title = _SERVICE_TITLES.get(key) or _clean(key, 60).replace("_", " ").capitalize()
        rows.append([title, "", "", "", ""])
        cmds += [("SPAN", (0, r), (-1, r)), ("BACKGROUND", (0, r), (-1, r), BAND),
                 ("FONT", (0, r), (-1, r), BOLD, SIZE, 10.5), ("NOSPLIT", (0, r), (-1, r + 1))]
        for ln in groups[key]:
            qty = group_digits(ln.get("quantity"))
            unit = _clean(ln.get("unit"), 30)
            q = f"{qty} {unit}" if qty and unit else qty
            human = _human_duration(ln.get("quantity"), ln.get("unit"))
            price = group_digits(ln.get("unit_price"))
            pu = _clean(ln.get("price_unit"), 30)
            p = f"{price} / {pu}" if price and pu else price
            rows.append([
                _cell(_clean(ln.get("description")), w[0]),
                _cell(_clean(ln.get("code"), 120), w[1], _SMALLP, FONT, SMALL),
                _quantity_cell(q, human, w[2]),
                _cell(p, w[3], _BODY_R),
                _cell(group_digits(ln.get("amount")), w[4], _BODY_R),
            ])
    if len(rows) == 1:
        rows.append(["No charges of this period." + (" Adjustments of earlier months below."
                                                    if spec.get("adjustments") else ""), "", "", "", ""])
        cmds.append(("SPAN", (0, 1), (-1, 1)))
    table = Table(rows, colWidths=w, repeatRows=1, style=TableStyle(cmds))
    return [table, Spacer(1, 4)] + _adjustments(spec, cur) + [_totals(spec, cur)]


def document_title(spec: dict) -> str:
    title = "Credit note" if spec.get("document_type") == "credit_note" else "Specification"
    return f"DRAFT {title.lower()}" if spec.get("draft") else title


def _adjustments(spec: dict, cur: str) -> list:
    """X3 lines in their own section, one group per corrected month and document."""
    adjs = spec.get("adjustments") or []
    if not adjs:
        return []
    w = _CHARGE_W
    rows: list[list] = [["Description", "Code", "Quantity", "Unit price", f"Amount ({cur})"]]
    cmds = list(_LIST_BASE) + [("ALIGN", (2, 0), (4, -1), "RIGHT"),
                               ("FONT", (1, 1), (1, -1), FONT, SMALL, 9.5),
                               ("TEXTCOLOR", (1, 1), (1, -1), GREY)]
    groups: dict[tuple, list] = {}
    for a in adjs:
        groups.setdefault((str(a.get("period") or ""), str(a.get("adjusts") or "")), []).append(a)
    for (period, adjusts), members in groups.items():
        r = len(rows)
        what = f"specification {adjusts}" if adjusts else "no specification issued"
        rows.append([_clean(f"Corrections for {period} ({what})", 120), "", "", "", ""])
        cmds += [("SPAN", (0, r), (-1, r)), ("BACKGROUND", (0, r), (-1, r), BAND),
                 ("FONT", (0, r), (-1, r), BOLD, SIZE, 10.5), ("NOSPLIT", (0, r), (-1, r + 1))]
        for a in members:
            qty = group_digits(a.get("quantity"))
            unit = _clean(a.get("unit"), 30)
            price = group_digits(a.get("unit_price"))
            pu = _clean(a.get("price_unit"), 30)
            rows.append([
                _cell(_clean(a.get("description")), w[0]),
                _cell(_clean(a.get("code"), 120), w[1], _SMALLP, FONT, SMALL),
                _cell(f"{qty} {unit}" if qty and unit else qty, w[2], _BODY_R),
                _cell(f"{price} / {pu}" if price and pu else price, w[3], _BODY_R),
                _cell(group_digits(a.get("amount")), w[4], _BODY_R),
            ])
    return [_heading("Adjustments of earlier months"), Table(rows, colWidths=w, repeatRows=1,
                                                             style=TableStyle(cmds)), Spacer(1, 4)]


def _totals(spec: dict, cur: str):
    rows = [["", "Subtotal", group_digits(spec.get("subtotal"))]]
    for v in spec.get("vat") or []:
        rows.append(["", f"VAT {_percent(v.get('rate'))} % on {group_digits(v.get('base'))}",
                     group_digits(v.get("amount"))])
    rows.append(["", f"Total ({cur})", group_digits(spec.get("total"))])
    n = len(rows) - 1
    cmds = list(_TOTALS_STYLE_BASE) + [
        ("FONT", (1, n), (2, n), BOLD, SIZE + 2, 14),
        ("LINEABOVE", (1, n), (2, n), 0.8, HEAD_BG),
        ("TOPPADDING", (1, n), (2, n), 4),
    ]
    for r in rows:  # a very long amount (should never happen) must not overflow
        r[2] = _cell(r[2], _TOTALS_COLS[2], _BODY_R)
    return KeepTogether([Table(rows, colWidths=_TOTALS_COLS, style=TableStyle(cmds))])


_BAL_W = (WIDTH - 55 - 38 - 5 * 48, 55, 38, 48, 48, 48, 48, 48)


def _balances(balances: list) -> list:
    header = ["Prepaid", "Purchased", "Unit", "Opening", "Credited", "Consumed",
              "Forfeited", "Closing"]
    rows = []
    for b in balances:
        kind = b.get("kind")
        label = {"klippekort": "Klippekort", "service_pack": "Service pack"}.get(
            kind, _clean(kind, 40))
        card = b.get("card_id")
        first = (_wrapped(label, _BAL_W[0], _BODY, f"<br/><font size={SMALL} "
                          f"color='#666666'>{_markup(card, 200)}</font>") if card else label)
        rows.append([first, _clean(b.get("purchase_date"), 20), _clean(b.get("unit"), 20)]
                    + [group_digits(b.get(k)) for k in
                       ("opening", "credited", "consumed", "forfeited", "closing")])
    notes = [f"{_clean(b.get('card_id') or b.get('kind'), 80)}: the opening balance differs from the closing "
             f"balance issued for the previous month by {group_digits(b['correction'])} {_clean(b.get('unit'), 20)} "
             "(a correction after late data)" for b in balances if b.get("correction")]
    return [_heading("Prepaid balances"),
            *_listing(header, rows, _BAL_W, right_cols=range(3, 8),
                      extra=[("FONT", (7, 1), (7, -1), BOLD, SIZE, 10.5)])] + \
        [Paragraph(_markup(n), _LISTP, bulletText="\u2022") for n in notes]


def _aht(a: dict, revised: bool = False) -> list:
    dev = a.get("deviation")
    dev_s = f"{_percent(dev)} %" if dev not in (None, "") else ""
    header = ["Quarter", "Interactions", "Actual AHT", "Previous AHT", "New AHT",
              "Deviation", "Decision"]
    row = [_clean(a.get("quarter"), 20), group_digits(a.get("interactions")),
           f"{group_digits(a.get('actual'))} s" if a.get("actual") not in (None, "") else "",
           f"{group_digits(a.get('old'))} s" if a.get("old") not in (None, "") else "",
           f"{group_digits(a.get('new'))} s" if a.get("new") not in (None, "") else "",
           dev_s, _clean(a.get("decision"), 60)]
    w = WIDTH / 7
    row = [_cell(x, w, _BODY_R) if i in (1, 2, 3, 4, 5) else _cell(x, w)
           for i, x in enumerate(row)]
    title = "Average handling time (AHT) evaluation" + (", revised after late interactions" if revised else "")
    return [_heading(title),
            *_listing(header, [row], [w] * 7, right_cols=range(1, 6),
                      extra=[("LEFTPADDING", (6, 0), (6, -1), 12)])]


def _warnings(warnings: list) -> list:
    out = [_heading("Warnings")]
    out += [Paragraph(_markup(w), _WARNP, bulletText="\u2022") for w in warnings]
    return out


_TASK_W = (52, 70, 55, 38, 38, 28, WIDTH - 52 - 70 - 55 - 38 - 38 - 28)


def _tasks(tasks: list) -> list:
    header = ["Date", "Consultant", "Activity", "Minutes", "Hours", "Klip", "Description"]
    cards = {t.get("card_id") for t in tasks}
    per_row_card = len(cards) > 1
    rows = []
    w = _TASK_W
    for t in tasks:
        desc = _clean(t.get("description"))
        if per_row_card and t.get("card_id"):
            d = _wrapped(desc, w[6], _BODY, f"<br/><font size={SMALL} color='#666666'>"
                         f"card {_markup(t.get('card_id'), 200)}</font>")
        else:
            d = _cell(desc, w[6])
        rows.append([_clean(t.get("date"), 20), _cell(_clean(t.get("consultant"), 200), w[1]),
                     _cell(_clean(t.get("activity"), 100), w[2]),
                     group_digits(t.get("minutes")), group_digits(t.get("hours")),
                     group_digits(t.get("klip")), d])
    out = [_heading("Klippekort tasks")]
    (card,) = cards if len(cards) == 1 else (None,)
    if card:
        out.append(Paragraph("Card " + _markup(card, 200), _SMALLP))
        out.append(Spacer(1, 3))
    out += _listing(header, rows, w, right_cols=(3, 4, 5))
    return out


_ACT_W = (62, WIDTH - 62 - 80 - 80 - 80, 80, 80, 80)


def _actions(actions: list) -> list:
    header = ["Date", "Record", "Kind", "Units", "Balance"]
    shown = actions[:MAX_ACTIONS]
    rows = [[_clean(a.get("date"), 20), _clean(a.get("record"), 200), _clean(a.get("kind"), 60),
             group_digits(a.get("units")), group_digits(a.get("balance"))] for a in shown]
    out = [_heading("Service pack movements"),
           *_fast_listing(header, rows, _ACT_W, right_cols=(3, 4))]
    more = len(actions) - len(shown)
    if more > 0:
        out.append(Paragraph(f"First {group_digits(len(shown))} of "
                             f"{group_digits(len(actions))} movements shown; "
                             f"{group_digits(more)} more are not listed here.", _NOTE))
    return out


_APX_W = (88, 48, 112, 90, 50, WIDTH - 88 - 48 - 112 - 90 - 50)


def _appendix(items: list) -> list:
    header = ["Started", "Kind", "ID", "Number", "Duration (s)", "Code"]
    w = _APX_W
    rows = [[_clean(i.get("started_at"), 30), _clean(i.get("kind"), 40), _clean(i.get("id"), 200),
             _clean(i.get("number"), 60), group_digits(i.get("duration_s")),
             _clean(i.get("code"), 120)] for i in items]
    out = [PageBreak(), _heading("Appendix: itemised calls and interactions"),
           Paragraph(f"{group_digits(len(items))} items; caller numbers are masked.", _SMALLP),
           Spacer(1, 4)]
    out += _fast_listing(header, rows, w, right_cols=(4,), small_cols=(5,))
    return out


def _notes(notes: list) -> list:
    return [_heading("Notes")] + [Paragraph(_markup(n), _LISTP, bulletText="\u2022")
                                  for n in notes]


# --------------------------------------------------------------------------- commercial document
# The seller (spec["seller"], from metering.einvoice.seller.Seller.as_json()), payment
# instructions, the customer's company id and human-readable durations. Kept apart from
# the sections above: a specification without a `seller` block renders as before.

_COMPANY_LABELS = {"0106": "KVK", "0190": "OIN", "0208": "Enterprise no.", "0184": "CVR", "0088": "GLN"}
_COUNTRY_COMPANY = {"NL": "KVK", "BE": "Enterprise no.", "DK": "CVR"}


def _customer_company_id(spec: dict) -> str:
    """'KVK 34567890' / 'Enterprise no. 0123456749' / 'CVR 12345674', or ''."""
    cid = _clean(spec.get("company_id"), 60)
    if not cid:
        return ""
    return f"{_COUNTRY_COMPANY.get(spec.get('country') or '', 'Company ID')} {cid}"


def human_duration(seconds: int) -> str:
    """14169 -> '3 h 56 min 9 s'; 0 -> '0 s'."""
    h, rest = divmod(int(seconds), 3600)
    m, sec = divmod(rest, 60)
    parts = [f"{h} h" if h else "", f"{m} min" if m else "", f"{sec} s" if sec or not (h or m) else ""]
    return " ".join(p for p in parts if p)


def _quantity_cell(text: str, human: str, width: float):
    """The quantity, with its human duration (if any) on a second, smaller line."""
    if not human:
        return _cell(text, width, _BODY_R)
    return _wrapped(text, width, _BODY_R, f"<br/><font size={SMALL} color='#666666'>{escape(human)}</font>")


def _human_duration(quantity, unit) -> str:
    """'3 h 56 min 9 s' for a quantity in seconds or minutes of at least a minute
    (resp. an hour), else ''."""
    factor = {"second": 1, "seconds": 1, "minute": 60, "minutes": 60}.get(str(unit or "").lower())
    if factor is None:
        return ""
    try:
        q = Decimal(str(quantity))
    except (InvalidOperation, ValueError):
        return ""
    if not q.is_finite() or q != q.to_integral_value() or abs(q) * factor < (60 if factor == 1 else 3600):
        return ""
    sign = "−" if q < 0 else ""
    return f"{sign}{human_duration(abs(int(q)) * factor)}"


def _seller_lines(seller, width: float) -> list[str]:
    """The seller block printed at the foot of every page: name and address; VAT id,
    company id, IBAN and BIC. Each line cut to the page width."""
    if not isinstance(seller, dict) or not seller.get("name"):
        return []
    address = ", ".join(x for x in (_clean(seller.get("street"), 120),
                                     " ".join(x for x in (_clean(seller.get("postcode"), 20),
                                                          _clean(seller.get("city"), 80)) if x),
                                     _clean(seller.get("country"), 4)) if x)
    first = " \u00b7 ".join(x for x in (_clean(seller.get("name"), 120), address,
                                        _clean(seller.get("email"), 120)) if x)
    label = _COMPANY_LABELS.get(str(seller.get("company_scheme") or ""), "Company ID")
    second = " \u00b7 ".join(x for x in (
        f"VAT ID {_clean(seller.get('vat_id'), 40)}" if seller.get("vat_id") else "",
        f"{label} {_clean(seller.get('company_id'), 40)}" if seller.get("company_id") else "",
        f"IBAN {_clean(seller.get('iban'), 40)}" if seller.get("iban") else "",
        f"BIC {_clean(seller.get('bic'), 20)}" if seller.get("bic") else "") if x)
    out = []
    for text in (first, second):
        while text and stringWidth(text, FONT, 7) > width:
            text = text[:int(len(text) * 0.9)].rstrip() + "\u2026"
        if text:
            out.append(text)
    return out


def _payment(spec: dict) -> list:
    """Payment instructions: amount, due date, account and the reference to quote (the
    specification number), then the seller's payment terms. Only with a seller block."""
    seller = spec.get("seller")
    if not isinstance(seller, dict) or not seller.get("iban"):
        return []
    cur = _clean(spec.get("currency"), 10)
    number = _markup(spec.get("spec_number"), 40)
    total = str(spec.get("total") or "")
    iban = _markup(seller.get("iban"), 40)
    bic = _markup(seller.get("bic"), 20)
    account = f"IBAN <b>{iban}</b>" + (f" (BIC {bic})" if bic else "") + \
        f" of {_markup(seller.get('name'), 200)}"
    if spec.get("draft"):
        text = (f"Draft: not a payment request. Once the month is issued, its number is the reference to "
                f"quote; the total would be <b>{cur} {group_digits(total)}</b> as things stand.")
    elif total.startswith("-"):
        text = (f"This document credits <b>{cur} {group_digits(total[1:])}</b>; reference <b>{number}</b>. "
                "The amount is refunded or set off against the next invoice.")
    else:
        text = (f"Please pay <b>{cur} {group_digits(total)}</b> by <b>{_markup(spec.get('due_date'), 20)}</b> "
                f"to {account}, quoting reference <b>{number}</b>.")
    out = [_heading("Payment"), Paragraph(text, _BODY)]
    if seller.get("payment_terms"):
        out.append(Paragraph(_markup(seller.get("payment_terms"), 600), _SMALLP))
    return out


# --------------------------------------------------------------------------- document
def _story(spec: dict) -> list:
    story = _header(spec) + _charges(spec) + _payment(spec)
    if spec.get("balances"):
        story += _balances(spec["balances"])
    if spec.get("aht"):
        story += _aht(spec["aht"])
    for revised in spec.get("aht_revised") or []:
        story += _aht(revised, revised=True)
    if spec.get("warnings"):
        story += _warnings(spec["warnings"])
    if spec.get("tasks"):
        story += _tasks(spec["tasks"])
    if spec.get("actions"):
        story += _actions(spec["actions"])
    if spec.get("notes"):
        story += _notes(spec["notes"])
    if spec.get("appendix"):
        story += _appendix(spec["appendix"])
    return story


def _on_page(canvas, doc) -> None:
    canvas.saveState()
    canvas.setFont(FONT, 7)
    canvas.setFillColor(GREY)
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.5)
    y = BOTTOM - 8 * mm
    canvas.line(LEFT, y + 9, PAGE_W - RIGHT, y + 9)
    canvas.drawString(LEFT, y, doc.ccm_footer)
    canvas.drawRightString(PAGE_W - RIGHT, y, f"Page {canvas.getPageNumber()}")
    for i, text in enumerate(doc.ccm_seller):
        canvas.drawString(LEFT, y - 8.5 * (i + 1), text)
    if getattr(doc, "ccm_draft", False):
        canvas.setFont(BOLD, 72)
        canvas.setFillColor(colors.Color(0.85, 0.2, 0.2, alpha=0.25))
        canvas.translate(PAGE_W / 2, PAGE_H / 2)
        canvas.rotate(45)
        canvas.drawCentredString(0, 0, "DRAFT")
    canvas.restoreState()


def pdf_bytes(spec: dict) -> bytes:
    """The PDF of `spec` as bytes (deterministic for the same input)."""
    buf = io.BytesIO()
    number = _clean(spec.get("spec_number"), 40) or "DRAFT"
    frame = Frame(LEFT, BOTTOM, WIDTH, PAGE_H - TOP - BOTTOM, leftPadding=0, rightPadding=0,
                  topPadding=0, bottomPadding=0, id="body")
    doc = BaseDocTemplate(
        buf, pagesize=A4, leftMargin=LEFT, rightMargin=RIGHT, topMargin=TOP,
        bottomMargin=BOTTOM, invariant=1, pageCompression=1, initialFontName=FONT,
        title=f"Specification {number}", author="ccmeter", creator="ccmeter",
        subject=f"Usage specification {_clean(spec.get('period'), 20)}",
        keywords=pdf_marker(spec),
        pageTemplates=[PageTemplate(id="page", frames=[frame], onPage=_on_page)],
    )
    footer = " \u00b7 ".join(x for x in (
        _clean(spec.get("name"), 80), _clean(spec.get("subscriber_id"), 40),
        f"Specification {number}", _clean(spec.get("period"), 20)) if x)
    room = WIDTH - 50  # leave space for "Page N"
    while stringWidth(footer, FONT, 7) > room:
        footer = footer[:int(len(footer) * 0.9)].rstrip() + "\u2026"
    doc.ccm_footer = footer
    doc.ccm_draft = bool(spec.get("draft"))
    doc.ccm_seller = _seller_lines(spec.get("seller"), WIDTH)
    doc.build(_story(spec))
    return buf.getvalue()


def render_pdf(spec: dict, path: Path) -> None:
    """Write the specification's PDF to `path` (atomically)."""
    atomic_write(Path(path), pdf_bytes(spec))
