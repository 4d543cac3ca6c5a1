"""The blocking checks on a staged month, before its manifest is committed (X1): every
specification's JSON says what was computed, totals are the sum of its lines (own and
adjustment) and VAT per rate, the summary agrees with every JSON, every PDF was made
from the same document (its metadata carries number and total), and the warehouse can
hold every quantity and price exactly."""
from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from metering.issued import unrepresentable
from metering.manifest import IssueError
from metering.money import fmt, round_half_up


def spec_problems(spec: dict) -> list[str]:
    """Totals of one specification dict (as its JSON holds it)."""
    sid = spec.get("subscriber_id")
    lines = list(spec.get("lines") or []) + list(spec.get("adjustments") or [])
    subtotal = sum((Decimal(ln["amount"]) for ln in lines), Decimal("0.00"))
    bases: dict[Decimal, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for ln in lines:
        bases[Decimal(ln["vat_rate"])] += Decimal(ln["amount"])
    problems = []
    if fmt(subtotal) != spec["subtotal"]:
        problems.append(f"{sid}: subtotal {spec['subtotal']} is not the sum of its lines {fmt(subtotal)}")
    vat_total = Decimal("0.00")
    stated = {Decimal(v["rate"]): v for v in spec["vat"]}
    if set(stated) != set(bases):
        problems.append(f"{sid}: VAT rates {sorted(map(str, stated))} differ from the lines' rates")
    for rate, base in bases.items():
        amount = round_half_up(Fraction(base) * Fraction(rate))
        v = stated.get(rate)
        if v and (v["base"] != fmt(base) or v["amount"] != fmt(amount)):
            problems.append(f"{sid}: VAT at {rate} is {v['amount']} on {v['base']}, expected {fmt(amount)} on "
                            f"{fmt(base)}")
        vat_total += amount
    if fmt(subtotal + vat_total) != spec["total"]:
        problems.append(f"{sid}: total {spec['total']} is not subtotal + VAT {fmt(subtotal + vat_total)}")
    negative = Decimal(spec["total"]) < 0
    if (spec.get("document_type") == "credit_note") != negative:
        problems.append(f"{sid}: document type {spec.get('document_type')} for a total of {spec['total']}")
    return problems


def check_staged(directory: Path, specs: list[dict], pdf: bool) -> None:
    """Raises IssueError listing every problem; nothing is issued then."""
    problems: list[str] = []
    for spec in specs:
        sid = spec["subscriber_id"]
        path = directory / f"{sid}.json"
        try:
            on_disk = json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            problems.append(f"{path.name}: unreadable ({exc})")
            continue
        if on_disk != json.loads(json.dumps(spec, default=str)):
            problems.append(f"{path.name}: differs from the computed specification")
        problems += spec_problems(on_disk)
        # the warehouse must equal the JSON exactly: a value its DECIMALs would round is refused here
        problems += unrepresentable(on_disk)
        if pdf:
            pdf_path = directory / f"{sid}.pdf"
            if not pdf_path.is_file():
                problems.append(f"{pdf_path.name}: missing")
            elif pdf_marker(spec).encode("latin-1") not in pdf_path.read_bytes():
                problems.append(f"{pdf_path.name}: not made from this specification (number or total differ)")
    problems += _summary_problems(directory, specs)
    if problems:
        shown = "; ".join(problems[:10]) + (f"; … {len(problems) - 10} more" if len(problems) > 10 else "")
        raise IssueError(f"the staged month failed its checks, nothing was issued: {shown}")


def pdf_marker(spec: dict) -> str:
    """Text the PDF's metadata (keywords) carries: the number and total it shows."""
    return f"ccmeter {spec.get('spec_number') or 'DRAFT'} {spec['currency']} {spec['total']}"


def _summary_problems(directory: Path, specs: list[dict]) -> list[str]:
    path = directory / "summary.csv"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return [f"summary.csv: unreadable ({exc})"]
    rows = {r["subscriber_id"].lstrip("'"): r for r in csv.DictReader(io.StringIO(text, newline=""))}
    problems = []
    if len(rows) != len(specs):
        problems.append(f"summary.csv: {len(rows)} rows for {len(specs)} specifications")
    for s in specs:
        r = rows.get(s["subscriber_id"])
        if r is None or r["total"] != s["total"] or (r["spec_number"] or None) != s["spec_number"]:
            problems.append(f"summary.csv: the row of {s['subscriber_id']} differs from its JSON")
    return problems
