"""Ingestion against data-contract.md: one test per kind of bad input, each asserting
what loaded, what went to the quarantine (rule and physical line), that every file
reconciles (read = loaded + quarantined + duplicates) and that other files still load."""
from __future__ import annotations

import tempfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metering.db import connect, rows, scalar
from metering.ingest import feed_status, ingest, pending_files
from metering.workspace import Workspace

CALL_COLUMNS = ("call_id", "subscriber_id", "call_type", "parent_call_id", "started_at",
                "answered_at", "ended_at", "talk_s")
WORKLOG_HEADER = "worklog_id,subscriber_id,activity,started_at,minutes,km,consultant,description"
SUBSCRIPTION_HEADER = "subscriber_id,product,quantity,valid_from,valid_to,params"


# --- helpers -------------------------------------------------------------------------

def call(call_id, sub="S1", call_type="inbound", started="2026-01-05T09:00:00Z",
         answered="2026-01-05T09:00:10Z", ended="2026-01-05T09:01:10Z", talk="60", parent=""):
    """A call row (answered 10 s after start, 60 s of talk unless told otherwise)."""
    return {"call_id": call_id, "subscriber_id": sub, "call_type": call_type, "parent_call_id": parent,
            "started_at": started, "answered_at": answered, "ended_at": ended, "talk_s": talk}


def calls_csv(*records, columns=CALL_COLUMNS, eol="\n") -> str:
    lines = [",".join(columns)] + [",".join(str(r.get(c, "")) for c in columns) for r in records]
    return eol.join(lines) + eol


def drop(ws, feed, name, content) -> str:
    path = ws.feed_dir(feed) / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return f"{feed}/{name}"


def run(con, ws) -> dict:
    """Ingest; every file read must reconcile. Returns results by relative path."""
    results = ingest(con, ws)
    for r in results:
        assert r.read == r.loaded + r.quarantined + r.duplicates, r
    stored = rows(con, "select path, read, loaded, quarantined, duplicates from loaded_files")
    for path, read, loaded, q, d in stored:
        assert read == loaded + q + d, path
    return {r.path: r for r in results}


def quarantined(con, rel) -> list[tuple]:
    return rows(con, "select line, record_id, rule from quarantine where file = $f order by line, rule",
                {"f": rel})


def loaded(con, table, key, rel=None) -> list[tuple]:
    q = f"select {key}, _line from {table}"
    if rel is None:
        return rows(con, q + " order by _line, 1")
    return rows(con, q + " where _file = $f order by _line", {"f": rel})


def counts(r) -> tuple:
    return (r.status, r.read, r.loaded, r.quarantined, r.duplicates)


@pytest.fixture
def good(tmp_workspace):
    """A valid calls file that must load next to every bad one (files load in name order)."""
    return drop(tmp_workspace, "calls", "zz_good.csv", calls_csv(call("G1"), call("G2")))


def assert_good_loaded(con, res, good):
    assert counts(res[good]) == ("loaded", 2, 2, 0, 0)
    assert rows(con, "select call_id from calls where _file = $f order by 1", {"f": good}) == [("G1",), ("G2",)]


# --- whole files ---------------------------------------------------------------------

def test_empty_file_is_quarantined_whole(tmp_workspace, warehouse, good):
    rel = drop(tmp_workspace, "calls", "a_empty.csv", b"")
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("unreadable", 0, 0, 0, 0)
    assert "empty" in res[rel].reason
    assert quarantined(warehouse, rel) == [(None, None, "file.unreadable")]
    assert_good_loaded(warehouse, res, good)


def test_header_only_loads_zero_records(tmp_workspace, warehouse, good):
    rel = drop(tmp_workspace, "calls", "a_header.csv", calls_csv())
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("loaded", 0, 0, 0, 0)
    assert res[rel].reason is None
    assert quarantined(warehouse, rel) == []
    assert_good_loaded(warehouse, res, good)


def test_missing_required_column_quarantines_file(tmp_workspace, warehouse, good):
    cols = tuple(c for c in CALL_COLUMNS if c != "talk_s")
    rel = drop(tmp_workspace, "calls", "a_missing.csv", calls_csv(call("M1"), call("M2"), columns=cols))
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("unreadable", 2, 0, 2, 0)
    assert "missing required column" in res[rel].reason and "talk_s" in res[rel].reason
    assert quarantined(warehouse, rel) == [(None, None, "file.unreadable")]
    assert "talk_s" in scalar(warehouse, "select reason from quarantine where file = $f", {"f": rel})
    assert scalar(warehouse, "select count(*) from calls where call_id like 'M%'") == 0
    assert_good_loaded(warehouse, res, good)


def test_unknown_extra_column_is_ignored_and_reported(tmp_workspace, warehouse, good):
    cols = ("agent_mood",) + CALL_COLUMNS
    recs = [dict(call("U1"), agent_mood="happy"), dict(call("U2"), agent_mood="sad")]
    rel = drop(tmp_workspace, "calls", "a_extra.csv", calls_csv(*recs, columns=cols))
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("loaded", 2, 2, 0, 0)
    assert res[rel].unknown_columns == ["agent_mood"]
    assert scalar(warehouse, "select unknown_columns from loaded_files where path = $p", {"p": rel}) == "agent_mood"
    assert loaded(warehouse, "calls", "call_id", rel) == [("U1", 2), ("U2", 3)]
    assert quarantined(warehouse, rel) == []
    assert_good_loaded(warehouse, res, good)


def test_semicolon_delimiter_is_missing_columns(tmp_workspace, warehouse, good):
    text = calls_csv(call("SC1"), call("SC2")).replace(",", ";")
    rel = drop(tmp_workspace, "calls", "a_semicolon.csv", text)
    res = run(warehouse, tmp_workspace)
    assert res[rel].status == "unreadable"
    assert res[rel].reason.startswith("missing required column(s): call_id")
    assert (res[rel].read, res[rel].loaded, res[rel].quarantined) == (2, 0, 2)
    assert quarantined(warehouse, rel) == [(None, None, "file.unreadable")]
    assert_good_loaded(warehouse, res, good)


def test_non_utf8_file_is_quarantined(tmp_workspace, warehouse, good):
    text = calls_csv(call("L1", sub="Café"), call("L2"))
    rel = drop(tmp_workspace, "calls", "a_latin1.csv", text.encode("latin-1"))
    res = run(warehouse, tmp_workspace)
    assert res[rel].status == "unreadable"
    assert res[rel].loaded == 0 and res[rel].duplicates == 0
    assert "UTF-8" in res[rel].reason
    assert quarantined(warehouse, rel) == [(None, None, "file.unreadable")]
    assert scalar(warehouse, "select count(*) from calls where call_id like 'L%'") == 0
    assert_good_loaded(warehouse, res, good)


def _calls_table(records) -> pa.Table:
    return pa.table({c: pa.array([r[c] or None for r in records], pa.string()) for c in CALL_COLUMNS})


def test_truncated_parquet_is_quarantined(tmp_workspace, warehouse, good):
    path = tmp_workspace.feed_dir("calls") / "a_truncated.parquet"
    pq.write_table(_calls_table([call(f"T{i}") for i in range(50)]), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    rel = "calls/a_truncated.parquet"
    res = run(warehouse, tmp_workspace)
    assert res[rel].status == "unreadable"
    assert res[rel].loaded == 0
    assert "Parquet" in res[rel].reason
    assert quarantined(warehouse, rel) == [(None, None, "file.unreadable")]
    assert scalar(warehouse, "select count(*) from calls where call_id like 'T%'") == 0
    assert_good_loaded(warehouse, res, good)


def test_parquet_calls_load_with_row_numbers(tmp_workspace, warehouse, good):
    recs = [call("P1"), call("P2", call_type="conference"), call("P3", answered="", talk="0")]
    table = _calls_table(recs).append_column("extra", pa.array([1, 2, 3], pa.int64()))
    pq.write_table(table, tmp_workspace.feed_dir("calls") / "a_calls.parquet")
    rel = "calls/a_calls.parquet"
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("loaded", 3, 2, 1, 0)
    assert res[rel].unknown_columns == ["extra"]
    assert loaded(warehouse, "calls", "call_id", rel) == [("P1", 1), ("P3", 3)]
    assert quarantined(warehouse, rel) == [(2, "P2", "call_type.enum")]
    assert_good_loaded(warehouse, res, good)


def test_parquet_typed_columns_load(tmp_workspace, warehouse):
    """Parquet may carry real types: an integer talk_s and timestamps with a zone."""
    ts = pa.timestamp("s", tz="UTC")
    table = pa.table({
        "call_id": ["PT1"], "subscriber_id": ["S1"], "call_type": ["inbound"],
        "started_at": pa.array([1767603600], ts), "answered_at": pa.array([1767603610], ts),
        "ended_at": pa.array([1767603670], ts), "talk_s": pa.array([60], pa.int64())})
    pq.write_table(table, tmp_workspace.feed_dir("calls") / "typed.parquet")
    res = run(warehouse, tmp_workspace)
    assert counts(res["calls/typed.parquet"]) == ("loaded", 1, 1, 0, 0)
    assert rows(warehouse, "select talk_s, epoch(ended_at)::bigint from calls") == [(60, 1767603670)]


def test_quoted_newline_shifts_physical_lines(tmp_workspace, warehouse):
    text = (WORKLOG_HEADER + "\n"
            + 'W1,S1,remote,2026-01-05T09:00:00Z,30,,Ann,"first line\nsecond line\nthird, with comma"\n'
            + "W2,S1,remote,2026-01-05T10:00:00Z,0,,Ann,zero minutes\n"
            + 'W3,S1,onsite,2026-01-05T11:00:00Z,45,12.5,Bob,"say ""hi"""\n')
    rel = drop(tmp_workspace, "worklogs", "w.csv", text)
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("loaded", 3, 2, 1, 0)
    # W1 spans lines 2-4, so W2 starts on line 5 and W3 on line 6
    assert loaded(warehouse, "worklogs", "worklog_id", rel) == [("W1", 2), ("W3", 6)]
    assert quarantined(warehouse, rel) == [(5, "W2", "minutes.positive")]
    assert rows(warehouse, "select description from worklogs order by worklog_id") == [
        ("first line\nsecond line\nthird, with comma",), ('say "hi"',)]


def test_crlf_line_endings(tmp_workspace, warehouse):
    rel = drop(tmp_workspace, "calls", "crlf.csv",
               calls_csv(call("R1"), call("R2", talk="x"), call("R3"), eol="\r\n"))
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("loaded", 3, 2, 1, 0)
    assert loaded(warehouse, "calls", "call_id", rel) == [("R1", 2), ("R3", 4)]
    assert quarantined(warehouse, rel) == [(3, "R2", "talk_s.integer")]
    assert scalar(warehouse, "select count(*) from calls where talk_s <> 60 or report <> ''") == 0


def test_crlf_with_quoted_newline(tmp_workspace, warehouse):
    text = (WORKLOG_HEADER + "\r\n" + 'W1,S1,remote,2026-01-05T09:00:00Z,30,,Ann,"a\r\nb"\r\n'
            + "W2,S1,remote,2026-01-05T10:00:00Z,-1,,Ann,x\r\n")
    rel = drop(tmp_workspace, "worklogs", "w.csv", text)
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("loaded", 2, 1, 1, 0)
    assert loaded(warehouse, "worklogs", "worklog_id", rel) == [("W1", 2)]
    assert quarantined(warehouse, rel) == [(4, "W2", "minutes.positive")]


# --- record rules --------------------------------------------------------------------

def test_timestamp_without_offset(tmp_workspace, warehouse, good):
    rel = drop(tmp_workspace, "calls", "a.csv", calls_csv(
        call("N1", started="2026-01-05T09:00:00"),
        call("N2", started="2026-01-05 09:00:00+01:00", answered="2026-01-05 09:00:10+01:00",
             ended="2026-01-05 09:01:10+01:00"),
        call("N3", ended="2026-01-05T09:01:10"),
        call("N4", started="2026-01-05T09:00:00.250+0100", answered="2026-01-05T08:00:10.250Z",
             ended="2026-01-05T08:01:10.250z")))
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("loaded", 4, 2, 2, 0)
    assert quarantined(warehouse, rel) == [(2, "N1", "started_at.timestamp"), (4, "N3", "ended_at.timestamp")]
    assert loaded(warehouse, "calls", "call_id", rel) == [("N2", 3), ("N4", 5)]
    assert rows(warehouse, "select call_id, epoch(started_at)::bigint from calls where call_id like 'N%' "
                           "order by 1") == [("N2", 1767600000), ("N4", 1767600000)]
    assert_good_loaded(warehouse, res, good)


def test_ended_before_started(tmp_workspace, warehouse, good):
    rel = drop(tmp_workspace, "calls", "a.csv", calls_csv(
        call("E1", answered="", talk="0", ended="2026-01-05T08:59:59Z"),
        call("E2", ended="2026-01-05T09:00:05Z", talk="0"),  # before answered_at
        call("E3", answered="", talk="0", ended="2026-01-05T09:00:00Z")))  # zero length: fine
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("loaded", 3, 1, 2, 0)
    assert quarantined(warehouse, rel) == [(2, "E1", "ended_at.order"), (3, "E2", "ended_at.order")]
    assert loaded(warehouse, "calls", "call_id", rel) == [("E3", 4)]
    assert_good_loaded(warehouse, res, good)


def test_talk_s_not_a_whole_number(tmp_workspace, warehouse, good):
    rel = drop(tmp_workspace, "calls", "a.csv", calls_csv(
        call("I1", talk="-60"), call("I2", talk="12.5"), call("I3", talk=""), call("I4", talk="60")))
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("loaded", 4, 1, 3, 0)
    assert quarantined(warehouse, rel) == [(2, "I1", "talk_s.integer"), (3, "I2", "talk_s.integer"),
                                           (4, "I3", "talk_s.integer")]
    assert loaded(warehouse, "calls", "call_id", rel) == [("I4", 5)]
    assert_good_loaded(warehouse, res, good)


def test_talk_s_consistent_within_one_second(tmp_workspace, warehouse, good):
    # answered 09:00:10, ended 09:01:10: 60 s
    rel = drop(tmp_workspace, "calls", "a.csv", calls_csv(
        call("K1", talk="62"), call("K2", talk="61"), call("K3", talk="59"), call("K4", talk="58"),
        call("K5", answered="2026-01-05T09:00:10.400Z", talk="61"),  # 59.6 s: 1.4 s off
        call("K6", answered="", talk="5")))
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("loaded", 6, 2, 4, 0)
    assert quarantined(warehouse, rel) == [(2, "K1", "talk_s.consistent"), (5, "K4", "talk_s.consistent"),
                                           (6, "K5", "talk_s.consistent"), (7, "K6", "talk_s.unanswered")]
    assert loaded(warehouse, "calls", "call_id", rel) == [("K2", 3), ("K3", 4)]
    assert_good_loaded(warehouse, res, good)


def test_unknown_call_type(tmp_workspace, warehouse, good):
    rel = drop(tmp_workspace, "calls", "a.csv", calls_csv(
        call("CT1", call_type="conference"), call("CT2", call_type=""), call("CT3", call_type="transfer")))
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("loaded", 3, 1, 2, 0)
    assert quarantined(warehouse, rel) == [(2, "CT1", "call_type.enum"), (3, "CT2", "call_type.enum")]
    assert loaded(warehouse, "calls", "call_id", rel) == [("CT3", 4)]
    assert_good_loaded(warehouse, res, good)


def test_unknown_subscriber_still_loads(tmp_workspace, warehouse):
    drop(tmp_workspace, "subscribers", "s.csv", "subscriber_id,name,country\nS1,One,NL\n")
    rel = drop(tmp_workspace, "calls", "c.csv", calls_csv(call("C1", sub="S1"), call("C2", sub="LATER")))
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("loaded", 2, 2, 0, 0)
    assert rows(warehouse, "select call_id, subscriber_id from calls order by 1") == [("C1", "S1"), ("C2", "LATER")]
    assert quarantined(warehouse, rel) == []
    # the subscriber arrives later: nothing to redo
    drop(tmp_workspace, "subscribers", "t.csv", "subscriber_id,name,country\nLATER,Late,BE\n")
    res = run(warehouse, tmp_workspace)
    assert counts(res["subscribers/t.csv"]) == ("loaded", 1, 1, 0, 0)
    assert res[rel].status == "skipped"


def test_duplicate_ids_within_and_across_files(tmp_workspace, warehouse):
    a = drop(tmp_workspace, "calls", "a.csv", calls_csv(
        call("D1"), call("D2"), call("D1"), call("D2", talk="61"), call("D3")))
    b = drop(tmp_workspace, "calls", "b.csv", calls_csv(
        call("D1"), call("D3", talk="59"), call("D4")))
    res = run(warehouse, tmp_workspace)
    assert counts(res[a]) == ("loaded", 5, 3, 1, 1)
    assert quarantined(warehouse, a) == [(5, "D2", "id.conflict")]
    assert "line 3" in scalar(warehouse, "select reason from quarantine where file = $f", {"f": a})
    assert counts(res[b]) == ("loaded", 3, 1, 1, 1)
    assert quarantined(warehouse, b) == [(3, "D3", "id.conflict")]
    assert "calls/a.csv line 6" in scalar(warehouse, "select reason from quarantine where file = $f", {"f": b})
    assert rows(warehouse, "select call_id, talk_s, _file, _line from calls order by 1") == [
        ("D1", 60, a, 2), ("D2", 60, a, 3), ("D3", 60, a, 6), ("D4", 60, b, 4)]


@pytest.mark.parametrize("bad_id", ["../S1", "S 1", "..", "S1/x"])
def test_subscriber_id_pattern_in_every_feed(tmp_workspace, warehouse, bad_id):
    ws, con = tmp_workspace, warehouse
    ts = "2026-01-05T09:00:00Z"
    files = {
        "subscribers": drop(ws, "subscribers", "s.csv",
                            f'subscriber_id,name,country\n"{bad_id}",Bad,NL\nS1,Good,NL\n'),
        "subscriptions": drop(ws, "subscriptions", "s.csv",
                              f'{SUBSCRIPTION_HEADER}\n"{bad_id}",phone:BASIC,1,2026-01-01,,\n'
                              "S1,phone:BASIC,1,2026-01-01,,\n"),
        "calls": drop(ws, "calls", "c.csv", calls_csv(call("C1", sub=bad_id), call("C2"))),
        "interactions": drop(ws, "interactions", "i.csv",
                             "interaction_id,subscriber_id,channel,started_at,ended_at,handle_s\n"
                             f'I1,"{bad_id}",chat,{ts},{ts},10\nI2,S1,chat,{ts},{ts},10\n'),
        "worklogs": drop(ws, "worklogs", "w.csv",
                         f'{WORKLOG_HEADER}\nW1,"{bad_id}",remote,{ts},30,,,\nW2,S1,remote,{ts},30,,,\n'),
    }
    res = run(con, ws)
    for feed, rel in files.items():
        assert counts(res[rel]) == ("loaded", 2, 1, 1, 0), feed
        assert [(line, rule) for line, _, rule in quarantined(con, rel)] == [(2, "subscriber_id.pattern")], feed
    for table in ("subscribers", "subscription_versions", "calls", "interactions", "worklogs"):
        assert rows(con, f"select distinct subscriber_id from {table}") == [("S1",)], table


def test_ten_megabyte_description_loads_intact(tmp_workspace, warehouse):
    big = "".join(chr(ord("a") + i % 26) for i in range(1000)) * 10_000 + " é ✓"
    text = (WORKLOG_HEADER + "\n" + f"W1,S1,remote,2026-01-05T09:00:00Z,30,,Ann,{big}\n"
            + "W2,S1,remote,2026-01-05T10:00:00Z,15,,Ann,short\n")
    rel = drop(tmp_workspace, "worklogs", "big.csv", text)
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("loaded", 2, 2, 0, 0)
    assert scalar(warehouse, "select description from worklogs where worklog_id = 'W1'") == big
    assert loaded(warehouse, "worklogs", "worklog_id", rel) == [("W1", 2), ("W2", 3)]


def test_file_still_being_written_then_completed(tmp_workspace, warehouse, good):
    full = calls_csv(call("W1"), call("W2"), call("W3"))
    partial = full[: full.rindex("2026-01-05T09:00:00Z")]  # last line cut mid-record
    assert not partial.endswith("\n")
    rel = drop(tmp_workspace, "calls", "a_live.csv", partial)
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("loaded", 3, 2, 1, 0)
    assert quarantined(warehouse, rel) == [(4, None, "csv.partial")]
    assert loaded(warehouse, "calls", "call_id", rel) == [("W1", 2), ("W2", 3)]
    assert_good_loaded(warehouse, res, good)

    drop(tmp_workspace, "calls", "a_live.csv", full)
    assert [(f, p.name) for f, p in pending_files(warehouse, tmp_workspace)] == [("calls", "a_live.csv")]
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("loaded", 3, 1, 0, 2)
    assert res[good].status == "skipped"
    assert loaded(warehouse, "calls", "call_id", rel) == [("W1", 2), ("W2", 3), ("W3", 4)]
    assert quarantined(warehouse, rel) == [(4, None, "csv.partial")]  # the earlier rejection stays
    assert pending_files(warehouse, tmp_workspace) == []


def test_file_cut_inside_a_quoted_field_then_completed(tmp_workspace, warehouse):
    """Cut inside a quoted description, even right after a quoted line break: the field
    count is complete, but the record is not and must not load truncated. Its quote is
    never closed: that record is quarantined and reading resumes at the next physical
    line (data-contract.md); a last line without a line end is partial."""
    full = (WORKLOG_HEADER + "\n" + "W1,S1,remote,2026-01-05T09:00:00Z,30,,Ann,done\n"
            + 'W2,S1,remote,2026-01-05T10:00:00Z,15,,Ann,"first\nsecond"\n')
    rel = "worklogs/live.csv"
    for cut, read, rejected in (
            (full.index("first\n") + len("first\n"), 2, [(3, None, "csv.quote")]),
            (full.index("second") + 3, 3, [(3, None, "csv.quote"), (4, None, "csv.partial")])):
        with tempfile.TemporaryDirectory() as tmp:
            ws = Workspace.from_env(tmp).ensure()
            con = connect(ws.warehouse)
            drop(ws, "worklogs", "live.csv", full[:cut])
            res = run(con, ws)
            assert counts(res[rel]) == ("loaded", read, 1, read - 1, 0)
            assert quarantined(con, rel) == rejected
            drop(ws, "worklogs", "live.csv", full)
            res = run(con, ws)
            assert counts(res[rel]) == ("loaded", 2, 1, 0, 1)
            assert rows(con, "select worklog_id, description, _line from worklogs order by 1") == [
                ("W1", "done", 2), ("W2", "first\nsecond", 3)]
            con.close()


@pytest.mark.parametrize("second", ["description", " Description", "DESCRIPTION"])
def test_repeated_column_is_unreadable(tmp_workspace, warehouse, second):
    """Two columns that both claim to be `description`: which one is meant is unknown."""
    rel = drop(tmp_workspace, "worklogs", "w.csv", f"{WORKLOG_HEADER},{second}\n"
               "W1,S1,remote,2026-01-05T09:00:00Z,30,,Ann,one,two\n")
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("unreadable", 1, 0, 1, 0)
    assert res[rel].reason == "repeated column(s): description"
    assert quarantined(warehouse, rel) == [(None, None, "file.unreadable")]


def test_file_with_wrong_field_count_rejects_that_line(tmp_workspace, warehouse):
    text = calls_csv(call("F1"), call("F2"), call("F3"))
    lines = text.splitlines(keepends=True)
    lines[2] = lines[2].rstrip("\n") + ",surplus\n"
    rel = drop(tmp_workspace, "calls", "a.csv", "".join(lines))
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("loaded", 3, 2, 1, 0)
    assert quarantined(warehouse, rel) == [(3, None, "csv.fields")]
    assert loaded(warehouse, "calls", "call_id", rel) == [("F1", 2), ("F3", 4)]


def test_empty_fields_are_quarantined_in_every_feed(tmp_workspace, warehouse):
    """An empty required field is a record error with a reason, never a failed run."""
    ws, con = tmp_workspace, warehouse
    ts = "2026-01-05T09:00:00Z"
    files = {
        "subscribers": (drop(ws, "subscribers", "s.csv", "subscriber_id,name,country\nS1,One,\nS2,,NL\nS3,Three,dk\n"),
                        [(2, "S1", "country.enum"), (3, "S2", "name.required")]),
        "subscriptions": (drop(ws, "subscriptions", "s.csv", SUBSCRIPTION_HEADER + "\n"
                               "S1,phone:BASIC,,,,\nS1,phone:SMART,0,2026-01-01,,\nS1,phone:PLUS,,2026-01-01,,\n"),
                          [(2, "S1/phone:BASIC/", "valid_from.date"),
                           (3, "S1/phone:SMART/2026-01-01", "quantity.positive")]),
        "calls": (drop(ws, "calls", "c.csv", calls_csv(call("C1", started=""), call("C2", ended=""), call(""),
                                                     call("C4", sub=""), call("C5"))),
                  [(2, "C1", "started_at.timestamp"), (3, "C2", "ended_at.timestamp"),
                   (4, None, "call_id.required"), (5, "C4", "subscriber_id.required")]),
        "interactions": (drop(ws, "interactions", "i.csv",
                              "interaction_id,subscriber_id,channel,started_at,ended_at,handle_s\n"
                              f"I1,S1,,{ts},{ts},10\nI2,S1,chat,,{ts},10\nI3,S1,chat,{ts},,10\n"
                              f"I4,S1,chat,{ts},{ts},\nI5,S1,chat,{ts},{ts},10\n"),
                         [(2, "I1", "channel.enum"), (3, "I2", "started_at.timestamp"),
                          (4, "I3", "ended_at.timestamp"), (5, "I4", "handle_s.integer")]),
        "worklogs": (drop(ws, "worklogs", "w.csv", WORKLOG_HEADER + "\n"
                          f"W1,S1,,{ts},30,,,\nW2,S1,remote,,30,,,\nW3,S1,remote,{ts},,,,\n"
                          f"W4,S1,remote,{ts},30,-2,,\nW5,S1,remote,{ts},30,,,\n"),
                     [(2, "W1", "activity.enum"), (3, "W2", "started_at.timestamp"),
                      (4, "W3", "minutes.positive"), (5, "W4", "km.decimal")]),
    }
    res = run(con, ws)
    for feed, (rel, expected) in files.items():
        r = res[rel]
        assert (r.status, r.loaded, r.quarantined) == ("loaded", 1, len(expected)), feed
        assert quarantined(con, rel) == expected, feed
        assert scalar(con, "select count(*) from quarantine where file = $f and (reason is null or reason = '')",
                      {"f": rel}) == 0
    assert "empty" in scalar(con, "select reason from quarantine where rule = 'channel.enum'")
    assert rows(con, "select quantity from subscriptions") == [(1,)]  # quantity defaults to 1
    assert rows(con, "select country from subscribers") == [("DK",)]


# --- subscriptions -------------------------------------------------------------------

def test_subscription_replaced_by_later_file_and_cancelled(tmp_workspace, warehouse):
    ws, con = tmp_workspace, warehouse
    a = drop(ws, "subscriptions", "2026-01.csv", SUBSCRIPTION_HEADER + "\n"
             'S1,phone:BASIC,1,2026-01-01,,\n'
             'S1,messaging:BASIC,2,2026-01-01,,"{""aht_s"": 240}"\n'
             'S2,option:voice_response,1,2026-02-01,,\n')
    b = drop(ws, "subscriptions", "2026-02.csv", SUBSCRIPTION_HEADER + "\n"
             'S1,phone:BASIC,1,2026-01-01,2026-03-01,\n'
             'S2,option:voice_response,1,2026-02-01,2026-02-01,\n'
             'S1,messaging:BASIC,2,2026-01-01,,"{""aht_s"": 240}"\n')  # same as before: duplicate
    res = run(con, ws)
    assert counts(res[a]) == ("loaded", 3, 3, 0, 0)
    assert counts(res[b]) == ("loaded", 3, 2, 0, 1)
    assert rows(con, "select subscriber_id, product, valid_from::varchar, valid_to::varchar, _file "
                     "from subscription_versions order by 1, 2, _file") == [
        ("S1", "messaging:BASIC", "2026-01-01", None, a),
        ("S1", "phone:BASIC", "2026-01-01", None, a),
        ("S1", "phone:BASIC", "2026-01-01", "2026-03-01", b),
        ("S2", "option:voice_response", "2026-02-01", None, a),
        ("S2", "option:voice_response", "2026-02-01", "2026-02-01", b)]
    assert rows(con, "select subscriber_id, product, quantity, valid_to::varchar, params, cancelled, _file "
                     "from subscriptions order by 1, 2") == [
        ("S1", "messaging:BASIC", 2, None, '{"aht_s": 240}', False, a),
        ("S1", "phone:BASIC", 1, "2026-03-01", "{}", False, b),
        ("S2", "option:voice_response", 1, "2026-02-01", "{}", True, b)]


def test_subscription_change_reverted(tmp_workspace, warehouse):
    """A later row that equals an older version (but not the latest) is a new version:
    the end date set in between is taken back. Also across a byte-identical file under
    a later name, and within one file."""
    ws, con = tmp_workspace, warehouse
    open_row = SUBSCRIPTION_HEADER + "\nS1,phone:BASIC,1,2026-01-01,,\n"
    a = drop(ws, "subscriptions", "1.csv", open_row)
    b = drop(ws, "subscriptions", "2.csv", SUBSCRIPTION_HEADER + "\nS1,phone:BASIC,1,2026-01-01,2026-03-01,\n")
    c = drop(ws, "subscriptions", "3.csv", open_row)  # the same bytes as 1.csv
    d = drop(ws, "subscriptions", "4.csv", SUBSCRIPTION_HEADER + "\n"
             "S2,phone:BASIC,1,2026-01-01,,\nS2,phone:BASIC,1,2026-01-01,2026-02-01,\n"
             "S2,phone:BASIC,1,2026-01-01,,\nS2,phone:BASIC,1,2026-01-01,,\n")
    res = run(con, ws)
    assert [counts(res[f]) for f in (a, b, c)] == [("loaded", 1, 1, 0, 0)] * 3
    assert counts(res[d]) == ("loaded", 4, 3, 0, 1)
    assert rows(con, "select subscriber_id, valid_to, cancelled, _file, _line from subscriptions order by 1") == [
        ("S1", None, False, c, 2), ("S2", None, False, d, 4)]
    assert scalar(con, "select count(*) from subscription_versions") == 6
    drop(ws, "subscriptions", "3.csv", open_row)  # re-dropped under its own name: a no-op
    assert run(con, ws)[c].status == "skipped"


def test_subscription_params_must_be_json_object(tmp_workspace, warehouse):
    rel = drop(tmp_workspace, "subscriptions", "s.csv", SUBSCRIPTION_HEADER + "\n"
               'S1,phone:BASIC,1,2026-01-01,,"[1,2]"\n'
               'S1,phone:SMART,1,2026-01-01,,{bad\n'
               'S1,phone:PLUS,1,2026-01-01,,"""text"""\n'
               'S1,messaging:BASIC,1,2026-01-01,,"{""aht_s"": 240}"\n')
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("loaded", 4, 1, 3, 0)
    assert quarantined(warehouse, rel) == [
        (2, "S1/phone:BASIC/2026-01-01", "params.json_object"),
        (3, "S1/phone:SMART/2026-01-01", "params.json_object"),
        (4, "S1/phone:PLUS/2026-01-01", "params.json_object")]
    assert rows(warehouse, "select product, json_extract(params, '$.aht_s')::int from subscriptions") == [
        ("messaging:BASIC", 240)]


def test_subscription_unknown_product(tmp_workspace, warehouse):
    rel = drop(tmp_workspace, "subscriptions", "s.csv", SUBSCRIPTION_HEADER + "\n"
               "S1,phone:GOLD,1,2026-01-01,,\nS1,phone:BASIC,1,2026-01-01,,\nS1,,1,2026-01-01,,\n")
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("loaded", 3, 1, 2, 0)
    assert quarantined(warehouse, rel) == [(2, "S1/phone:GOLD/2026-01-01", "product.known"),
                                           (4, "S1//2026-01-01", "product.required")]
    assert "phone:GOLD" in scalar(warehouse, "select reason from quarantine where line = 2")
    assert rows(warehouse, "select product from subscriptions") == [("phone:BASIC",)]


# --- re-delivery and status ----------------------------------------------------------

def test_redropping_same_bytes_is_a_no_op(tmp_workspace, warehouse):
    text = calls_csv(call("RD1"), call("RD2", talk="bad"))
    rel = drop(tmp_workspace, "calls", "a.csv", text)
    first = run(warehouse, tmp_workspace)
    assert counts(first[rel]) == ("loaded", 2, 1, 1, 0)
    before = (scalar(warehouse, "select count(*) from loaded_files"),
              scalar(warehouse, "select count(*) from quarantine"), scalar(warehouse, "select count(*) from calls"))

    drop(tmp_workspace, "calls", "a.csv", text)  # the same file again
    copy = drop(tmp_workspace, "calls", "b_copy.csv", text)  # and under another name
    again = run(warehouse, tmp_workspace)
    assert counts(again[rel]) == ("skipped", 0, 0, 0, 0)
    assert counts(again[copy]) == ("skipped", 0, 0, 0, 0)
    after = (scalar(warehouse, "select count(*) from loaded_files"),
             scalar(warehouse, "select count(*) from quarantine"), scalar(warehouse, "select count(*) from calls"))
    assert after == before


def test_feed_status_counts(tmp_workspace, warehouse):
    ws, con = tmp_workspace, warehouse
    assert feed_status(con) == {f: {"files": 0, "read": 0, "loaded": 0, "quarantined": 0, "duplicates": 0}
                                for f in ("subscribers", "subscriptions", "calls", "interactions", "worklogs")}
    drop(ws, "subscribers", "s.csv", "subscriber_id,name,country\nS1,One,NL\nS2,Two,XX\n")
    drop(ws, "calls", "a.csv", calls_csv(call("A1"), call("A2"), call("A1"), call("A3", talk="x")))
    drop(ws, "calls", "b.csv", calls_csv(call("A2"), call("B1")))
    drop(ws, "calls", "c.csv", b"")
    run(con, ws)
    status = feed_status(con)
    assert status["subscribers"] == {"files": 1, "read": 2, "loaded": 1, "quarantined": 1, "duplicates": 0}
    # a.csv: A1, A2 loaded, A1 duplicate, A3 quarantined; b.csv: A2 duplicate, B1 loaded; c.csv: empty
    assert status["calls"] == {"files": 3, "read": 6, "loaded": 3, "quarantined": 1, "duplicates": 2}
    assert status["worklogs"] == {"files": 0, "read": 0, "loaded": 0, "quarantined": 0, "duplicates": 0}
    assert list(status) == ["subscribers", "subscriptions", "calls", "interactions", "worklogs"]
    run(con, ws)  # nothing new: unchanged
    assert feed_status(con) == status


# --- property --------------------------------------------------------------------------

BAD_KINDS = {
    "no_offset": ({"started": "2026-01-05T09:00:00"}, "started_at.timestamp"),
    "bad_type": ({"call_type": "fax"}, "call_type.enum"),
    "fraction": ({"talk": "12.5"}, "talk_s.integer"),
    "negative": ({"talk": "-1"}, "talk_s.integer"),
    "order": ({"answered": "", "talk": "0", "ended": "2026-01-05T08:00:00Z"}, "ended_at.order"),
    "talk_off": ({"talk": "90"}, "talk_s.consistent"),
    "bad_sub": ({"sub": "../x"}, "subscriber_id.pattern"),
    "empty_type": ({"call_type": ""}, "call_type.enum"),
    "empty_talk": ({"talk": ""}, "talk_s.integer"),
}


def _valid_call(i: int) -> dict:
    """The one valid content of call id i (so ids never conflict)."""
    talk = i % 5
    return call(f"X{i}", sub=f"S{i % 3}", call_type=("inbound", "transfer", "outbound")[i % 3],
                answered="", talk="0", ended=f"2026-01-05T09:0{talk}:00Z") if i % 2 else \
        call(f"X{i}", sub=f"S{i % 3}", ended=f"2026-01-05T09:0{talk + 1}:10Z", talk=str(60 * (talk + 1)))


def _row_text(i: int, kind: str) -> str:
    if kind == "valid":
        rec = _valid_call(i)
    elif kind == "short":
        return f"X{i},S1,inbound\n"  # wrong number of fields
    else:
        args, _ = BAD_KINDS[kind]
        rec = call(f"X{i}", **args)
    return calls_csv(rec).split("\n", 1)[1]


KIND = st.sampled_from(["valid"] * 4 + ["short"] + sorted(BAD_KINDS))
ROW = st.tuples(st.integers(0, 15), KIND)
FILES = st.lists(st.lists(ROW, max_size=8), min_size=1, max_size=3)


def _ingest_files(files: list[list[tuple[int, str]]], order: list[int]) -> tuple[set, list, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.from_env(tmp).ensure()
        header = calls_csv().strip("\n")
        for rank, idx in enumerate(order):
            text = header + "\n" + "".join(_row_text(i, k) for i, k in files[idx])
            # files load in name order: the rank decides the order, the index keeps files distinct
            drop(ws, "calls", f"{rank}_{idx}.csv", text)
        con = connect(":memory:")  # the warehouse file is not needed here
        try:
            results = ingest(con, ws)
            ids = {r[0] for r in rows(con, "select call_id from calls")}
            quarantine: dict[str, list] = {}
            for file, line, rule in rows(con, "select file, line, rule from quarantine order by file, line"):
                quarantine.setdefault(file, []).append((line, rule))
        finally:
            con.close()
    return ids, results, quarantine


def _expected(files, results) -> tuple[dict, dict]:
    """Per ingested file: (read, loaded, quarantined, duplicates) and quarantine (line, rule)."""
    seen: set[int] = set()
    counts_by_file, rules_by_file = {}, {}
    for r in results:
        if r.status == "skipped":
            continue
        rows_ = files[int(r.path.rsplit("_", 1)[1].split(".")[0])]
        n_loaded = n_dup = 0
        rules = []
        for j, (i, kind) in enumerate(rows_):
            if kind == "valid":
                n_dup += i in seen
                n_loaded += i not in seen
                seen.add(i)
            else:
                rules.append((j + 2, "csv.fields" if kind == "short" else BAD_KINDS[kind][1]))
        counts_by_file[r.path] = (len(rows_), n_loaded, len(rules), n_dup)
        rules_by_file[r.path] = rules
    return counts_by_file, rules_by_file


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=FILES, data=st.data())
def test_property_reconciles_and_is_order_independent(files, data):
    order = data.draw(st.permutations(range(len(files))))
    ids_a, results_a, quarantine_a = _ingest_files(files, list(range(len(files))))
    ids_b, results_b, quarantine_b = _ingest_files(files, list(order))
    expected = {f"X{i}" for f in files for i, k in f if k == "valid"}
    assert ids_a == ids_b == expected
    for results, quarantine in ((results_a, quarantine_a), (results_b, quarantine_b)):
        for r in results:
            assert r.read == r.loaded + r.quarantined + r.duplicates, r
        # a file with the same bytes as an earlier one is skipped; every other row is accounted for
        want_counts, want_rules = _expected(files, results)
        assert {r.path: (r.read, r.loaded, r.quarantined, r.duplicates)
                for r in results if r.status != "skipped"} == want_counts
        assert {f: quarantine.get(f, []) for f in want_rules} == want_rules
        assert set(quarantine) <= set(want_rules)


@pytest.mark.parametrize("stamp, ok", [
    ("2026-01-05T09:00:00Z", True),
    ("2026-01-05T09:00:00z", True),
    ("2026-01-05 09:00:00+01:00", True),
    ("2026-01-05T09:00:00-05:00", True),
    ("2026-01-05T09:00:00.250+0100", True),
    ("2026-01-05T09:00:00+01", True),
    ("2026-01-05T09:00:00", False),          # no offset
    ("2026-01-05T09:00:00.123", False),      # fraction, no offset
    ("2026-01-05", False),                   # a date only
    ("2026-01-05T09:00+01:00", False),       # no seconds: the contract is per second
    ("2026-13-05T09:00:00Z", False),         # not a date
    ("2026-01-05T09:00:00+01:00 junk", False),
])
def test_timestamp_needs_seconds_and_an_offset(tmp_workspace, warehouse, stamp, ok):
    rel = drop(tmp_workspace, "calls", "t.csv", calls_csv(
        call("c1", started=stamp, answered="", ended="2026-01-05T19:01:00Z", talk="0")))
    res = run(warehouse, tmp_workspace)[rel]
    if ok:
        assert counts(res) == ("loaded", 1, 1, 0, 0)
    else:
        assert quarantined(warehouse, rel) == [(2, "c1", "started_at.timestamp")]


# --- typed Parquet: same outcome as the text path ----------------------------------------

def _typed_calls(records: list[dict], *, tz: str | None = "UTC", talk_type=pa.int64()) -> pa.Table:
    """Calls with real Parquet types: timestamps (tz-aware unless tz is None), integer talk_s."""
    ts = pa.timestamp("us", tz=tz)
    return pa.table({
        "call_id": [r["call_id"] for r in records], "subscriber_id": [r["sub"] for r in records],
        "call_type": [r["type"] for r in records],
        "started_at": pa.array([r["start"] for r in records], ts),
        "answered_at": pa.array([r["answer"] for r in records], ts),
        "ended_at": pa.array([r["end"] for r in records], ts),
        "talk_s": pa.array([r["talk"] for r in records], talk_type)})


def _as_text_csv(table: pa.Table) -> str:
    """The same records as CSV, instants written as ISO 8601 with Z (what a CSV feed sends)."""
    out = []
    for rec in table.to_pylist():
        out.append({k: ("" if v is None else v.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if hasattr(v, "strftime")
                        else str(v)) for k, v in rec.items()})
    return calls_csv(*out)


TYPED_EDGE_RECORDS = [
    # valid; microseconds; unanswered with 0 s; 1 s off (tolerated); 2 s off; negative
    # talk_s; ended before answered; answered missing but talk given; an old but valid year
    dict(call_id="E1", sub="S1", type="inbound", start=1767603600_000000, answer=1767603610_000000, end=1767603670_000000, talk=60),
    dict(call_id="E2", sub="S1", type="inbound", start=1767603600_123456, answer=1767603610_500000, end=1767603670_500000, talk=60),
    dict(call_id="E3", sub="S1", type="inbound", start=1767603600_000000, answer=None, end=1767603620_000000, talk=0),
    dict(call_id="E4", sub="S1", type="transfer", start=1767603600_000000, answer=1767603610_000000, end=1767603671_000000, talk=60),
    dict(call_id="E5", sub="S1", type="inbound", start=1767603600_000000, answer=1767603610_000000, end=1767603672_000000, talk=60),
    dict(call_id="E6", sub="S1", type="inbound", start=1767603600_000000, answer=None, end=1767603620_000000, talk=-5),
    dict(call_id="E7", sub="S1", type="inbound", start=1767603600_000000, answer=1767603610_000000, end=1767603605_000000, talk=0),
    dict(call_id="E8", sub="S1", type="inbound", start=1767603600_000000, answer=None, end=1767603620_000000, talk=20),
    dict(call_id="E9", sub="S1", type="inbound", start=None, answer=None, end=1767603620_000000, talk=0),
    dict(call_id="E10", sub="S1", type="inbound", start=-30610224000_000000, answer=None, end=-30610224000_000000, talk=0),
]


def _outcome(con) -> tuple[list, list]:
    return (rows(con, "select call_id, call_type, epoch_us(started_at), epoch_us(answered_at), epoch_us(ended_at), "
                      "talk_s from calls order by call_id"),
            # physical lines differ by the CSV header; record, rule and reason must not
            rows(con, "select record_id, rule, reason from quarantine where feed = 'calls' order by line"))


def test_typed_parquet_loads_and_rejects_exactly_as_the_same_records_in_csv(tmp_path):
    table = _typed_calls(TYPED_EDGE_RECORDS)
    outcomes = []
    for kind in ("parquet", "csv"):
        ws = Workspace.from_env(tmp_path / kind).ensure()
        if kind == "parquet":
            pq.write_table(table, ws.feed_dir("calls") / "c.parquet")
        else:
            drop(ws, "calls", "c.csv", _as_text_csv(table))
        con = connect(ws.warehouse)
        try:
            run(con, ws)
            outcomes.append(_outcome(con))
        finally:
            con.close()
    parquet, csv = outcomes
    assert parquet == csv
    assert [r[0] for r in parquet[0]] == ["E1", "E10", "E2", "E3", "E4"]
    assert [(r[0], r[1]) for r in parquet[1]] == [
        ("E5", "talk_s.consistent"), ("E6", "talk_s.integer"), ("E7", "ended_at.order"),
        ("E8", "talk_s.unanswered"), ("E9", "started_at.timestamp")]


def test_typed_parquet_quarantine_keeps_the_record_as_text(tmp_workspace, warehouse):
    """The quarantined record is the file's columns as text, without the typed helpers."""
    pq.write_table(_typed_calls(TYPED_EDGE_RECORDS[5:6]), tmp_workspace.feed_dir("calls") / "neg.parquet")
    run(warehouse, tmp_workspace)
    raw = scalar(warehouse, "select record from quarantine where record_id = 'E6'")
    assert "_typed" not in raw and '"talk_s":"-5"' in raw.replace(" ", "")


def test_naive_parquet_timestamps_still_go_to_the_quarantine(tmp_workspace, warehouse):
    pq.write_table(_typed_calls(TYPED_EDGE_RECORDS[:1], tz=None), tmp_workspace.feed_dir("calls") / "naive.parquet")
    res = run(warehouse, tmp_workspace)
    assert counts(res["calls/naive.parquet"]) == ("loaded", 1, 0, 1, 0)
    assert quarantined(warehouse, "calls/naive.parquet") == [(1, "E1", "started_at.timestamp")]


def test_unsigned_and_huge_parquet_counts_follow_the_text_rule(tmp_workspace, warehouse):
    recs = [dict(TYPED_EDGE_RECORDS[2], call_id="U1"), dict(TYPED_EDGE_RECORDS[2], call_id="U2", talk=10**13)]
    pq.write_table(_typed_calls(recs, talk_type=pa.uint64()), tmp_workspace.feed_dir("calls") / "u.parquet")
    res = run(warehouse, tmp_workspace)
    assert counts(res["calls/u.parquet"]) == ("loaded", 2, 1, 1, 0)
    assert quarantined(warehouse, "calls/u.parquet") == [(2, "U2", "talk_s.integer")]


def test_typed_instant_outside_four_digit_years_is_checked_from_its_text(tmp_workspace, warehouse):
    """raw_staging drops the text of an instant taken typed (ingest._staging_text), never of
    one the checks must read as text: year 10000 goes the text path, whose shape gate
    rejects it, and the reason quotes the text."""
    year_10000 = 253_402_300_800_000_000  # 10000-01-01T00:00:00Z in µs since 1970
    recs = [dict(TYPED_EDGE_RECORDS[2], call_id="Y1", start=year_10000, end=year_10000 + 20_000_000),
            dict(TYPED_EDGE_RECORDS[2], call_id="Y2", end=year_10000)]
    pq.write_table(_typed_calls(recs), tmp_workspace.feed_dir("calls") / "y.parquet")
    run(warehouse, tmp_workspace)
    found = rows(warehouse, "select record_id, rule, reason from quarantine order by record_id")
    assert [(r[0], r[1]) for r in found] == [("Y1", "started_at.timestamp"), ("Y2", "ended_at.timestamp")]
    assert all("10000-01-01" in r[2] for r in found)
