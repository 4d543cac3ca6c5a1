"""The warehouse's copy of the issued documents (spec_headers, spec_lines,
issued_months, issued_loaded_files). The manifested JSON files are the source of truth:
these tables are loaded from them, at issue and whenever a manifest is not (or no
longer) reflected here, so a crash between the commit and the warehouse, a lost
warehouse or an older one all end in the same state."""
from __future__ import annotations

import json

import pyarrow as pa

from metering import sqlfiles
from metering.manifest import Issued, issued_months, read_issued_specs
from metering.workspace import Workspace

ISSUED_TABLES = ("spec_headers", "spec_lines", "issued_months", "issued_loaded_files")
_INTS = {"line_no", "specifications"}


def ensure_tables(con) -> None:
    # spec_headers/spec_lines of warehouses from before manifests held re-billable months:
    # they are derived data, so they are dropped and reloaded from the issued files.
    if not sqlfiles.value(con, "status/table_exists", {"t": "issued_months"}):
        con.execute(sqlfiles.fill("migrations/drop_issued_table", table="spec_lines"))
        con.execute(sqlfiles.fill("migrations/drop_issued_table", table="spec_headers"))
    for name in ISSUED_TABLES:
        sqlfiles.run(con, f"tables/{name}")
    sqlfiles.apply_descriptions(con, ISSUED_TABLES)


def _arrow(columns: dict[str, list]) -> pa.Table:
    return pa.table({k: pa.array(v, pa.int64() if k in _INTS else pa.bool_() if k == "adopted" else pa.string())
                     for k, v in columns.items()})


def _insert(con, table: str, columns: dict[str, list]) -> None:
    if table not in ISSUED_TABLES:
        raise ValueError(f"not an issued table: {table}")
    con.register("issued_arrow", _arrow(columns))
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
    from decimal import Decimal
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
    """Replaces the month's rows of the issued tables with what its files say."""
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
    month plus every adjustment line for it on later issued specifications."""
    out: dict[str, list[dict]] = {}
    cols = ("subscriber_id", "code", "description", "quantity", "unit", "unit_price", "price_unit", "amount",
            "vat_rate", "family")
    for r in sqlfiles.rows(con, "issued/issued_lines", {"m": month}):
        d = dict(zip(cols, r))
        out.setdefault(d["subscriber_id"], []).append(d)
    return out


def issued_numbers(con, month: str) -> dict[str, str]:
    return dict(sqlfiles.rows(con, "issued/issued_numbers", {"m": month}))


def issued_currencies(con, month: str) -> dict[str, str]:
    return dict(sqlfiles.rows(con, "issued/issued_currencies", {"m": month}))


def issued_aht(con, month: str) -> dict[str, dict]:
    return {sid: json.loads(a) for sid, a in sqlfiles.rows(con, "issued/issued_aht", {"m": month})}
