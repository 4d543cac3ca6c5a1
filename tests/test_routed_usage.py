"""The routed `usage` table is rebuilt exactly when its inputs change (metering.routed_usage):
reused when nothing changed, rebuilt for a new row, a row changed in place or a removed
one, and when the table itself is missing."""
from __future__ import annotations

import duckdb
import pytest

from metering.contracts import load_contracts, load_subscribers
from metering.db import rows
from metering.ingest import create_tables
from metering.routed_usage import ensure_usage, input_fingerprint


@pytest.fixture
def con():
    c = duckdb.connect(":memory:")
    c.execute("set timezone = 'UTC'")
    create_tables(c)
    c.execute("insert into subscribers (subscriber_id, name, country, _file, _line) "
              "values ('S1', 'Acme', 'NL', 'subscribers/s.csv', 2)")
    c.execute("insert into subscription_versions (subscriber_id, product, quantity, valid_from, params, _hash, "
              "_file, _line, _file_id) values ('S1', 'phone:BASIC', 1, date '2026-01-01', '{}', 'h', "
              "'subscriptions/s.csv', 2, 2)")
    c.execute("insert into calls (call_id, subscriber_id, call_type, started_at, answered_at, ended_at, talk_s, "
              "report, _file, _line) values ('C1', 'S1', 'inbound', timestamptz '2026-10-05 09:00:00+00', "
              "timestamptz '2026-10-05 09:00:10+00', timestamptz '2026-10-05 09:01:10+00', 60, '', "
              "'calls/c.csv', 2)")
    yield c
    c.close()


def _ensure(con) -> bool:
    return ensure_usage(con, load_subscribers(con), load_contracts(con))


def test_reused_while_nothing_changed_rebuilt_when_a_row_changes(con):
    assert _ensure(con) is True
    assert _ensure(con) is False  # same inputs: the table is reused
    assert rows(con, "select record_id, family, local_date::varchar from usage") == [("C1", "answering", "2026-10-05")]

    con.execute("update calls set talk_s = 61 where call_id = 'C1'")  # changed in place, same count
    assert _ensure(con) is True
    assert _ensure(con) is False

    con.execute("insert into calls select * replace ('C2' as call_id, _line + 1 as _line) "
                "from calls where call_id = 'C1'")
    assert _ensure(con) is True
    assert rows(con, "select count(*) from usage") == [(2,)]

    con.execute("delete from calls where call_id = 'C2'")
    assert _ensure(con) is True
    assert rows(con, "select count(*) from usage") == [(1,)]

    con.execute("update subscribers set country = 'DK'")  # another time zone: a different local time
    assert _ensure(con) is True


def test_a_missing_usage_table_is_rebuilt_even_when_the_state_matches(con):
    assert _ensure(con) is True
    fingerprint = input_fingerprint(con)
    con.execute("drop table usage")  # e.g. a warehouse of a version that kept usage per connection
    assert rows(con, "select fingerprint from usage_state") == [(fingerprint,)]
    assert _ensure(con) is True
    assert rows(con, "select count(*) from usage") == [(1,)]


def test_fingerprint_is_the_inputs_not_their_order(con):
    before = input_fingerprint(con)
    con.execute("create table calls_copy as select * from calls")
    con.execute("delete from calls")
    con.execute("insert into calls select * from calls_copy order by call_id desc")
    assert input_fingerprint(con) == before
