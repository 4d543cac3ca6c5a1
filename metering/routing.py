"""Which tariff family rates each usage record (pricing.md, finer points). The
contract facts routing needs (plan segments per service, days with an answering row,
with remote:standard, with a klippekort add-on, first pack and first card) are small;
they are built here from the contracts and joined to the records in `sql/marts/usage.sql`,
which fills the warehouse table `usage` (every record with its local time, local date,
month and family), rebuilt whole at every run."""
from __future__ import annotations

import pyarrow as pa

from metering import sqlfiles
from metering.contracts import FAR_FUTURE, Row, Subscriber, merged_spans, segments
from metering.db import materialise
from metering.periods import TIMEZONES

KLIPPEKORT_CARDS = ("klippekort:10", "klippekort:20", "klippekort:30")


def routing_tables(subscribers: dict[str, Subscriber], contracts: dict[str, list[Row]]) -> dict[str, pa.Table]:
    zones: dict[str, list] = {"subscriber_id": [], "tz": [], "first_pack": [], "first_card": []}
    plans: dict[str, list] = {"subscriber_id": [], "service": [], "seg_from": [], "seg_to": [], "product": []}
    spans: dict[str, list] = {"subscriber_id": [], "kind": [], "seg_from": [], "seg_to": []}
    for sid, sub in subscribers.items():
        rows_ = contracts.get(sid, [])
        packs = [r.valid_from for r in rows_ if r.group == "servicepack"]
        cards = [r.valid_from for r in rows_ if r.product in KLIPPEKORT_CARDS]
        zones["subscriber_id"].append(sid)
        zones["tz"].append(TIMEZONES[sub.country])
        zones["first_pack"].append(min(packs) if packs else None)
        zones["first_card"].append(min(cards) if cards else None)
        for service in ("phone", "messaging"):
            for lo, hi, row in segments([r for r in rows_ if r.group == service]):
                plans["subscriber_id"].append(sid)
                plans["service"].append(service)
                plans["seg_from"].append(lo)
                plans["seg_to"].append(hi if hi != FAR_FUTURE else FAR_FUTURE)
                plans["product"].append(row.product)
        kinds = {
            "answering_any": [r for r in rows_ if r.family == "answering"],
            "remote_standard": [r for r in rows_ if r.product == "remote:standard"],
            "klippekort_addon": [r for r in rows_ if r.family == "klippekort" and r.product not in KLIPPEKORT_CARDS],
        }
        for kind, members in kinds.items():
            for lo, hi in merged_spans(members):
                spans["subscriber_id"].append(sid)
                spans["kind"].append(kind)
                spans["seg_from"].append(lo)
                spans["seg_to"].append(hi)
    date_t = pa.date32()
    return {
        "subscriber_zones": pa.table({
            "subscriber_id": pa.array(zones["subscriber_id"], pa.string()),
            "tz": pa.array(zones["tz"], pa.string()),
            "first_pack": pa.array(zones["first_pack"], date_t),
            "first_card": pa.array(zones["first_card"], date_t)}),
        "plan_segments": pa.table({
            "subscriber_id": pa.array(plans["subscriber_id"], pa.string()),
            "service": pa.array(plans["service"], pa.string()),
            "seg_from": pa.array(plans["seg_from"], date_t),
            "seg_to": pa.array(plans["seg_to"], date_t),
            "product": pa.array(plans["product"], pa.string())}),
        "route_spans": pa.table({
            "subscriber_id": pa.array(spans["subscriber_id"], pa.string()),
            "kind": pa.array(spans["kind"], pa.string()),
            "seg_from": pa.array(spans["seg_from"], date_t),
            "seg_to": pa.array(spans["seg_to"], date_t)}),
    }


def build_usage(con, subscribers: dict[str, Subscriber], contracts: dict[str, list[Row]]) -> None:
    """Materialises the routing tables and the `usage` table (all history)."""
    tables = routing_tables(subscribers, contracts)
    for name, table in tables.items():
        materialise(con, name, table)
    sqlfiles.run(con, "tables/usage")
    sqlfiles.run(con, "marts/usage")
    # `create or replace` drops a table's comments: describe the new ones again
    sqlfiles.apply_descriptions(con, (*tables, "usage"))
