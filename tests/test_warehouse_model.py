"""The warehouse model analysts query (issue 13, item 4): quantities and unit prices of
the issued lines typed DECIMAL and equal to the issued JSON, months checked, `usage` a
warehouse table with the subscriber's local date, the trace keyed by (spec_number,
line_no) on a document where a code repeats (a price change mid-month), and warehouses
of an older version migrated when a run opens them."""
from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
from helpers import write_feed

from metering import issued as issued_db
from metering import model
from metering.catalog import load_catalog, tariffs_dir
from metering.db import connect, rows
from metering.ingest import create_tables, ingest
from metering.issuing import issue_month
from metering.manifest import issued_months, read_issued_specs
from metering.periods import Month
from metering.workspace import Workspace
from pipelines.cli import main

REPO = Path(__file__).resolve().parent.parent
AMS = ZoneInfo("Europe/Amsterdam")


def _call(cid: str, start: datetime, talk: int, report: str = "") -> dict:
    return {"call_id": cid, "subscriber_id": "NL-1", "call_type": "inbound", "started_at": start.isoformat(),
            "answered_at": start.isoformat(), "ended_at": (start + timedelta(seconds=talk)).isoformat(),
            "talk_s": talk, "report": report}


@pytest.fixture
def repriced(tmp_path, monkeypatch) -> Workspace:
    """A BASIC phone subscriber in October 2026 whose tariff changes on 16 October (tier 1
    3.03 → 3.13, talk over 90 s 1.64 → 1.74 per minute): both codes are printed on two
    lines of its specification. The call at 22:30 UTC on 15 October starts at 00:30 on
    the 16th in Amsterdam: local date, so the new prices."""
    monkeypatch.setenv("CCMETER_TODAY", "2026-12-04")
    tariffs = tmp_path / "tariffs"
    shutil.copytree(tariffs_dir(), tariffs)
    text = (tariffs / "answering.yaml").read_text(encoding="utf-8")
    text = text.replace('{from: 1,   to: 50,  price: "3.03"}',
                        '{from: 1,   to: 50,  price: [{valid_from: 2026-01-01, price: "3.03"}, '
                        '{valid_from: 2026-10-16, price: "3.13"}]}', 1)
    text = text.replace('talk_over_per_minute: "1.64"',
                        'talk_over_per_minute: [{valid_from: 2026-01-01, price: "1.64"}, '
                        '{valid_from: 2026-10-16, price: "1.74"}]', 1)
    assert text.count("2026-10-16") == 2
    (tariffs / "answering.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("CCMETER_TARIFFS", str(tariffs))
    ws = Workspace.from_env(tmp_path / "ws").ensure()
    write_feed(ws, "subscribers", "s.csv", [{"subscriber_id": "NL-1", "name": "Repriced", "country": "NL"}])
    write_feed(ws, "subscriptions", "r.csv", [{"subscriber_id": "NL-1", "product": "phone:BASIC", "quantity": "",
                                               "valid_from": "2026-10-01", "valid_to": "", "params": ""}])
    write_feed(ws, "calls", "c.csv", [
        _call("c1", datetime(2026, 10, 3, 10, tzinfo=AMS), 150),           # 60 s over, old prices
        _call("c2", datetime(2026, 10, 9, 10, tzinfo=AMS), 60, "mail"),     # not over
        _call("c3", datetime(2026, 10, 15, 22, 30, tzinfo=timezone.utc), 200),  # local 16 Oct 00:30: 110 s over
        _call("c4", datetime(2026, 10, 20, 10, tzinfo=AMS), 100),           # 10 s over
        _call("c5", datetime(2026, 10, 31, 23, 30, tzinfo=timezone.utc), 95),  # local 1 Nov: November
    ])
    con = connect(ws.warehouse)
    try:
        ingest(con, ws)
        issue_month(con, ws, Month.parse("2026-10"), load_catalog(), pdf=False)
    finally:
        con.close()
    return ws


def _lines(ws: Workspace, month: str = "2026-10") -> list[dict]:
    (issued,) = [i for m, i in issued_months(ws).items() if m == month]
    (spec,) = read_issued_specs(ws, issued)
    return [dict(ln, spec_number=spec["spec_number"], line_no=i) for i, ln in enumerate(spec["lines"], start=1)]


def test_a_repeated_code_is_on_two_lines_and_each_line_is_explained_by_its_own_records(repriced):
    lines = _lines(repriced)
    by_key = {(ln["code"], ln["unit_price"]): ln for ln in lines}
    # the premise: two lines for each code, one per unit price
    assert by_key[("phone.calls.tier1", "3.03")]["quantity"] == "2"
    assert by_key[("phone.calls.tier1", "3.13")]["quantity"] == "2"
    assert by_key[("phone.talk_over_90s", "1.64")]["quantity"] == "60"
    assert by_key[("phone.talk_over_90s", "1.74")]["quantity"] == "120"
    con = connect(repriced.warehouse, read_only=True)
    try:
        traced = con.execute("select spec_number, line_no, feed, record_id, quantity, rule from line_records "
                             "order by line_no, record_id").fetchall()
        per_line: dict[tuple, set] = {}
        for spec, line_no, feed, record, qty, _ in traced:
            per_line.setdefault((spec, line_no), set()).add((feed, record, qty))
        key = {(ln["code"], ln["unit_price"]): (ln["spec_number"], ln["line_no"]) for ln in lines}
        assert per_line[key[("phone.calls.tier1", "3.03")]] == {("calls", "c1", 1), ("calls", "c2", 1)}
        assert per_line[key[("phone.calls.tier1", "3.13")]] == {("calls", "c3", 1), ("calls", "c4", 1)}
        assert per_line[key[("phone.talk_over_90s", "1.64")]] == {("calls", "c1", 60)}
        assert per_line[key[("phone.talk_over_90s", "1.74")]] == {("calls", "c3", 110), ("calls", "c4", 10)}
        assert per_line[key[("reports.mail", "0.25")]] == {("calls", "c2", 1)}
        # every traced line adds up to its quantity, and every record of the month is on exactly one line per code
        for ln in lines:
            got = per_line.get((ln["spec_number"], ln["line_no"]))
            if got is not None:
                assert sum(q for _, _, q in got) == Decimal(ln["quantity"]), ln["code"]
        assert con.execute("select count(*) from rated_records where month = '2026-10'").fetchall() == [(len(traced),)]
        assert con.execute("select count(*) from rated_records where unit_price is null").fetchall() == [(0,)]
        # adjustment lines and fees never match: every traced line is an own usage line
        assert {ln["code"] for ln in lines if (ln["spec_number"], ln["line_no"]) in per_line} == {
            "phone.calls.tier1", "phone.talk_over_90s", "reports.mail"}
    finally:
        con.close()


def test_readme_query_shows_the_records_of_the_chosen_line_of_a_repeated_code(repriced):
    (line,) = [ln for ln in _lines(repriced) if (ln["code"], ln["unit_price"]) == ("phone.talk_over_90s", "1.74")]
    con = connect(repriced.warehouse, read_only=True)
    try:
        con.execute("set variable spec_number = $s", {"s": line["spec_number"]})
        con.execute("set variable line_no = $n", {"n": line["line_no"]})
        cur = con.execute((REPO / "docs" / "queries" / "records_behind_a_line.sql").read_text(encoding="utf-8"))
        names = [d[0] for d in cur.description]
        got = [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()
    assert [(r["record_id"], r["record_quantity"]) for r in got] == [("c3", 110), ("c4", 10)]
    assert {(r["spec_number"], r["line_no"], r["unit_price"], r["line_quantity"]) for r in got} == {
        (line["spec_number"], line["line_no"], Decimal("1.74"), Decimal("120"))}
    assert got[0]["started_at"] == datetime(2026, 10, 15, 22, 30, tzinfo=timezone.utc)


def test_usage_is_a_warehouse_table_with_the_local_date(repriced):
    con = connect(repriced.warehouse, read_only=True)
    try:
        assert con.execute("select temporary from duckdb_tables() where table_name = 'usage'").fetchall() == [(False,)]
        got = dict((r[0], r[1:]) for r in con.execute(
            "select record_id, local_date, month, local_at, family, unrated_reason from usage").fetchall())
    finally:
        con.close()
    from datetime import date
    # 22:30 UTC on 15 October is 00:30 on the 16th in Amsterdam (CEST)
    assert got["c3"][:3] == (date(2026, 10, 16), "2026-10", datetime(2026, 10, 16, 0, 30))
    # 23:30 UTC on 31 October is 00:30 on 1 November (CET): a November record
    assert got["c5"][:2] == (date(2026, 11, 1), "2026-11")
    assert {v[3:] for v in got.values()} == {("answering", None)}


def test_usage_of_an_unknown_subscriber_has_no_local_date_and_says_why(tmp_path):
    ws = Workspace.from_env(tmp_path / "ws").ensure()
    write_feed(ws, "calls", "c.csv", [dict(_call("x1", datetime(2026, 10, 31, 23, 30, tzinfo=timezone.utc), 60),
                                           subscriber_id="NOBODY")])
    con = connect(ws.warehouse)
    try:
        ingest(con, ws)
        from metering.contracts import load_contracts, load_subscribers
        from metering.routing import build_usage
        build_usage(con, load_subscribers(con), load_contracts(con))
        assert con.execute("select local_date, local_at, month, family, unrated_reason from usage").fetchall() == [
            (None, None, "2026-10", None, "unknown_subscriber")]  # its UTC month
    finally:
        con.close()


def test_quantities_and_prices_are_decimals_equal_to_the_issued_json(repriced, monkeypatch, capsys):
    con = connect(repriced.warehouse, read_only=True)
    try:
        types = dict(con.execute("select column_name, data_type from duckdb_columns() "
                                 "where table_name = 'spec_lines'").fetchall())
        stored = {r[0]: r[1:] for r in con.execute(
            "select line_no, quantity, unit_price, amount, vat_rate from spec_lines").fetchall()}
    finally:
        con.close()
    assert (types["quantity"], types["unit_price"]) == ("DECIMAL(18,6)", "DECIMAL(18,6)")
    assert (types["quantity"], types["unit_price"]) == tuple(
        f"DECIMAL({p},{s})" for p, s in (issued_db.LINE_DECIMALS["quantity"], issued_db.LINE_DECIMALS["unit_price"]))
    lines = _lines(repriced)
    assert len(stored) == len(lines)
    for ln in lines:
        assert stored[ln["line_no"]] == tuple(Decimal(ln[k]) for k in ("quantity", "unit_price", "amount",
                                                                        "vat_rate")), ln["code"]
    monkeypatch.setenv("CCMETER_HOME", str(repriced.root))
    assert main(["verify"]) == 0


def test_verify_finds_a_quantity_that_differs_from_the_json(repriced, monkeypatch, capsys):
    con = connect(repriced.warehouse)
    try:
        con.execute("update spec_lines set quantity = quantity + 0.000001 where line_no = 1")
    finally:
        con.close()
    monkeypatch.setenv("CCMETER_HOME", str(repriced.root))
    assert main(["verify"]) != 0
    said = capsys.readouterr()
    assert "differ from the issued files" in said.out + said.err


@pytest.mark.parametrize("value,fits", [
    ("3.03", True), ("-0.125", True), ("1.123456", True), ("1.1234560", True), ("999999999999.999999", True),
    ("1.1234567", False), ("1000000000000", False), ("NaN", False), ("abc", False), ("1E+30", False)])
def test_fits_says_whether_a_decimal_is_held_exactly(value, fits):
    assert issued_db.fits(value, 18, 6) is fits


def test_a_negotiated_price_finer_than_the_warehouse_holds_is_a_contract_error_of_its_subscriber(
        tmp_path, monkeypatch):
    """A negotiated price with 7 decimals: its subscriber is not billed (G10, named in the
    anomalies) — the document would print one price and the warehouse hold another — and
    the rest of the month is issued."""
    monkeypatch.setenv("CCMETER_TODAY", "2026-12-04")
    ws = Workspace.from_env(tmp_path / "ws").ensure()
    write_feed(ws, "subscribers", "s.csv", [{"subscriber_id": "NL-1", "name": "Odd price", "country": "NL"},
                                            {"subscriber_id": "NL-2", "name": "Plain", "country": "NL"}])
    write_feed(ws, "subscriptions", "r.csv", [
        {"subscriber_id": "NL-1", "product": "phone:BASIC", "quantity": "", "valid_from": "2026-10-01",
         "valid_to": "", "params": json.dumps({"unit_price": "35.1234567"})},
        {"subscriber_id": "NL-2", "product": "phone:BASIC", "quantity": "", "valid_from": "2026-10-01",
         "valid_to": "", "params": json.dumps({"unit_price": "35.123456"})}])
    con = connect(ws.warehouse)
    try:
        ingest(con, ws)
        result = issue_month(con, ws, Month.parse("2026-10"), load_catalog(), pdf=False)
        assert [s["subscriber_id"] for s in result.bill.specs] == ["NL-2"]
        errors = [e for e in result.bill.errors if e.subscriber_id == "NL-1"]
        assert errors and "params.unit_price '35.1234567' has more than 6 decimal places" in errors[0].message
        assert ("35.123456",) in rows(con, "select unit_price::varchar from spec_lines where subscriber_id = 'NL-2'")
    finally:
        con.close()


def test_unrepresentable_names_the_line_and_the_value():
    spec = {"spec_number": "202610-00001", "subscriber_id": "S", "lines": [
        {"code": "servicepack.travel", "quantity": "12.5", "unit_price": "0.80", "amount": "10.00", "vat_rate": "0.21"},
        {"code": "servicepack.travel", "quantity": "12.1234567", "unit_price": "0.80", "amount": "9.70",
         "vat_rate": "0.21"}]}
    assert issued_db.unrepresentable(spec) == [
        "202610-00001 line 2 (servicepack.travel): quantity 12.1234567 does not fit the warehouse's "
        "DECIMAL(18,6) exactly (at most 6 decimals and 12 digits before the point)"]


# --- months -----------------------------------------------------------------------

def test_every_month_and_quarter_column_is_checked(repriced):
    con = connect(repriced.warehouse, read_only=True)
    try:
        columns = con.execute(
            "select c.table_name, c.column_name from duckdb_columns() c join duckdb_tables() t "
            "using (database_name, schema_name, table_name) "
            "where c.column_name in ('month', 'period', 'quarter') and c.data_type = 'VARCHAR'").fetchall()
        checks = {(t, cols[0]) for t, cols in con.execute(
            "select table_name, constraint_column_names from duckdb_constraints() "
            "where constraint_type = 'CHECK'").fetchall()}
    finally:
        con.close()
    assert {"spec_lines", "usage", "rated_records", "aht_evaluations"} <= {t for t, _ in columns}
    assert set(columns) <= checks, f"month columns without a CHECK: {set(columns) - checks}"


@pytest.mark.parametrize("bad", ["2026-13", "2026-1", "26-10", "2026-10-01", "october"])
def test_a_malformed_month_is_refused(tmp_path, bad):
    con = connect(tmp_path / "w.duckdb")
    try:
        from metering.outputs import create_output_tables
        issued_db.ensure_tables(con)
        create_output_tables(con)
        con.execute("insert into anomalies values ('2026-10', 'k', 'G9', null, null, 'ok')")
        with pytest.raises(duckdb.ConstraintException):
            con.execute("insert into anomalies values ($m, 'k', 'G9', null, null, 'm')", {"m": bad})
        with pytest.raises(duckdb.ConstraintException):
            con.execute("insert into issued_months values ($m, 'now', 'x', 0, false)", {"m": bad})
    finally:
        con.close()


# --- migration of an older warehouse ------------------------------------------------

# the shapes of these tables before this version (VARCHAR quantities, no CHECK, no unit price)
OLD_DDL = {
    "spec_lines": """create table spec_lines (month varchar not null, spec_number varchar not null,
        subscriber_id varchar not null, line_no integer not null, kind varchar not null, period varchar not null,
        adjusts varchar, code varchar not null, description varchar, quantity varchar not null, unit varchar,
        unit_price varchar not null, price_unit varchar, amount decimal(18, 2) not null,
        vat_rate decimal(6, 4) not null, rule varchar not null, service varchar, family varchar not null)""",
    "rated_records": """create table rated_records (month varchar not null, subscriber_id varchar not null,
        feed varchar not null, record_id varchar not null, family varchar not null, code varchar not null,
        quantity bigint not null, rule varchar not null)""",
    "anomalies": """create table anomalies (month varchar not null, kind varchar not null, rule varchar not null,
        subscriber_id varchar, record varchar, message varchar not null)""",
}


def _make_old(path: Path) -> dict[str, int]:
    """Turns the tables of OLD_DDL of a current warehouse into their old shape (rows
    kept; spec_lines' decimals as text); returns the row counts."""
    con = connect(path)
    try:
        counts = {}
        con.execute("drop view if exists line_records")
        for name, ddl in OLD_DDL.items():
            con.execute(f"alter table {name} rename to {name}_now")
            con.execute(ddl)
            columns = [r[0] for r in con.execute(
                "select column_name from duckdb_columns() where table_name = $t order by column_index",
                {"t": name}).fetchall()]
            picked = ", ".join(f"cast({c} as varchar)" if c in ("quantity", "unit_price") and name == "spec_lines"
                               else c for c in columns)
            con.execute(f"insert into {name} select {picked} from {name}_now")
            con.execute(f"drop table {name}_now")
            counts[name] = con.execute(f"select count(*) from {name}").fetchall()[0][0]
        assert all(model.outdated(con, name) for name in OLD_DDL)
        return counts
    finally:
        con.close()


def test_an_older_warehouse_is_migrated_when_a_run_opens_it(repriced, monkeypatch):
    counts = _make_old(repriced.warehouse)
    assert counts["rated_records"] > 0 and counts["anomalies"] > 0
    monkeypatch.setenv("CCMETER_HOME", str(repriced.root))
    # an issued month billed again: the run opens the warehouse (adopted as its work
    # database), migrates it and publishes
    assert main(["bill", "2026-10", "--no-pdf"]) == 0
    con = connect(repriced.warehouse, read_only=True)
    try:
        assert not any(model.outdated(con, name) for name in (*OLD_DDL, "spec_headers", "issued_months"))
        types = dict(con.execute("select column_name, data_type from duckdb_columns() "
                                 "where table_name = 'spec_lines'").fetchall())
        assert (types["quantity"], types["unit_price"]) == ("DECIMAL(18,6)", "DECIMAL(18,6)")
        # the analytic rows were kept (copied), a new column is null on them, and described
        for name in ("rated_records", "anomalies"):
            assert con.execute(f"select count(*) from {name}").fetchall() == [(counts[name],)]
        assert con.execute("select count(*) from rated_records where unit_price is not null").fetchall() == [(0,)]
        assert con.execute("select comment from duckdb_columns() where table_name = 'rated_records' "
                           "and column_name = 'unit_price'").fetchall()[0][0]
        # the old trace rows still explain the lines whose code is printed once
        traced = {r[0] for r in con.execute("select code from line_records").fetchall()}
        assert traced == {"reports.mail"}
        checked = {(r[0], r[1][0]) for r in con.execute(
            "select table_name, constraint_column_names from duckdb_constraints() "
            "where constraint_type = 'CHECK'").fetchall()}
        assert {("spec_lines", "month"), ("spec_lines", "period"), ("rated_records", "month"),
                ("anomalies", "month")} <= checked
    finally:
        con.close()
    assert main(["verify"]) == 0


def test_a_current_warehouse_is_not_migrated(repriced):
    con = connect(repriced.warehouse)
    try:
        create_tables(con)
        issued_db.ensure_tables(con)
        for name in (*model.ANALYTIC_TABLES, *issued_db.ISSUED_TABLES):
            assert not model.outdated(con, name), name
        assert model.migrate(con) == []
    finally:
        con.close()


def test_a_value_an_older_table_cannot_hold_fails_the_migration_and_changes_nothing(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    try:
        con.execute(OLD_DDL["anomalies"])
        con.execute("insert into anomalies values ('2026-10', 'k', 'G9', null, null, 'kept'), "
                    "('not a month', 'k', 'G9', null, null, 'bad')")
        with pytest.raises(duckdb.ConstraintException):
            model.migrate(con, ("anomalies",))
        assert con.execute("select count(*) from anomalies").fetchall() == [(2,)]
        assert model.outdated(con, "anomalies")
        assert con.execute("select count(*) from duckdb_tables() where table_name like '%migrating%'"
                           ).fetchall() == [(0,)]
    finally:
        con.close()


def test_readme_one_join_query_runs_on_a_line_of_a_repeated_code(repriced):
    """The README's inline query (`from line_records where spec_number = … and line_no
    = …`), run as written with the example line replaced by a real one."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index("-- the records behind one line: line_records")
    query = readme[start:readme.index(";", start)]
    assert "'202610-00012'" in query and "line_no = 3" in query
    (line,) = [ln for ln in _lines(repriced) if (ln["code"], ln["unit_price"]) == ("phone.calls.tier1", "3.03")]
    query = query.replace("'202610-00012'", f"'{line['spec_number']}'").replace(
        "line_no = 3", f"line_no = {line['line_no']}")
    con = connect(repriced.warehouse, read_only=True)
    try:
        got = sorted(con.execute(query).fetchall())
    finally:
        con.close()
    assert got == [("calls", "c1", 1, "A3"), ("calls", "c2", 1, "A3")]
