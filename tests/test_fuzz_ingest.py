"""Fuzzing the ingestion (issue 11): arbitrary bytes and near-valid CSV rows for every
feed (random quoting, delimiters, encodings, line ends, huge and empty fields). For
every input `ingest` finishes without an exception, every file reconciles (read =
loaded + quarantined + duplicates), the quarantine and the tables agree with the
ledger, and loading the same bytes again changes nothing."""
from __future__ import annotations

import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metering.db import connect, rows
from metering.feeds import FEEDS
from metering.ingest import ingest
from metering.validation import reconcile
from metering.workspace import Workspace

VALID = {
    "calls": {"call_id": "C{i}", "subscriber_id": "S1", "call_type": "inbound", "parent_call_id": "",
              "started_at": "2026-01-05T09:00:00Z", "answered_at": "2026-01-05T09:00:10Z",
              "ended_at": "2026-01-05T09:01:10Z", "talk_s": "60", "caller_number": "+31612345678",
              "destination_country": "NL", "report": ""},
    "interactions": {"interaction_id": "I{i}", "subscriber_id": "S1", "channel": "chat",
                     "started_at": "2026-01-05T09:00:00+01:00", "ended_at": "2026-01-05T09:10:00+01:00",
                     "handle_s": "600", "agent_id": "A1"},
    "worklogs": {"worklog_id": "W{i}", "subscriber_id": "S1", "activity": "remote",
                 "started_at": "2026-01-05T09:00:00Z", "minutes": "30", "km": "", "consultant": "Ann",
                 "description": "done"},
    "subscribers": {"subscriber_id": "S{i}", "name": "Name {i}", "country": "NL", "address": "Street 1",
                    "vat_id": "NL0", "email": "a@b.nl"},
    "subscriptions": {"subscriber_id": "S{i}", "product": "phone:BASIC", "quantity": "1",
                      "valid_from": "2026-01-01", "valid_to": "", "params": '{"aht_s": 240}'},
}

FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.large_base_example])

FIELD_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@st.composite
def field(draw, value: str) -> str:
    kind = draw(st.sampled_from(["empty", "text", "huge", "quoted", "open_quote", "inner_quote",
                                                  "delimiter", "newline", "cr", "long_id", "long_id", "dot_id",
                                                  "spaces"]))
    if kind == "empty":
        return ""
    if kind == "text":
        return draw(FIELD_TEXT)
    if kind == "huge":
        return draw(st.sampled_from(["x", "é", "\"", ","])) * draw(st.sampled_from([300, 300, 5000, 70000]))
    if kind == "quoted":
        return '"' + value.replace('"', '""') + '"'
    if kind == "open_quote":
        return '"' + value
    if kind == "inner_quote":
        return value[:1] + '"' + value[1:]
    if kind == "delimiter":
        return value + draw(st.sampled_from([",", ";", "\t"])) + value
    if kind == "newline":
        return '"' + value + "\n" + value + '"'
    if kind == "cr":
        return value + "\r"
    if kind == "long_id":
        return value * 40
    if kind == "dot_id":
        return "." + value
    return "  " + value + " "


@st.composite
def near_valid_csv(draw, feed: str) -> bytes:
    template = VALID[feed]
    columns = list(template)
    header = draw(st.sampled_from(["same", "same", "shuffled", "missing", "extra", "upper"]))
    if header == "shuffled":
        columns = draw(st.permutations(columns))
    elif header == "missing":
        columns = columns[:-1] if draw(st.booleans()) else columns[1:]
    elif header == "extra":
        columns = columns + ["unknown_column"]
    names = [c.upper() for c in columns] if header == "upper" else list(columns)
    delimiter = draw(st.sampled_from([",", ",", ",", ";", "\t"]))
    eol = draw(st.sampled_from(["\n", "\n", "\r\n", "\r"]))
    lines = [delimiter.join(names)]
    for _ in range(draw(st.integers(0, 6))):
        i = draw(st.integers(1, 4))  # few ids: duplicates and conflicts happen
        values = [template.get(c, "x").replace("{i}", str(i)) for c in columns]
        # most rows valid but for a field or two (a row with every field mangled tests little)
        for k in draw(st.lists(st.integers(0, len(values) - 1), max_size=draw(st.sampled_from([0, 1, 1, 2, 4])))):
            values[k] = draw(field(values[k]))
        if "subscriber_id" in columns and draw(st.integers(0, 3)) == 0:  # an id that may not name a file
            k = columns.index("subscriber_id")
            values[k] = draw(st.sampled_from(["." + values[k], values[k] * 40, "Summary", values[k].lower()]))
        if draw(st.integers(0, 9)) == 0:  # a row with a field too many or too few
            values = values[:-1] if draw(st.booleans()) else values + ["surplus"]
        lines.append(delimiter.join(values))
    if draw(st.integers(0, 9)) == 0:
        lines.append("")  # a blank line
    text = eol.join(lines) + (eol if draw(st.booleans()) else "")
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16", "cp1252"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.integers(0, 9)) == 0:  # cut anywhere: a file still being written
        data = data[: draw(st.integers(0, len(data)))]
    return data


@st.composite
def arbitrary_bytes(draw, feed: str) -> bytes:
    junk = draw(st.binary(max_size=2000))
    if draw(st.booleans()):
        return (",".join(VALID[feed]) + "\n").encode() + junk
    return junk


def _snapshot(con) -> tuple:
    tables = [FEEDS[f].table for f in FEEDS]
    counts = tuple(rows(con, f"select count(*) from {t}")[0][0] for t in tables)  # names from code
    return counts + (rows(con, "select count(*) from quarantine")[0][0],
                     rows(con, "select count(*) from loaded_files")[0][0])


def _ingest_checked(feed: str, files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.from_env(tmp).ensure()
        for name, data in files.items():
            (ws.feed_dir(feed) / name).write_bytes(data)
        con = connect(":memory:")
        try:
            results = ingest(con, ws)  # must not raise
            assert len(results) == len(files)
            for r in results:
                assert r.status in ("loaded", "unreadable", "skipped"), r
                assert r.read == r.loaded + r.quarantined + r.duplicates, r
                if r.status != "skipped":
                    in_quarantine = rows(con, "select count(*) from quarantine where file = $f", {"f": r.path})[0][0]
                    assert in_quarantine == (1 if r.status == "unreadable" else r.quarantined), r
            assert reconcile(con)[feed]["problems"] == []
            # nothing implausible loads: ids within 64 code points, no hidden-file subscriber ids
            table, id_column = FEEDS[feed].table, FEEDS[feed].id_column or "subscriber_id"
            longest = rows(con, f"select max(length({id_column})), max(length(subscriber_id)), "  # names from code
                                f"count(*) filter (where starts_with(subscriber_id, '.')) from {table}")[0]
            assert (longest[0] or 0) <= 64 and (longest[1] or 0) <= 64 and longest[2] == 0, longest
            # "partial" (loads when complete) only for a file that does not end with a line end
            for file, in rows(con, "select distinct file from quarantine where rule = 'csv.partial'"):
                assert not files[file.split("/", 1)[1]].endswith((b"\n", b"\r")), file
            before = _snapshot(con)
            again = ingest(con, ws)  # the same bytes again: nothing changes
            assert all(r.status == "skipped" for r in again), again
            assert _snapshot(con) == before
            if FEEDS[feed].id_column is not None:  # the same bytes under another name: skipped too
                for name, data in files.items():
                    (ws.feed_dir(feed) / f"copy-{name}").write_bytes(data)
                assert all(r.status == "skipped" for r in ingest(con, ws))
                assert _snapshot(con) == before
        finally:
            con.close()


@pytest.mark.parametrize("feed", list(VALID))
@FUZZ
@given(data=st.data())
def test_fuzz_ingest(feed, data):
    """One to three files per example: near-valid CSV (mostly) or arbitrary bytes, the
    latter also as a .parquet file where the feed takes Parquet."""
    files: dict[str, bytes] = {}
    for k in range(data.draw(st.integers(1, 3), label="files")):
        if data.draw(st.integers(0, 3), label="kind") < 3:
            files[f"f{k}.csv"] = data.draw(near_valid_csv(feed), label=f"f{k}.csv")
        else:
            blob = data.draw(arbitrary_bytes(feed), label=f"junk{k}")
            files[f"junk{k}.csv"] = blob
            if ".parquet" in FEEDS[feed].formats:
                files[f"junk{k}.parquet"] = blob
    _ingest_checked(feed, files)
