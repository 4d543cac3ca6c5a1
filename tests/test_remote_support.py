"""`remote_support` pricing (pricing.md L1–L4, L2 via billing), end to end through
ingestion and billing, with exact amounts. October 2026: 31 days, CEST (UTC+2) until
25 Oct; 6 Oct is a Tuesday, 10 Oct a Saturday. Rate 103.85 per hour."""
from __future__ import annotations

import json

import pytest

from tests.helpers import bill, lines_by_code, write_feed


def sub(sid: str, country: str = "NL") -> dict:
    return {"subscriber_id": sid, "name": f"Customer {sid}", "country": country}


def row(sid: str, product: str, valid_from: str, valid_to: str | None = None, params: dict | None = None) -> dict:
    return {"subscriber_id": sid, "product": product, "quantity": 1, "valid_from": valid_from,
            "valid_to": valid_to, "params": json.dumps(params) if params else None}


def log(wid: str, minutes: int, started: str = "2026-10-06T08:00:00Z", activity: str = "remote",
        sid: str = "S1") -> dict:
    return {"worklog_id": wid, "subscriber_id": sid, "activity": activity, "started_at": started,
            "minutes": minutes}


def setup(ws, subscriptions: list[dict], worklogs: list[dict], subscribers=("S1",)) -> None:
    write_feed(ws, "subscribers", "subscribers.csv", [sub(s) for s in subscribers])
    write_feed(ws, "subscriptions", "subscriptions.csv", subscriptions)
    write_feed(ws, "worklogs", "worklogs.csv", worklogs)


STANDARD = row("S1", "remote:standard", "2026-01-01")


def only_spec(result) -> dict:
    assert len(result.specs) == 1, result.specs
    return result.specs[0]


def test_worked_example_5(tmp_workspace):
    setup(tmp_workspace, [STANDARD], [log("W1", 10)])
    result = bill(tmp_workspace, "2026-10")
    assert result.errors == [] and result.anomalies == []
    spec = only_spec(result)
    assert lines_by_code(spec) == {"remote.time": "17.31", "remote.session_minimum": "2.69",
                                   "invoice.minimum": "10.00"}
    assert spec["subtotal"] == "30.00"
    assert spec["vat"] == [{"rate": "0.21", "base": "30.00", "amount": "6.30"}]
    assert spec["total"] == "36.30"
    assert spec["currency"] == "EUR"
    # G8: due date = issue date + 14 days.
    assert (spec["issue_date"], spec["due_date"]) == ("2026-11-01", "2026-11-15")
    [time] = [ln for ln in spec["lines"] if ln["code"] == "remote.time"]
    assert (time["quantity"], time["unit"], time["unit_price"], time["price_unit"], time["rule"]) == \
        ("10", "minute", "103.85", "hour", "L1")


def test_sessions_around_the_session_minimum(tmp_workspace):
    # 1 min → 1.73 (+18.27); 11 min → 19.04 (+0.96); 12 min → 20.77 (no supplement).
    setup(tmp_workspace, [STANDARD], [log("W1", 1), log("W2", 11, "2026-10-07T08:00:00Z"),
                                      log("W3", 12, "2026-10-08T08:00:00Z")])
    spec = only_spec(bill(tmp_workspace, "2026-10"))
    assert lines_by_code(spec) == {"remote.time": "41.54", "remote.session_minimum": "19.23"}
    [minimum] = [ln for ln in spec["lines"] if ln["code"] == "remote.session_minimum"]
    assert (minimum["quantity"], minimum["unit_price"]) == ("2", "20.00")
    assert spec["subtotal"] == "60.77"


def test_time_rounded_per_work_log_and_no_minimum_for_other_activities(tmp_workspace):
    # 7 phone work logs of 1 min: 7 × half-up(1.7308…) = 7 × 1.73 = 12.11, not
    # half-up(7 × 1.7308…) = 12.12; not sessions, so no session minimum.
    logs = [log(f"W{i}", 1, f"2026-10-{i + 5:02d}T08:00:00Z", activity="phone") for i in range(1, 8)]
    setup(tmp_workspace, [STANDARD], logs)
    spec = only_spec(bill(tmp_workspace, "2026-10"))
    assert lines_by_code(spec) == {"remote.time": "12.11", "invoice.minimum": "17.89"}
    assert spec["subtotal"] == "30.00"


def test_negotiated_rate_from_the_standard_row_active_that_day(tmp_workspace):
    setup(tmp_workspace, [
        row("S1", "remote:standard", "2026-01-01", "2026-10-15"),
        row("S1", "remote:standard", "2026-10-15", params={"unit_price": "90.00"}),
    ], [log("W1", 30), log("W2", 30, "2026-10-20T08:00:00Z"), log("W3", 40, "2026-10-21T08:00:00Z")])
    spec = only_spec(bill(tmp_workspace, "2026-10"))
    times = [(ln["unit_price"], ln["quantity"], ln["amount"]) for ln in spec["lines"] if ln["code"] == "remote.time"]
    # 30 × 103.85 / 60 = 51.925 → 51.93; 30 × 90 / 60 = 45.00; 40 × 90 / 60 = 60.00
    assert times == [("90.00", "70", "105.00"), ("103.85", "30", "51.93")]
    assert spec["subtotal"] == "156.93"


@pytest.mark.parametrize("pager_price, minimum, subtotal", [
    ("9.22", "0.01", "30.00"),    # 20.77 + 9.22 = 29.99 → supplement 0.01
    ("9.23", None, "30.00"),      # exactly 30.00 → no supplement
])
def test_invoice_minimum_at_29_99_and_30_00(tmp_workspace, pager_price, minimum, subtotal):
    setup(tmp_workspace, [STANDARD, row("S1", "remote:pager", "2026-01-01", params={"unit_price": pager_price})],
          [log("W1", 12)])
    spec = only_spec(bill(tmp_workspace, "2026-10"))
    codes = lines_by_code(spec)
    assert codes["remote.time"] == "20.77"
    assert codes["remote.pager"] == pager_price
    assert codes.get("invoice.minimum") == minimum
    assert "remote.session_minimum" not in codes
    assert spec["subtotal"] == subtotal


def test_session_at_17_00_outside_hours_without_pager(tmp_workspace):
    setup(tmp_workspace, [STANDARD], [
        log("W1", 30, "2026-10-06T15:00:00Z"),                    # 17:00:00 local: outside
        log("W2", 30, "2026-10-06T14:59:59Z"),                    # 16:59:59: inside
        log("W3", 30, "2026-10-06T05:30:00Z"),                    # 07:30:00: inside
        log("W4", 30, "2026-10-10T10:00:00Z"),                    # Saturday: outside
        log("W5", 30, "2026-10-06T18:00:00Z", activity="phone"),  # not a session
    ])
    result = bill(tmp_workspace, "2026-10")
    found = [(a.kind, a.rule, a.subscriber_id, a.record) for a in result.anomalies]
    assert found == [("outside_hours", "L3", "S1", "worklogs/W1"), ("outside_hours", "L3", "S1", "worklogs/W4")]
    assert "2026-10-06 17:00:00" in result.anomalies[0].message
    spec = only_spec(result)
    # Rated at the same rate: 5 × 51.93.
    assert lines_by_code(spec) == {"remote.time": "259.65"}


def test_session_at_17_00_with_pager_is_no_anomaly(tmp_workspace):
    setup(tmp_workspace, [STANDARD, row("S1", "remote:pager", "2026-10-06", "2026-10-07",
                                        params={"unit_price": "31.00"})],
          [log("W1", 30, "2026-10-06T15:00:00Z"), log("W2", 30, "2026-10-10T10:00:00Z")])
    result = bill(tmp_workspace, "2026-10")
    # The pager is active on 6 Oct only: the Saturday session is still listed.
    assert [a.record for a in result.anomalies] == ["worklogs/W2"]
    spec = only_spec(result)
    assert lines_by_code(spec) == {"remote.time": "103.86", "remote.pager": "1.00"}   # 1 day × 31.00 / 31


def test_pager_without_unit_price_is_a_contract_error_every_month(tmp_workspace):
    setup(tmp_workspace, [STANDARD, row("S1", "remote:pager", "2026-10-20"),
                          row("S2", "remote:standard", "2026-01-01"),
                          row("S2", "remote:lpas", "2026-10-01", params={"unit_price": "62.00"})],
          [log("W1", 30), log("W2", 10, sid="S2")], subscribers=("S1", "S2"))
    result = bill(tmp_workspace, "2026-10")
    [err] = result.errors
    assert (err.subscriber_id, err.family, err.rule) == ("S1", "remote_support", "L4")
    assert "remote:pager" in err.message and "unit_price" in err.message
    assert any(a.kind == "contract_error" and a.subscriber_id == "S1" for a in result.anomalies)
    spec = only_spec(result)
    assert spec["subscriber_id"] == "S2"
    assert lines_by_code(spec) == {"remote.time": "17.31", "remote.session_minimum": "2.69",
                                   "remote.lpas": "62.00"}
    assert spec["due_date"] == "2026-11-15"
    # November: the row is still active with no price and no usage: still rejected.
    nov = bill(tmp_workspace, "2026-11")
    assert [(e.subscriber_id, e.rule) for e in nov.errors] == [("S1", "L4")]


def test_addon_prorated_and_no_usage_still_billed(tmp_workspace):
    setup(tmp_workspace, [STANDARD, row("S1", "remote:lpas", "2026-10-11", params={"unit_price": "62.00"})], [])
    spec = only_spec(bill(tmp_workspace, "2026-10"))
    # 21 days × 62.00 / 31 = 42.00; above 0 and below 30.00? no: no supplement.
    assert lines_by_code(spec) == {"remote.lpas": "42.00"}
    assert spec["due_date"] == "2026-11-15"


def test_standard_row_alone_makes_no_specification(tmp_workspace):
    setup(tmp_workspace, [STANDARD], [])
    result = bill(tmp_workspace, "2026-10")
    assert result.specs == [] and result.errors == []


def test_every_work_log_is_traced_to_its_lines(tmp_workspace):
    """L1's rating relation is kept as the per-record trace: each work log on remote.time
    with its minutes, a topped-up session on remote.session_minimum; the lines are its
    sums per code and unit price (two hourly rates: two remote.time lines), and the view
    line_records gives the records behind each issued line."""
    from metering.catalog import load_catalog
    from metering.checks import trace_mismatches
    from metering.db import connect
    from metering.ingest import ingest
    from metering.issuing import issue_month
    from metering.periods import Month

    rows = [row("S1", "remote:standard", "2026-01-01", "2026-10-10"),
            row("S1", "remote:standard", "2026-10-10", None, {"unit_price": "90.00"})]
    setup(tmp_workspace, rows, [log("W1", 10), log("W2", 30, "2026-10-07T08:00:00Z"),
                                log("W3", 5, "2026-10-12T08:00:00Z", activity="phone"),
                                log("W4", 3, "2026-10-13T08:00:00Z")])
    con = connect(tmp_workspace.warehouse)
    try:
        ingest(con, tmp_workspace)
        issue_month(con, tmp_workspace, Month(2026, 10), load_catalog(), pdf=False)
        traced = con.execute("select record_id, code, quantity, rule, cast(unit_price as varchar) from rated_records "
                             "where family = 'remote_support' order by all").fetchall()
        behind = con.execute("select line_no, code, unit_price, list(record_id order by record_id) from line_records "
                             "where subscriber_id = 'S1' group by all order by line_no").fetchall()
        lines = con.execute("select line_no, code, quantity, unit_price from spec_lines where subscriber_id = 'S1' "
                            "and kind = 'line' order by line_no").fetchall()
        assert trace_mismatches(con, "2026-10") == []
    finally:
        con.close()
    assert traced == [("W1", "remote.session_minimum", 1, "L1", "20.000000"),
                      ("W1", "remote.time", 10, "L1", "103.850000"),
                      ("W2", "remote.time", 30, "L1", "103.850000"),
                      ("W3", "remote.time", 5, "L1", "90.000000"),
                      ("W4", "remote.session_minimum", 1, "L1", "20.000000"),
                      ("W4", "remote.time", 3, "L1", "90.000000")]
    assert [(no, code, str(qty), str(price)) for no, code, qty, price in lines] == [
        (1, "remote.time", "8.000000", "90.000000"), (2, "remote.time", "40.000000", "103.850000"),
        (3, "remote.session_minimum", "2.000000", "20.000000")]
    assert [(no, records) for no, _, _, records in behind] == [(1, ["W3", "W4"]), (2, ["W1", "W2"]), (3, ["W1", "W4"])]
