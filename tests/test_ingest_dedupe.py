"""Duplicates and conflicts told by typed content (no stored record hash), the migration
of a warehouse that stores md5 hashes, and the checks' parameters as one table
(issue 14: ingest speed; session variables replaced by one parameter table)."""
from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from metering import sqlfiles
from metering.catalog import PRODUCT_CODES
from metering.db import rows, scalar
from metering.ingest import HASHLESS_TABLES, create_tables
from metering.limits import RESERVED_IDS
from tests.test_ingest import (
    WORKLOG_HEADER,
    _calls_table,
    assert_good_loaded,
    call,
    calls_csv,
    counts,
    drop,
    quarantined,
    run,
)


def _columns(con, table: str) -> list[str]:
    return [r[0] for r in rows(con, "select column_name from information_schema.columns "
                                    "where table_name = $t order by ordinal_position", {"t": table})]


def test_the_same_instant_in_another_offset_is_a_duplicate_a_changed_one_a_conflict(tmp_workspace, warehouse):
    a = drop(tmp_workspace, "calls", "a.csv", calls_csv(call("T1"), call("T2"), call("T3", parent="")))
    b = drop(tmp_workspace, "calls", "b.csv", calls_csv(
        # the same instants written in +01:00: the same record
        call("T1", started="2026-01-05T10:00:00+01:00", answered="2026-01-05T10:00:10+01:00",
             ended="2026-01-05T10:01:10+01:00"),
        # one microsecond later: other content
        call("T2", ended="2026-01-05T09:01:10.000001Z"),
        # a parent given where there was none (null against a value)
        call("T3", parent="P1")))
    res = run(warehouse, tmp_workspace)
    assert counts(res[a]) == ("loaded", 3, 3, 0, 0)
    assert counts(res[b]) == ("loaded", 3, 0, 2, 1)
    assert quarantined(warehouse, b) == [(3, "T2", "id.conflict"), (4, "T3", "id.conflict")]


def test_km_of_equal_value_is_a_duplicate_in_the_file_and_across_files(tmp_workspace, warehouse):
    def worklog(wid, km, description=""):
        return f"{wid},S1,onsite,2026-01-05T09:00:00Z,30,{km},Ann,{description}"
    a = drop(tmp_workspace, "worklogs", "a.csv", "\n".join(
        [WORKLOG_HEADER, worklog("W1", "1.5"), worklog("W1", "1.500"), worklog("W2", ""),
         worklog("W2", "", "text")]) + "\n")
    b = drop(tmp_workspace, "worklogs", "b.csv", "\n".join(
        [WORKLOG_HEADER, worklog("W1", "1.50"), worklog("W1", "2")]) + "\n")
    res = run(warehouse, tmp_workspace)
    assert counts(res[a]) == ("loaded", 4, 2, 1, 1)
    assert quarantined(warehouse, a) == [(5, "W2", "id.conflict")]
    assert "appears earlier in this file (line 4)" in scalar(
        warehouse, "select reason from quarantine where file = $f", {"f": a})
    assert counts(res[b]) == ("loaded", 2, 0, 1, 1)
    assert "was loaded before from worklogs/a.csv line 2" in scalar(
        warehouse, "select reason from quarantine where file = $f", {"f": b})


def test_a_warehouse_storing_md5_hashes_is_migrated_and_compared_by_content(tmp_workspace, warehouse):
    """An older warehouse's `_hash` column goes; its rows stay and are compared by their
    content, whatever the stored hash said (here a hash no record has)."""
    warehouse.execute("create table calls (call_id varchar not null, subscriber_id varchar not null, "
                      "call_type varchar not null, parent_call_id varchar, started_at timestamptz not null, "
                      "answered_at timestamptz, ended_at timestamptz not null, talk_s bigint not null, "
                      "caller_number varchar, destination_country varchar, report varchar, "
                      "_hash varchar not null, _file varchar not null, _line bigint not null)")
    warehouse.execute("insert into calls values ('OLD1', 'S1', 'inbound', null, '2026-01-05 09:00:00+00', "
                      "'2026-01-05 09:00:10+00', '2026-01-05 09:01:10+00', 60, null, null, '', 'not-an-md5', "
                      "'calls/old.csv', 2), ('OLD2', 'S1', 'inbound', null, '2026-01-05 09:00:00+00', "
                      "'2026-01-05 09:00:10+00', '2026-01-05 09:01:10+00', 60, null, null, '', 'not-an-md5', "
                      "'calls/old.csv', 3)")
    create_tables(warehouse)
    assert "_hash" not in _columns(warehouse, "calls")
    assert rows(warehouse, "select call_id, _file, _line from calls order by 1") == [
        ("OLD1", "calls/old.csv", 2), ("OLD2", "calls/old.csv", 3)]
    rel = drop(tmp_workspace, "calls", "new.csv", calls_csv(call("OLD1"), call("OLD2", talk="61"), call("NEW")))
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("loaded", 3, 1, 1, 1)
    assert quarantined(warehouse, rel) == [(3, "OLD2", "id.conflict")]
    assert "loaded before from calls/old.csv line 3" in scalar(
        warehouse, "select reason from quarantine where file = $f", {"f": rel})


def test_no_feed_table_stores_a_record_hash_but_subscription_versions(warehouse):
    """Subscription versions compare every row with the version before it (a hash of a
    few thousand rows); the record feeds compare content where ids meet."""
    create_tables(warehouse)
    for table in HASHLESS_TABLES:
        assert "_hash" not in _columns(warehouse, table)
    assert "_hash" in _columns(warehouse, "subscription_versions")


def test_ingest_parameters_hold_the_limits_and_the_catalog(tmp_workspace, warehouse, monkeypatch):
    monkeypatch.setenv("CCMETER_MAX_ID_LENGTH", "10")
    monkeypatch.setenv("CCMETER_MAX_DURATION_S", "3600")
    rel = drop(tmp_workspace, "calls", "a.csv", calls_csv(call("C" * 10), call("C" * 11), call("S", sub="S" * 11)))
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("loaded", 3, 1, 2, 0)
    assert [r[2] for r in quarantined(warehouse, rel)] == ["call_id.length", "subscriber_id.length"]
    assert "the limit of 10" in scalar(warehouse, "select reason from quarantine where line = 3")
    ((duration, offset, id_length, reserved, products),) = rows(warehouse, "select * from ingest_parameters")
    assert (duration, offset, id_length) == (3600, 14 * 3600, 10)
    assert reserved == list(RESERVED_IDS) and products == sorted(PRODUCT_CODES)


@pytest.mark.parametrize("path", sorted((Path(sqlfiles.SQL_DIR) / "staging").glob("*.sql")), ids=lambda p: p.name)
def test_staging_sql_reads_no_session_variable(path):
    assert "getvariable" not in path.read_text(encoding="utf-8")


def test_parquet_with_a_corrupt_page_is_quarantined_whole(tmp_workspace, warehouse):
    """A Parquet file is read in place while it is staged: a file whose footer opens but
    whose pages do not decode is quarantined whole, before the load's transaction, and
    the run goes on."""
    good = drop(tmp_workspace, "calls", "zz_good.csv", calls_csv(call("G1"), call("G2")))
    path = tmp_workspace.feed_dir("calls") / "a_corrupt.parquet"
    pq.write_table(_calls_table([call(f"K{i}") for i in range(2000)]), path, compression="snappy")
    footer = pq.ParquetFile(path).metadata.row_group(0).column(0).data_page_offset
    data = bytearray(path.read_bytes())
    for i in range(8, footer, 7):  # the pages before the first column's data page
        data[i] = 0xAB
    path.write_bytes(bytes(data))
    rel = "calls/a_corrupt.parquet"
    res = run(warehouse, tmp_workspace)
    assert (res[rel].status, res[rel].loaded) == ("unreadable", 0)
    assert res[rel].reason.startswith("not a readable Parquet file")
    assert quarantined(warehouse, rel) == [(None, None, "file.unreadable")]
    assert scalar(warehouse, "select count(*) from calls where call_id like 'K%'") == 0
    assert_good_loaded(warehouse, res, good)
