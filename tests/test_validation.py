"""Great Expectations suites (gx/<feed>.json) over the warehouse: they pass on clean
loaded data, find violations planted directly in the tables, store their results, leave
the warehouse free for a writer, and the DuckDB workaround in metering.validation is
both needed and sufficient."""
from __future__ import annotations

import json

import pytest
from helpers import write_feed

from metering import validation
from metering.catalog import PRODUCT_CODES
from metering.db import connect, rows
from metering.feeds import FEEDS, ORDER
from metering.ingest import ingest


@pytest.fixture(scope="module")
def gx():
    return pytest.importorskip("great_expectations")


def _load(ws) -> None:
    write_feed(ws, "subscribers", "s.csv", [{"subscriber_id": "S1", "name": "Acme", "country": "NL"},
                                            {"subscriber_id": "S-2.b", "name": "Beta", "country": "DK"}])
    write_feed(ws, "subscriptions", "s.csv", [
        {"subscriber_id": "S1", "product": "phone:BASIC", "valid_from": "2026-01-01"},
        {"subscriber_id": "S1", "product": "messaging:BASIC", "valid_from": "2026-01-01", "params": '{"aht_s": 240}'}])
    write_feed(ws, "calls", "c.csv", [
        {"call_id": "C1", "subscriber_id": "S1", "call_type": "inbound", "started_at": "2026-10-05T09:00:00Z",
         "answered_at": "2026-10-05T09:00:10Z", "ended_at": "2026-10-05T09:01:10.600Z", "talk_s": 61,
         "caller_number": "+31201234567", "destination_country": "nl", "report": "mail"},
        {"call_id": "C2", "subscriber_id": "S1", "call_type": "inbound", "started_at": "2026-10-05T10:00:00Z",
         "ended_at": "2026-10-05T10:00:30Z", "talk_s": 0}])
    write_feed(ws, "interactions", "i.csv", [
        {"interaction_id": "I1", "subscriber_id": "S1", "channel": "chat", "started_at": "2026-10-05T09:00:00Z",
         "ended_at": "2026-10-05T09:05:00Z", "handle_s": 300}])
    write_feed(ws, "worklogs", "w.csv", [
        {"worklog_id": "W1", "subscriber_id": "S1", "activity": "onsite", "started_at": "2026-10-05T09:00:00Z",
         "minutes": 90, "km": "12.5"}])
    con = connect(ws.warehouse)
    try:
        results = ingest(con, ws)
    finally:
        con.close()
    assert all(r.quarantined == 0 for r in results), results


def _by_name(outcome) -> dict[str, dict]:
    return {r["expectation"]: r for r in outcome.results}


def test_suites_in_the_repo_build_and_match_the_contract(gx):
    for feed in ORDER:
        doc = validation.suite_document(feed)
        assert doc["meta"]["table"] == FEEDS[feed].table
        suite = validation._suite(gx, doc)
        assert len(suite.expectations) == len(doc["expectations"])
        rules = [e["meta"]["rule"] for e in doc["expectations"]]
        assert len(set(rules)) == len(rules), feed
    # The known product codes are the tariff catalog's: the suite takes them from it.
    product = next(e for e in validation.suite_document("subscriptions")["expectations"]
                   if e["meta"]["rule"] == "product.known")
    assert product["kwargs"]["value_set"] == sorted(PRODUCT_CODES)
    assert {"phone:BASIC", "servicepack:10h", "remote:lpas"} <= set(PRODUCT_CODES)


def test_an_unknown_catalog_value_in_a_suite_fails_naming_it(monkeypatch, tmp_path):
    for feed in ORDER:
        (tmp_path / f"{feed}.json").write_text(validation.SUITES_DIR.joinpath(f"{feed}.json").read_text())
    doc = json.loads((tmp_path / "subscriptions.json").read_text())
    doc["expectations"][0]["kwargs"]["value_set"] = {"$catalog": "plan_names"}
    (tmp_path / "subscriptions.json").write_text(json.dumps(doc))
    monkeypatch.setattr(validation, "SUITES_DIR", tmp_path)
    validation.suite_document.cache_clear()
    try:
        with pytest.raises(ValueError, match="subscriptions.json.*unknown catalog value 'plan_names'"):
            validation.suite_document("subscriptions")
    finally:
        validation.suite_document.cache_clear()


def test_clean_data_passes_and_results_are_stored(gx, tmp_workspace):
    _load(tmp_workspace)
    outcomes = validation.validate_feeds(tmp_workspace.warehouse)
    assert set(outcomes) == set(ORDER)
    for feed, o in outcomes.items():
        assert o.success, (feed, o.failed)
        assert o.results and all(r["unexpected_count"] in (0, None) for r in o.results), feed
    assert set(_by_name(outcomes["calls"])) >= {"call_id.unique", "subscriber_id.pattern", "talk_s.non_negative",
                                               "talk_s.consistent", "ended_at.order", "call_type.enum"}
    # GX's connection is closed: a writer can open the warehouse in this process again.
    con = connect(tmp_workspace.warehouse)
    try:
        stored = rows(con, "select feed, count(*), bool_and(success) from validation_results group by feed")
    finally:
        con.close()
    assert {f: (n, ok) for f, n, ok in stored} == {f: (len(o.results), True) for f, o in outcomes.items()}


def test_planted_violations_are_found(gx, tmp_workspace):
    _load(tmp_workspace)
    con = connect(tmp_workspace.warehouse)
    try:
        plant = ("insert into calls values ($id, $sid, $type, null, timestamptz '2026-10-06 09:00:00+00', "
                 "$answered, timestamptz '2026-10-06 09:01:00+00', $talk, $number, null, '', 'planted', 1)")
        for p in (
            {"id": "X1", "sid": "S1", "type": "inbound", "answered": "2026-10-06 09:00:10+00", "talk": 5,
             "number": None},                                   # talk_s 5, answered → ended is 50 s
            {"id": "X2", "sid": "S/1", "type": "inbound", "answered": None, "talk": 0, "number": None},  # names a path
            {"id": "X3", "sid": "S1", "type": "inbound", "answered": None, "talk": -3, "number": None},  # negative
            {"id": "X4", "sid": "S1", "type": "conference", "answered": None, "talk": 0, "number": None},
            {"id": "X5", "sid": "S1", "type": "inbound", "answered": None, "talk": 0, "number": "0612345678"},
        ):
            con.execute(plant, p)
        con.execute("update subscribers set country = 'FR' where subscriber_id = 'S-2.b'")
        con.execute("insert into subscription_versions values ('S1', 'phone:GOLD', 1, date '2026-02-01', "
                    "date '2026-01-01', '[1]', 'h', 'planted', 1, 99)")
    finally:
        con.close()
    outcomes = validation.validate_feeds(tmp_workspace.warehouse, ["calls", "subscribers", "subscriptions"])
    calls = _by_name(outcomes["calls"])
    failed = {name: r["unexpected_count"] for name, r in calls.items() if not r["success"]}
    # X3: talk_s -3 also breaks talk_s.consistent (not answered, talk_s != 0)
    assert failed == {"talk_s.consistent": 2, "subscriber_id.pattern": 1, "talk_s.non_negative": 1,
                      "call_type.enum": 1, "caller_number.e164": 1}
    assert "X1" in calls["talk_s.consistent"]["message"] and "S/1" in calls["subscriber_id.pattern"]["message"]
    assert calls["caller_number.e164"]["severity"] == "warning"
    assert "0612345***" in calls["caller_number.e164"]["message"]   # masked on every output
    assert "0612345678" not in calls["caller_number.e164"]["message"]
    assert not outcomes["calls"].success and len(outcomes["calls"].critical_failed) == 4
    subscribers = _by_name(outcomes["subscribers"])
    assert not subscribers["country.enum"]["success"] and "FR" in subscribers["country.enum"]["message"]
    subs = {n: r["unexpected_count"] for n, r in _by_name(outcomes["subscriptions"]).items() if not r["success"]}
    assert subs == {"product.known": 1, "valid_to.order": 1, "params.json_object": 1}
    con = connect(tmp_workspace.warehouse)
    try:
        stored = rows(con, "select feed, expectation, unexpected_count from validation_results where not success "
                           "order by all")
    finally:
        con.close()
    assert ("calls", "talk_s.consistent", 2) in stored and ("subscribers", "country.enum", 1) in stored


def test_only_warnings_fail(gx, tmp_workspace):
    _load(tmp_workspace)
    con = connect(tmp_workspace.warehouse)
    try:
        con.execute("update calls set destination_country = 'Netherlands' where call_id = 'C1'")
    finally:
        con.close()
    o = validation.validate_feed(tmp_workspace.warehouse, "calls", record=False)
    assert not o.success and not o.critical_failed
    assert [r["expectation"] for r in o.failed] == ["destination_country.iso"]


def test_the_duckdb_workaround_is_needed_and_isolated(gx, tmp_workspace, monkeypatch):
    """Without duckdb among GX's persisted-connection dialects every expectation errors
    (stack-facts.md). If this starts passing, GX fixed it: drop the workaround."""
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine

    _load(tmp_workspace)
    validation.treat_duckdb_as_persisted_connection_dialect()
    patched = engine._PERSISTED_CONNECTION_DIALECTS
    assert sum(d == "duckdb" for d in patched) == 1
    validation.treat_duckdb_as_persisted_connection_dialect()  # idempotent
    assert engine._PERSISTED_CONNECTION_DIALECTS == patched

    original = tuple(d for d in patched if d != "duckdb")
    monkeypatch.setattr(validation, "treat_duckdb_as_persisted_connection_dialect", lambda: None)
    monkeypatch.setattr(engine, "_PERSISTED_CONNECTION_DIALECTS", original)
    o = validation.validate_feed(tmp_workspace.warehouse, "subscribers", record=False)
    assert not o.success
    assert all(not r["success"] and "could not be evaluated" in r["message"] for r in o.results), o.results


def test_unknown_feed_and_missing_warehouse(tmp_path):
    with pytest.raises(ValueError, match="unknown feed"):
        validation.suite_document("invoices")
    with pytest.raises(FileNotFoundError, match="ingest first"):
        validation.validate_feed(tmp_path / "none.duckdb", "calls")


def test_suite_files_are_valid_json_with_doubled_regex_braces():
    for feed in ORDER:
        doc = json.loads((validation.SUITES_DIR / f"{feed}.json").read_text(encoding="utf-8"))
        for e in doc["expectations"]:
            q = e["kwargs"].get("unexpected_rows_query", "")
            assert "{batch}" in q or not q
            # a regex quantifier must be written {{n}}: str.format would eat single braces
            stripped = q.replace("{batch}", "").replace("{{", "").replace("}}", "")
            assert "{" not in stripped and "}" not in stripped, (feed, e["meta"]["rule"])
