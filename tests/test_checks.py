"""The reconciliation checks on a billed demo month, and that they catch a tampered line."""
from metering.billing import bill_month
from metering.catalog import load_catalog
from metering.checks import trace_mismatches
from metering.db import connect
from metering.ingest import ingest
from metering.issuing import issue_month
from metering.outputs import write_analytics
from metering.periods import Month
from metering.validation import specification_totals
from metering.workspace import Workspace
from synthetic import generate_workspace


def _warehouse_problems(con):
    """Problems of the totals check that concern the warehouse (no files written here)."""
    problems = specification_totals(con, "/nonexistent", "2026-10")["problems"]
    return [p for p in problems if p.endswith("(warehouse)")]


def test_checks_hold_on_demo_month_and_catch_tampering(tmp_path):
    ws = Workspace.from_env(tmp_path).ensure()
    generate_workspace(ws.root, months=["2026-10"], size="tiny", bad_files=False)
    con = connect(ws.warehouse)
    ingest(con, ws)
    bill = issue_month(con, ws, Month(2026, 10), load_catalog(), pdf=False).bill
    assert bill.specs
    assert _warehouse_problems(con) == []
    assert trace_mismatches(con, "2026-10") == []
    con.execute("update spec_lines set amount = amount + 0.01 where line_no = 1 and spec_number = "
                "(select min(spec_number) from spec_headers)")
    assert len(_warehouse_problems(con)) == 1
    con.execute("update spec_lines set quantity = '999999' where code like 'phone.calls.%'")
    assert trace_mismatches(con, "2026-10")


def test_bill_keeps_aht_history_of_completed_quarters(tmp_path):
    ws = Workspace.from_env(tmp_path).ensure()
    generate_workspace(ws.root, months=["2026-08", "2026-09", "2026-10"], size="tiny", bad_files=False)
    con = connect(ws.warehouse)
    ingest(con, ws)
    bill = bill_month(con, Month(2026, 10), load_catalog())
    write_analytics(con, bill)
    quarters = {r[0] for r in con.execute("select distinct quarter from aht_evaluations").fetchall()}
    assert "2026-Q3" in quarters and "2026-Q4" not in quarters  # Q4 is not complete in October
    n = con.execute("select count(*) from aht_evaluations where quarter = '2026-Q3'").fetchall()[0][0]
    write_analytics(con, bill)  # re-run: delete-then-insert, no duplicates
    assert con.execute("select count(*) from aht_evaluations where quarter = '2026-Q3'").fetchall()[0][0] == n
