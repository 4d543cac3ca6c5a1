"""The warehouse's copy of the issued documents (spec_headers, spec_lines,
issued_months, issued_loaded_files). The manifested JSON files are the source of truth:
these tables are loaded from them, at issue and whenever a manifest is not (or no
longer) reflected here, so a crash between the commit and the warehouse, a lost
warehouse or an older one all end in the same state."""
from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

import pyarrow as pa

from metering import model, sqlfiles
from metering.manifest import Issued, issued_months, read_issued_specs
from metering.workspace import Workspace

ISSUED_TABLES = ("spec_headers", "spec_lines", "issued_months", "issued_loaded_files")
_INTS = {"line_no", "specifications"}
# (precision, scale) of the DECIMAL columns of spec_lines (sql/tables/spec_lines.sql): a
# value of the JSON must fit exactly, never be rounded on its way into the warehouse
LINE_DECIMALS = {"quantity": (18, 6), "unit_price": (18, 6), "amount": (18, 2), "vat_rate": (6, 4)}


def ensure_tables(con) -> None:
    # The issued tables are derived data: those of warehouses from before manifests (which
    # held re-billable months) or of an older model (e.g. quantity as text) are dropped and
    # reloaded from the issued files by `sync` (issued_months goes too, so every month is).
    if (not sqlfiles.value(con, "status/table_exists", {"t": "issued_months"})
            or any(model.outdated(con, name) for name in ISSUED_TABLES)):
        model.drop(con, ISSUED_TABLES)
    for name in ISSUED_TABLES:
        sqlfiles.run(con, f"tables/{name}")
    sqlfiles.apply_descriptions(con, ISSUED_TABLES)
    model.create_trace_view(con)


def fits(value, precision: int, scale: int) -> bool:
    """Whether a decimal string (or number) is held exactly by DECIMAL(precision, scale)."""
    try:
        d = Decimal(str(value))
        held = d.quantize(Decimal(1).scaleb(-scale))
    except InvalidOperation:  # not a decimal, or more digits than any DECIMAL holds
        return False
    return d.is_finite() and held == d and abs(held) < Decimal(10) ** (precision - scale)


def unrepresentable(spec: dict) -> list[str]:
    """The line values of one specification (as its JSON holds them) that the warehouse's
    DECIMAL columns could not hold exactly; empty = every value fits. Checked before a
    month's commit (metering.staging_checks) and again on the way in."""
    out = []
    numbered = list(spec.get("lines") or []) + list(spec.get("adjustments") or [])
    for i, ln in enumerate(numbered, start=1):
        for column, (precision, scale) in LINE_DECIMALS.items():
            if ln.get(column) is not None and not fits(ln[column], precision, scale):
                out.append(f"{spec.get('spec_number') or spec.get('subscriber_id')} line {i} ({ln.get('code')}): "
                           f"{column} {ln[column]} does not fit the warehouse's DECIMAL({precision},{scale}) "
                           f"exactly (at most {scale} decimals and {precision - scale} digits before the point)")
    return out


def _arrow(table: str, columns: dict[str, list]) -> pa.Table:
    def array(name: str, values: list) -> pa.Array:
        if table == "spec_lines" and name in LINE_DECIMALS:
            # decimal128 refuses to round (ArrowInvalid): no value is ever rounded on its way in
            return pa.array([None if v is None else Decimal(str(v)) for v in values],
                            pa.decimal128(*LINE_DECIMALS[name]))
        return pa.array(values, pa.int64() if name in _INTS else pa.bool_() if name == "adopted" else pa.string())
    return pa.table({name: array(name, values) for name, values in columns.items()})


def _insert(con, table: str, columns: dict[str, list]) -> None:
    if table not in ISSUED_TABLES:
        raise ValueError(f"not an issued table: {table}")
    con.register("issued_arrow", _arrow(table, columns))
    try:
        con.execute(sqlfiles.fill("publish/insert_issued_rows", table=table))
    finally:
        con.unregister("issued_arrow")


def _rows_of(issued: Issued, specs: list[dict]) -> dict[str, dict[str, list]]:
    month = issued.month
    headers: dict[str, list] = {k: [] for k in (
        "month", "spec_number", "subscriber_id", "name", "currency", "document_type", "subtotal", "adjustments",
        "vat", "total", "issue_date", "due_date", "aht")}
    lines: dict[str, list] = {k: [] for k in (
        "month", "spec_number", "subscriber_id", "line_no", "kind", "period", "adjusts", "code", "description",
        "quantity", "unit", "unit_price", "price_unit", "amount", "vat_rate", "rule", "service", "family")}
    for s in specs:
        adj = sum((Decimal(a["amount"]) for a in s.get("adjustments") or []), Decimal("0.00"))
        vat = sum((Decimal(v["amount"]) for v in s["vat"]), Decimal("0.00"))
        for k, v in (("month", month), ("spec_number", s["spec_number"]), ("subscriber_id", s["subscriber_id"]),
                     ("name", s.get("name")), ("currency", s["currency"]),
                     ("document_type", s.get("document_type") or "specification"), ("subtotal", s["subtotal"]),
                     ("adjustments", str(adj)), ("vat", str(vat)), ("total", s["total"]),
                     ("issue_date", s["issue_date"]), ("due_date", s["due_date"]),
                     ("aht", json.dumps(s["aht"], sort_keys=True) if s.get("aht") else None)):
            headers[k].append(v)
        numbered = [("line", ln) for ln in s["lines"]] + [("adjustment", a) for a in s.get("adjustments") or []]
        for i, (kind, ln) in enumerate(numbered, start=1):
            values = {"month": month, "spec_number": s["spec_number"], "subscriber_id": s["subscriber_id"],
                      "line_no": i, "kind": kind, "period": ln.get("period") or month, "adjusts": ln.get("adjusts"),
                      "service": ln.get("service") or ln["code"].split(".", 1)[0],
                      "family": ln.get("family") or ""}
            for k in lines:
                lines[k].append(values[k] if k in values else ln.get(k))
    return {"spec_headers": headers, "spec_lines": lines,
            "issued_months": {"month": [month], "issued_at": [issued.issued_at],
                              "manifest_sha256": [issued.sha256], "specifications": [len(specs)],
                              "adopted": [bool(issued.manifest.get("adopted"))]},
            "issued_loaded_files": {"month": [month] * len(issued.manifest.get("loaded_files", [])),
                                    "path": [f["path"] for f in issued.manifest.get("loaded_files", [])],
                                    "sha256": [f["sha256"] for f in issued.manifest.get("loaded_files", [])]}}


def record(con, issued: Issued, specs: list[dict]) -> None:
    """Replaces the month's rows of the issued tables with what its files say. A value
    the warehouse cannot hold exactly stops it (ValueError), nothing is rounded."""
    problems = [p for s in specs for p in unrepresentable(s)]
    if problems:
        raise ValueError(f"{issued.month}: the warehouse cannot hold the issued values exactly: "
                         + "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))
    ensure_tables(con)
    data = _rows_of(issued, specs)
    con.execute("begin transaction")
    try:
        _delete(con, issued.month)
        for table in ISSUED_TABLES:
            _insert(con, table, data[table])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _delete(con, month: str) -> None:
    for table in ISSUED_TABLES:
        con.execute(sqlfiles.fill("publish/delete_month", table=table), {"m": month})


def sync(con, ws: Workspace) -> list[str]:
    """Brings the issued tables in line with the manifests on disk. Returns the months
    (re)loaded or dropped, for the run's log."""
    ensure_tables(con)
    on_disk = issued_months(ws)
    known = dict(sqlfiles.rows(con, "issued/issued_months_known"))
    done = []
    for month, issued in on_disk.items():
        if known.get(month) != issued.sha256:
            record(con, issued, read_issued_specs(ws, issued))
            done.append(f"{month}: issued documents loaded into the warehouse from its manifest")
    for month in sorted(set(known) - set(on_disk)):
        con.execute("begin transaction")
        _delete(con, month)
        con.execute("commit")
        done.append(f"{month}: no manifest on disk, its warehouse rows were removed")
    return done


def issued_lines(con, month: str) -> dict[str, list[dict]]:
    """Issued lines of `month` per subscriber: the own lines of its specification of the
    month plus every adjustment line for it on later issued specifications. Quantities
    and unit prices as the documents print them (a unit price with cents at least)."""
    out: dict[str, list[dict]] = {}
    cols = ("subscriber_id", "code", "description", "quantity", "unit", "unit_price", "price_unit", "amount",
            "vat_rate", "family")
    for r in sqlfiles.rows(con, "issued/issued_lines", {"m": month}):
        d = dict(zip(cols, r))
        d["quantity"] = _plain(d["quantity"])
        d["unit_price"] = _price(d["unit_price"])
        out.setdefault(d["subscriber_id"], []).append(d)
    return out


def _plain(d: Decimal) -> str:
    """DECIMAL(18,6) 12.500000 → '12.5' (metering.money.fmt_qty's form)."""
    return format(d.normalize(), "f") if d != d.to_integral_value() else str(d.quantize(Decimal(1)))


def _price(d: Decimal) -> str:
    """DECIMAL(18,6) 3.030000 → '3.03', -0.125000 → '-0.125': cents at least, as prices are
    printed (tariffs quote cents; klippekort's _display_price)."""
    cents = d.quantize(Decimal("0.01"))
    return str(cents) if cents == d else format(d.normalize(), "f")


def issued_numbers(con, month: str) -> dict[str, str]:
    return dict(sqlfiles.rows(con, "issued/issued_numbers", {"m": month}))


def issued_currencies(con, month: str) -> dict[str, str]:
    return dict(sqlfiles.rows(con, "issued/issued_currencies", {"m": month}))


def issued_aht(con, month: str) -> dict[str, dict]:
    return {sid: json.loads(a) for sid, a in sqlfiles.rows(con, "issued/issued_aht", {"m": month})}
