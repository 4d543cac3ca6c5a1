"""Builders of small workspaces for tests: write inbox CSVs, ingest, bill."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from metering.billing import bill_month
from metering.catalog import load_catalog
from metering.db import connect
from metering.ingest import ingest
from metering.periods import Month
from metering.workspace import Workspace

COLUMNS = {
    "subscribers": ["subscriber_id", "name", "country", "address", "vat_id", "email", "street", "city", "postcode",
                    "company_id", "peppol_id", "buyer_reference"],
    "subscriptions": ["subscriber_id", "product", "quantity", "valid_from", "valid_to", "params"],
    "calls": ["call_id", "subscriber_id", "call_type", "parent_call_id", "started_at", "answered_at", "ended_at",
              "talk_s", "caller_number", "destination_country", "report"],
    "interactions": ["interaction_id", "subscriber_id", "channel", "started_at", "ended_at", "handle_s", "agent_id"],
    "worklogs": ["worklog_id", "subscriber_id", "activity", "started_at", "minutes", "km", "consultant",
                 "description"],
}


def write_feed(ws: Workspace, feed: str, name: str, records: list[dict]) -> Path:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS[feed], lineterminator="\n")
    w.writeheader()
    for r in records:
        w.writerow({k: ("" if v is None else v) for k, v in r.items()})
    path = ws.feed_dir(feed) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def bill(ws: Workspace, month: str):
    con = connect(ws.warehouse)
    try:
        ingest(con, ws)
        return bill_month(con, Month.parse(month), load_catalog())
    finally:
        con.close()


def lines_by_code(spec: dict) -> dict[str, str]:
    """code → summed amount string, for comparing with worked examples."""
    from decimal import Decimal
    out: dict[str, Decimal] = {}
    for ln in spec["lines"]:
        out[ln["code"]] = out.get(ln["code"], Decimal("0")) + Decimal(ln["amount"])
    return {k: str(v) for k, v in out.items()}
