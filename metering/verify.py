"""`ccmeter verify`: every issued file against its manifest (sha256), and the
warehouse's issued documents against the issued JSON files."""
from __future__ import annotations

from decimal import Decimal

from metering import sqlfiles
from metering.db import connect
from metering.manifest import issued_months, read_issued_specs, verify_files
from metering.workspace import Workspace


def _file_lines(specs: list[dict]) -> list[tuple]:
    out = []
    for s in specs:
        numbered = [("line", ln) for ln in s["lines"]] + [("adjustment", a) for a in s.get("adjustments") or []]
        for i, (kind, ln) in enumerate(numbered, start=1):
            out.append((s["spec_number"], i, kind, ln.get("period") or s["period"], ln["code"],
                        Decimal(ln["quantity"]), Decimal(ln["unit_price"]), Decimal(ln["amount"]),
                        Decimal(ln["vat_rate"])))
    return sorted(out)


def verify(ws: Workspace, months: list[str] | None = None) -> tuple[list[str], list[str]]:
    """Returns (months checked, problems)."""
    issued = issued_months(ws)
    chosen = [m for m in (months or list(issued)) if m in issued]
    problems: list[str] = []
    con = None
    if ws.warehouse.exists():
        con = connect(ws.warehouse, read_only=True)
    else:
        problems.append(f"{ws.warehouse}: missing (run `ccmeter rebuild`)")
    try:
        for m in chosen:
            found = verify_files(ws, issued[m])
            problems += found
            if found or con is None:
                continue
            if not _has(con, "spec_lines"):
                problems.append(f"{m}: the warehouse has no issued lines (run `ccmeter rebuild`)")
                continue
            on_disk = _file_lines(read_issued_specs(ws, issued[m]))
            # decimals compare by value: DECIMAL(18,6) 3.030000 is the JSON's "3.03"
            stored = sorted(tuple(r) for r in sqlfiles.rows(con, "issued/issued_spec_lines_of_month", {"m": m}))
            if stored != on_disk:
                problems.append(f"{m}: the warehouse's issued lines differ from the issued files "
                                f"({len(stored)} rows against {len(on_disk)} lines; run `ccmeter rebuild`)")
    finally:
        if con is not None:
            con.close()
    return chosen, problems


def _has(con, table: str) -> bool:
    return bool(sqlfiles.value(con, "status/table_exists", {"t": table}))
