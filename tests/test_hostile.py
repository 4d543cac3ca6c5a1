"""Hostile input and faults (issue 11, data-contract.md "Bad input"): plausibility
limits, inbox entries that are not readable regular files, unclosed quotes, the inbox
sensor, and the limits as parameters."""
from __future__ import annotations

import os
import pathlib

import pytest

from metering.db import connect, rows, scalar
from metering.ingest import feed_status, ingest, pending_files, rejected_entries
from metering.limits import Limits, LimitsError
from metering.workspace import Workspace, safe_subscriber_id
from tests.test_ingest import (  # noqa: F401
    WORKLOG_HEADER,
    assert_good_loaded,
    call,
    calls_csv,
    counts,
    drop,
    good,
    loaded,
    quarantined,
    run,
)

INTERACTION_HEADER = "interaction_id,subscriber_id,channel,started_at,ended_at,handle_s,agent_id"


# --- 1. plausibility limits ---------------------------------------------------------------

@pytest.mark.parametrize("record, rule", [
    # a 10-year call: consistent timestamps and talk_s
    (call("L1", answered="2026-01-05T09:00:00Z", ended="2036-01-03T09:00:00Z", talk="315619200"),
     "ended_at.plausible"),
    # talk_s beyond a day on a call whose timestamps are within it
    (call("L2", talk="86401"), "talk_s.plausible"),
    # a leg of 24 h and one second, not answered
    (call("L3", answered="", talk="0", ended="2026-01-06T09:00:01Z"), "ended_at.plausible"),
    (call("L4", started="2026-01-05T09:00:00+25:00", answered="", talk="0",
          ended="2026-01-05T09:01:00+25:00"), "started_at.offset"),
    (call("L5", started="2026-01-05T09:00:00-14:01", answered="", talk="0",
          ended="2026-01-05T23:02:00Z"), "started_at.offset"),
    (call("L6", answered="2026-01-05T09:00:10+99:99", ended="2026-01-05T09:01:10Z"), "answered_at.offset"),
    (call("L7", answered="", talk="0", ended="2026-01-05T09:01:00+1430"), "ended_at.offset"),
    (call("x" * 65), "call_id.length"),
    (call("L8", sub="S" * 65), "subscriber_id.length"),
    (call("L9", sub="S" * 300), "subscriber_id.length"),
    (call("L10", parent="P" * 65), "parent_call_id.length"),
    (call("L11", sub=".hidden"), "subscriber_id.leading_dot"),
    (call("L12", sub="Summary"), "subscriber_id.reserved"),
    (call("L13", sub="ANOMALIES-summary"), "subscriber_id.reserved"),
])
def test_implausible_calls_are_quarantined(tmp_workspace, warehouse, good, record, rule):
    rel = drop(tmp_workspace, "calls", "a.csv", calls_csv(record))
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("loaded", 1, 0, 1, 0)
    assert [r[2] for r in quarantined(warehouse, rel)] == [rule]
    reason = scalar(warehouse, "select reason from quarantine where file = $f", {"f": rel})
    assert reason and "limit" in reason or rule.endswith((".offset", ".leading_dot", ".reserved")), reason
    assert_good_loaded(warehouse, res, good)


def test_limits_are_inclusive(tmp_workspace, warehouse):
    """Exactly 24 h, ±14:00 and 64 characters are accepted; one more is not."""
    rel = drop(tmp_workspace, "calls", "a.csv", calls_csv(
        call("E1", answered="2026-01-05T09:00:00Z", ended="2026-01-06T09:00:00Z", talk="86400"),
        call("X1", answered="2026-01-05T09:00:00Z", ended="2026-01-06T09:00:01Z", talk="86401"),
        call("E2", started="2026-01-05T09:00:00+14:00", answered="", talk="0", ended="2026-01-04T05:01:00-14:00"),
        call("X2", started="2026-01-05T09:00:00+14:01", answered="", talk="0", ended="2026-01-05T09:01:00+14:00"),
        call("E3", started="2026-01-05T09:00:00.5+1400", answered="", talk="0", ended="2026-01-05T09:01:00+14"),
        call("E" * 64, sub="S" * 64, parent="P" * 64),
        call("X" * 65),
        call("E4", sub="manifest2"),
        call("E5", sub="a.summary"),
        call("E6", sub="x.")))
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("loaded", 10, 7, 3, 0)
    assert [(r[0], r[2]) for r in quarantined(warehouse, rel)] == [
        (3, "ended_at.plausible"), (5, "started_at.offset"), (8, "call_id.length")]


def test_ids_count_code_points(tmp_workspace, warehouse):
    ok, long = "é" * 64, "é" * 65  # 128 and 130 bytes in UTF-8
    rel = drop(tmp_workspace, "calls", "a.csv", calls_csv(call(ok), call(long)))
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("loaded", 2, 1, 1, 0)
    assert quarantined(warehouse, rel) == [(3, long, "call_id.length")]


def test_work_log_and_interaction_limits(tmp_workspace, warehouse):
    ws, con = tmp_workspace, warehouse
    w = drop(ws, "worklogs", "w.csv", WORKLOG_HEADER + "\n"
             "W1,S1,remote,2026-01-05T09:00:00Z,5256000,,Ann,a year\n"
             "W2,S1,remote,2026-01-05T09:00:00Z,1440,,Ann,exactly a day\n"
             "W3,S1,remote,2026-01-05T09:00:00Z,1441,,Ann,a day and a minute\n"
             "W4,S1,remote,2026-01-05T09:00:00+25:00,30,,Ann,\n"
             f"{'W' * 65},S1,remote,2026-01-05T09:00:00Z,30,,Ann,\n")
    i = drop(ws, "interactions", "i.csv", INTERACTION_HEADER + "\n"
             "I1,S1,chat,2026-01-05T09:00:00Z,2026-01-05T09:10:00Z,86401,A1\n"
             "I2,S1,chat,2026-01-05T09:00:00Z,2026-01-05T09:10:00Z,86400,A1\n"
             "I3,S1,chat,2026-01-05T09:00:00-15:00,2026-01-06T09:10:00Z,60,A1\n"
             f"I4,S1,chat,2026-01-05T09:00:00Z,2026-01-05T09:10:00Z,60,{'A' * 65}\n")
    res = run(con, ws)
    assert counts(res[w]) == ("loaded", 5, 1, 4, 0)
    assert quarantined(con, w) == [(2, "W1", "minutes.plausible"), (4, "W3", "minutes.plausible"),
                                   (5, "W4", "started_at.offset"), (6, "W" * 65, "worklog_id.length")]
    assert counts(res[i]) == ("loaded", 4, 1, 3, 0)
    assert quarantined(con, i) == [(2, "I1", "handle_s.plausible"), (4, "I3", "started_at.offset"),
                                   (5, "I4", "agent_id.length")]


def test_subscriber_ids_name_files(tmp_workspace, warehouse):
    """Reserved names and ids equal ignoring case: the later row (file, line) is quarantined."""
    ws, con = tmp_workspace, warehouse
    a = drop(ws, "subscribers", "a.csv", "subscriber_id,name,country\n"
             "Acme,One,NL\nMANIFEST,Two,NL\nacme,Three,NL\nBeta,Four,NL\n.x,Five,NL\nAcme,One,NL\n")
    b = drop(ws, "subscribers", "b.csv", "subscriber_id,name,country\nACME,Six,NL\nbeta,Seven,BE\nGamma,Eight,DK\n")
    res = run(con, ws)
    assert counts(res[a]) == ("loaded", 6, 2, 3, 1)
    assert quarantined(con, a) == [(3, "MANIFEST", "subscriber_id.reserved"), (4, "acme", "subscriber_id.case"),
                                   (6, ".x", "subscriber_id.leading_dot")]
    assert counts(res[b]) == ("loaded", 3, 1, 2, 0)
    assert quarantined(con, b) == [(2, "ACME", "subscriber_id.case"), (3, "beta", "subscriber_id.case")]
    assert rows(con, "select subscriber_id from subscribers order by 1") == [("Acme",), ("Beta",), ("Gamma",)]
    reason = scalar(con, "select reason from quarantine where file = $f and line = 2", {"f": b})
    assert '"Acme"' in reason and "ignoring case" in reason


def test_limits_are_parameters(tmp_workspace, warehouse, monkeypatch):
    rel = drop(tmp_workspace, "calls", "a.csv", calls_csv(
        call("P1", answered="", talk="0", ended="2026-01-05T11:00:00Z"),
        call("P2", started="2026-01-05T09:00:00+03:00", answered="", talk="0", ended="2026-01-05T09:00:00Z")))
    monkeypatch.setenv("CCMETER_MAX_DURATION_S", "3600")
    monkeypatch.setenv("CCMETER_MAX_UTC_OFFSET_S", "7200")
    res = run(warehouse, tmp_workspace)
    assert counts(res[rel]) == ("loaded", 2, 0, 2, 0)
    assert [r[2] for r in quarantined(warehouse, rel)] == ["ended_at.plausible", "started_at.offset"]
    assert "limit of 3600 s" in scalar(warehouse, "select reason from quarantine where line = 2")
    assert Limits.from_env({"CCMETER_MAX_ID_LENGTH": "10"}).max_id_length == 10
    with pytest.raises(LimitsError, match="CCMETER_MAX_ID_LENGTH"):
        Limits.from_env({"CCMETER_MAX_ID_LENGTH": "ten"})


@pytest.mark.parametrize("sid", ["S" * 65, ".hidden", ".x.y"])
def test_safe_subscriber_id_enforces_the_ingestion_rules(sid):
    with pytest.raises(ValueError):
        safe_subscriber_id(sid)
    assert safe_subscriber_id("S" * 64) == "S" * 64


def test_overlong_subscriber_id_does_not_reach_billing(tmp_workspace, warehouse):
    """The 300-character id that crashed billing (File name too long) never loads."""
    ws, con = tmp_workspace, warehouse
    sid = "S" * 300
    drop(ws, "subscribers", "s.csv", f"subscriber_id,name,country\n{sid},Long,NL\nOK1,Fine,NL\n")
    drop(ws, "subscriptions", "s.csv", f"subscriber_id,product,quantity,valid_from,valid_to,params\n"
                                       f"{sid},phone:BASIC,1,2026-01-01,,\nOK1,phone:BASIC,1,2026-01-01,,\n")
    drop(ws, "calls", "c.csv", calls_csv(call("C1", sub=sid), call("C2", sub="OK1")))
    run(con, ws)
    for table in ("subscribers", "subscription_versions", "calls"):
        assert scalar(con, f"select count(*) from {table} where length(subscriber_id) > 64") == 0
    assert scalar(con, "select count(*) from quarantine where rule = 'subscriber_id.length'") == 3


# --- 2. every inbox entry accounted for ----------------------------------------------------

def _entries(con) -> list[tuple]:
    return rows(con, "select file, rule from quarantine where line is null order by file")


def test_inbox_entries_that_are_not_readable_files(tmp_workspace, warehouse, good, tmp_path):
    ws, con = tmp_workspace, warehouse
    calls = ws.feed_dir("calls")
    (calls / "x.csv").mkdir()
    os.mkfifo(calls / "fifo.csv")
    os.symlink(calls / "nowhere.csv", calls / "dangling.csv")
    os.symlink(calls / "loop2.csv", calls / "loop1.csv")
    os.symlink(calls / "loop1.csv", calls / "loop2.csv")
    secret = tmp_path / "secret.csv"
    secret.write_text(calls_csv(call("SECRET")))
    os.symlink(secret, calls / "outside.csv")
    inside = ws.root / "elsewhere.csv"
    inside.write_text(calls_csv(call("INSIDE")))
    os.symlink(inside, calls / "inside.csv")
    res = run(con, ws)
    assert _entries(con) == [
        ("calls/dangling.csv", "file.broken_link"), ("calls/fifo.csv", "file.not_regular"),
        ("calls/loop1.csv", "file.link_loop"), ("calls/loop2.csv", "file.link_loop"),
        ("calls/outside.csv", "file.outside_workspace"), ("calls/x.csv", "file.not_regular")]
    assert res["calls/x.csv"].status == "rejected" and "directory" in res["calls/x.csv"].reason
    assert "FIFO" in res["calls/fifo.csv"].reason
    assert scalar(con, "select count(*) from calls where call_id = 'SECRET'") == 0
    assert counts(res["calls/inside.csv"]) == ("loaded", 1, 1, 0, 0)  # a link inside the workspace is followed
    assert_good_loaded(con, res, good)
    # status and quarantine show them; reconciliation holds
    listed = {e["path"]: e["reason"] for e in rejected_entries(con)}
    assert set(listed) == {"calls/dangling.csv", "calls/fifo.csv", "calls/loop1.csv", "calls/loop2.csv",
                           "calls/outside.csv", "calls/x.csv"}
    assert feed_status(con)["calls"]["files"] == 2
    from metering.validation import reconcile
    assert reconcile(con)["calls"]["problems"] == []
    # the next run does not quarantine them again, nor lists them as pending
    assert pending_files(con, ws) == []
    again = run(con, ws)
    assert all(r.status == "skipped" for r in again.values())
    assert len(_entries(con)) == 6
    # a fixed entry loads
    os.unlink(calls / "dangling.csv")
    (calls / "dangling.csv").write_text(calls_csv(call("FIXED")))
    res = run(con, ws)
    assert counts(res["calls/dangling.csv"]) == ("loaded", 1, 1, 0, 0)
    assert [e["path"] for e in rejected_entries(con)] == [
        "calls/fifo.csv", "calls/loop1.csv", "calls/loop2.csv", "calls/outside.csv", "calls/x.csv"]


def _deny(monkeypatch, name: str) -> None:
    """A file without read permission (tests may run as root, where chmod does not bite)."""
    real_open = pathlib.Path.open

    def fake_open(self, *args, **kwargs):
        if self.name == name:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", fake_open)


def test_unreadable_file_is_quarantined_and_later_files_load(tmp_workspace, warehouse, good, monkeypatch):
    ws, con = tmp_workspace, warehouse
    drop(ws, "subscribers", "s.csv", "subscriber_id,name,country\nS1,One,NL\n")
    drop(ws, "calls", "locked.csv", calls_csv(call("LOCKED")))
    drop(ws, "worklogs", "w.csv", WORKLOG_HEADER + "\nW1,S1,remote,2026-01-05T09:00:00Z,30,,Ann,\n")
    _deny(monkeypatch, "locked.csv")
    res = run(con, ws)
    assert res["calls/locked.csv"].status == "rejected"
    assert _entries(con) == [("calls/locked.csv", "file.unreadable")]
    assert "permission" in res["calls/locked.csv"].reason
    assert_good_loaded(con, res, good)
    assert counts(res["worklogs/w.csv"]) == ("loaded", 1, 1, 0, 0)  # the feeds after it still load
    assert all(r.status == "skipped" for r in run(con, ws).values())  # quarantined once
    monkeypatch.undo()
    os.utime(ws.feed_dir("calls") / "locked.csv")  # permission given back (ctime changes)
    res = run(con, ws)
    assert counts(res["calls/locked.csv"]) == ("loaded", 1, 1, 0, 0)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_by_mode(tmp_workspace, warehouse, good):
    path = ws_file = tmp_workspace.feed_dir("calls") / "locked.csv"
    ws_file.write_text(calls_csv(call("LOCKED")))
    path.chmod(0)
    try:
        res = run(warehouse, tmp_workspace)
    finally:
        path.chmod(0o644)
    assert res["calls/locked.csv"].status == "rejected"
    assert_good_loaded(warehouse, res, good)


def test_unclosed_quote_is_one_record(tmp_workspace, warehouse):
    """The opening quote of a field is never closed: that record only is quarantined and
    the next physical lines load; the file ends with a line end, so it is complete."""
    ws, con = tmp_workspace, warehouse
    rel = drop(ws, "worklogs", "w.csv", WORKLOG_HEADER + "\n"
               "W1,S1,remote,2026-01-05T09:00:00Z,30,,Ann,done\n"
               'W2,S1,remote,2026-01-05T10:00:00Z,15,,Ann,"never closed\n'
               "W3,S1,remote,2026-01-05T11:00:00Z,15,,Ann,after\n"
               'W4,S1,remote,2026-01-05T12:00:00Z,15,,Ann,"a ""quoted""\nline break"\n'
               'W5,S1,remote,2026-01-05T13:00:00Z,15,,Ann,"again\n'
               "W6,S1,remote,2026-01-05T14:00:00Z,15,,Ann,last\n")
    res = run(con, ws)
    assert counts(res[rel]) == ("loaded", 6, 4, 2, 0)
    assert quarantined(con, rel) == [(3, None, "csv.quote"), (7, None, "csv.quote")]
    assert loaded(con, "worklogs", "worklog_id", rel) == [("W1", 2), ("W3", 4), ("W4", 5), ("W6", 8)]
    reason = scalar(con, "select reason from quarantine where line = 3")
    assert "never closed" in reason and "may still be being written" not in reason


def test_sensor_sees_a_file_corrected_in_place_at_the_same_size(tmp_workspace, warehouse):
    ws, con = tmp_workspace, warehouse
    path = ws.feed_dir("calls") / "a.csv"
    path.write_text(calls_csv(call("A1", talk="60")))
    run(con, ws)
    assert pending_files(con, ws) == []
    st = path.stat()
    path.write_text(calls_csv(call("A1", talk="61")))  # same size, other content
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert path.stat().st_size == st.st_size
    assert [p.name for _, p in pending_files(con, ws)] == ["a.csv"]
    run(con, ws)
    assert pending_files(con, ws) == []
    # touched without a change: seen again once, then in the ledger
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    assert [p.name for _, p in pending_files(con, ws)] == ["a.csv"]
    res = run(con, ws)
    assert res["calls/a.csv"].status == "skipped"
    assert pending_files(con, ws) == []


def test_sensor_run_key_changes_with_content(tmp_workspace, monkeypatch):
    import dagster as dg

    from pipelines.definitions import defs
    monkeypatch.setenv("CCMETER_HOME", str(tmp_workspace.root))
    sensor = defs.resolve_sensor_def("inbox_sensor")

    def tick():
        return sensor.evaluate_tick(dg.build_sensor_context(resources=defs.resources, definitions=defs))

    path = tmp_workspace.feed_dir("calls") / "a.csv"
    path.write_text(calls_csv(call("A1", talk="60")))
    con = connect(tmp_workspace.warehouse)
    ingest(con, tmp_workspace)
    con.close()
    assert not tick().run_requests
    st = path.stat()
    path.write_text(calls_csv(call("A1", talk="61")))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert len(tick().run_requests) == 1
    (tmp_workspace.feed_dir("calls") / "dir.csv").mkdir()
    assert len(tick().run_requests) == 1


# --- 4. warehouse access and faults: one clear line, an exit code ---------------------------

import errno  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import duckdb  # noqa: E402

from pipelines.cli import main  # noqa: E402


@pytest.fixture
def home(tmp_path, monkeypatch):
    ws = Workspace.from_env(tmp_path / "ws")
    monkeypatch.setenv("CCMETER_HOME", str(ws.root))
    monkeypatch.delenv("CCMETER_DEBUG", raising=False)
    return ws


def _ingested(ws: Workspace) -> Workspace:
    ws.ensure()
    drop(ws, "calls", "a.csv", calls_csv(call("A1")))
    from metering.snapshot import publish
    con = connect(ws.work_db)  # as a run does: its own database, published for analysts
    ingest(con, ws)
    publish(con, ws)
    con.close()
    return ws


def _one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err and "duckdb.org" not in err and "See also" not in err, err
    return lines[-1]


class _Holder:
    """Another process holding the warehouse (read-write: a run; read-only: an analyst)."""

    def __init__(self, path, read_only: bool, seconds: float):
        code = (f"import duckdb, sys, time; c = duckdb.connect({str(path)!r}, read_only={read_only}); "
                f"print('ready', flush=True); time.sleep({seconds})")
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"

    def __enter__(self):
        return self.proc

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def test_read_only_commands_on_a_missing_warehouse_create_nothing(home, capsys):
    assert main(["status"]) == 0
    assert main(["quarantine"]) == 0
    assert main(["status", "--json"]) == 0
    assert '"rejected_entries": []' in capsys.readouterr().out
    assert not home.root.exists()


def test_read_only_commands_work_while_an_analyst_is_connected(home, capsys):
    ws = _ingested(home)
    (ws.feed_dir("calls") / "x.csv").mkdir()
    con = connect(ws.warehouse)
    ingest(con, ws)
    con.close()
    with _Holder(ws.warehouse, read_only=True, seconds=60):
        assert main(["status"]) == 0
        assert main(["quarantine"]) == 0
    out = capsys.readouterr().out
    assert "calls/x.csv: not a regular file but a directory" in out  # status
    assert "calls/x.csv (whole file)  [file.not_regular]" in out  # quarantine


def test_read_only_workspace_status_and_ingest(home, capsys, monkeypatch):
    ws = _ingested(home)
    real_mkdir = pathlib.Path.mkdir

    def read_only_mkdir(self, mode=0o777, parents=False, exist_ok=False):
        if exist_ok and self.is_dir():
            return
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(pathlib.Path, "mkdir", read_only_mkdir)
    ws.specifications.rmdir()  # the workspace lacks a folder it cannot create now
    assert main(["status"]) == 0
    assert "calls" in capsys.readouterr().out
    assert main(["ingest"]) == 5
    line = _one_line(capsys.readouterr().err)
    assert "read-only" in line and str(ws.specifications) in line
    monkeypatch.setattr(pathlib.Path, "mkdir", real_mkdir)


def test_writer_waits_for_the_lock_then_goes_on(home, capsys, monkeypatch):
    ws = _ingested(home)
    drop(ws, "calls", "b.csv", calls_csv(call("B1")))
    monkeypatch.setenv("CCMETER_LOCK_TIMEOUT", "60")
    import assets.progress
    told = assets.progress.warn
    with _Holder(ws.work_db, read_only=False, seconds=120) as holder:  # another run writing

        def finish_other_run(message):  # the other run ends once this one says it waits
            told(message)
            holder.kill()
            holder.wait()

        monkeypatch.setattr(assets.progress, "warn", finish_other_run)
        assert main(["ingest"]) == 0
        assert holder.returncode is not None  # it did wait for the other run
    captured = capsys.readouterr()
    assert f"waiting for the warehouse {ws.work_db} (held by PID {holder.pid})" in captured.err
    assert "calls/b.csv: read 1, loaded 1" in captured.out


def test_writer_gives_up_cleanly_after_the_timeout(home, capsys, monkeypatch):
    ws = _ingested(home)
    drop(ws, "calls", "b.csv", calls_csv(call("B1")))
    before = ws.work_db.read_bytes(), ws.warehouse.read_bytes()
    monkeypatch.setenv("CCMETER_LOCK_TIMEOUT", "0.5")
    with _Holder(ws.work_db, read_only=False, seconds=60) as holder:
        assert main(["ingest"]) == 4
    line = _one_line(capsys.readouterr().err)
    assert f"held by PID {holder.pid}" in line and "gave up after 0.5 s" in line
    assert (ws.work_db.read_bytes(), ws.warehouse.read_bytes()) == before  # nothing changed
    monkeypatch.setenv("CCMETER_LOCK_TIMEOUT", "soon")
    assert main(["ingest"]) == 2
    assert "CCMETER_LOCK_TIMEOUT" in _one_line(capsys.readouterr().err)


@pytest.mark.parametrize("damage", ["truncated", "flipped", "not_duckdb", "empty"])
@pytest.mark.parametrize("command", [["status"], ["quarantine"], ["ingest"], ["bill", "2026-01", "--no-pdf"]])
def test_damaged_warehouse_is_named_with_the_way_back(home, capsys, damage, command):
    ws = _ingested(home)
    # readers read the analysts' copy; writers the database runs work in
    target = ws.warehouse if command[0] in ("status", "quarantine") else ws.work_db
    data = bytearray(target.read_bytes())
    if damage == "truncated":
        data = data[:5000]
    elif damage == "flipped":
        for i in range(12288, len(data), 7):
            data[i] ^= 0xFF
    elif damage == "not_duckdb":
        data = bytearray(b"a,b\n1,2\n" * 100)
    else:
        data = bytearray()
    target.write_bytes(bytes(data))
    assert main(command) == 3
    line = _one_line(capsys.readouterr().err)
    assert "damaged" in line and "ccmeter rebuild" in line and "in use" not in line


def test_a_damaged_analysts_copy_is_replaced_by_the_next_run(home, capsys):
    ws = _ingested(home)
    ws.warehouse.write_bytes(b"not a database")
    assert main(["ingest"]) == 0
    assert main(["status"]) == 0


@pytest.mark.parametrize("fault", [
    OSError(errno.ENOSPC, "No space left on device", "/ws/warehouse.duckdb.wal"),
    OSError(errno.EROFS, "Read-only file system", "/ws/warehouse.duckdb"),
    OSError(errno.EACCES, "Permission denied", "/ws/warehouse.duckdb"),
    duckdb.IOException('IO Error: Could not write file "/ws/warehouse.duckdb.wal": No space left on device'),
    duckdb.IOException('IO Error: Cannot open file "/ws/warehouse.duckdb": Read-only file system'),
])
def test_storage_faults_are_one_line(home, capsys, monkeypatch, fault):
    _ingested(home)

    def failing(*args, **kwargs):
        raise fault

    monkeypatch.setattr("assets.ingestion.ingest", failing)  # the step of ingest_job
    assert main(["ingest"]) == 5
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("ccmeter: cannot write: ")
    assert any(w in line for w in ("disk is full", "read-only", "permission denied")), line
    with pytest.raises(type(fault)):
        main(["--debug", "ingest"])  # --debug shows the traceback


def test_unexpected_fault_is_one_line_too(home, capsys, monkeypatch):
    _ingested(home)

    def failing(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr("assets.ingestion.ingest", failing)  # the step of ingest_job
    assert main(["ingest"]) == 70
    assert _one_line(capsys.readouterr().err) == \
        "ccmeter: internal error: RuntimeError: boom (run with --debug for the traceback)"


# --- 5. CSV and workbook outputs: RFC 4180 quoting, formula guard ---------------------------

import csv as _csv  # noqa: E402
import io as _io  # noqa: E402
import zipfile  # noqa: E402

from metering.render.summary import write_anomalies, write_summary  # noqa: E402


def _spec(n, sid, name, total="1.21", subtotal="1.00"):
    return {"spec_number": f"202610-0000{n}", "subscriber_id": sid, "name": name, "currency": "EUR",
            "subtotal": subtotal, "vat": [{"rate": "0.21", "base": subtotal, "amount": "0.21"}], "total": total,
            "issue_date": "2026-11-01", "due_date": "2026-12-01", "lines": []}


HOSTILE_NAMES = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tTabbed", "\rCarriage", "a\rb", "x\ny",
                 "plain, with comma"]


def test_summary_csv_quotes_cr_and_guards_every_text_cell(tmp_path):
    specs = [_spec(i, f"S{i}", name) for i, name in enumerate(HOSTILE_NAMES, start=1)]
    specs.append(_spec(0, "-DASH", "Credit", total="-12.50", subtotal="-10.33"))
    write_summary(tmp_path, specs, [])
    raw = (tmp_path / "summary.csv").read_bytes().decode("utf-8")
    assert '"a\rb"' in raw and '"x\ny"' in raw  # a bare CR is quoted like an LF
    parsed = list(_csv.reader(_io.StringIO(raw, newline="")))
    assert parsed[0][0] == "spec_number" and len(parsed) == len(specs) + 1
    by_number = {r[0]: r for r in parsed[1:]}
    names = [by_number[f"202610-0000{i}"][2] for i in range(1, len(HOSTILE_NAMES) + 1)]
    assert names == ["'=HYPERLINK(\"http://x\")", "'+1+1", "'-2+3", "'@SUM(A1)", "'\tTabbed", "'\rCarriage",
                     "a\rb", "x\ny", "plain, with comma"]
    credit = by_number["202610-00000"]
    assert credit[1] == "'-DASH"  # a text cell, guarded
    assert (credit[5], credit[8]) == ("-10.33", "-12.50")  # amounts stay numbers


def test_anomalies_csv_quotes_cr_and_guards(tmp_path):
    write_anomalies(tmp_path, [
        {"kind": "anomaly", "rule": "G9", "subscriber_id": "-S1", "record": "calls/\rX",
         "message": "=cmd|' /C calc'!A0"},
        {"kind": "anomaly", "rule": "G9", "subscriber_id": "S2", "record": None, "message": "line\rbreak"}])
    raw = (tmp_path / "anomalies.csv").read_bytes().decode("utf-8")
    rows_ = list(_csv.reader(_io.StringIO(raw, newline="")))
    assert rows_[1] == ["anomaly", "G9", "'-S1", "calls/\rX", "'=cmd|' /C calc'!A0"]
    assert rows_[2] == ["anomaly", "G9", "S2", "", "line\rbreak"]
    assert '"line\rbreak"' in raw and '"calls/\rX"' in raw


def test_workbook_guards_text_and_keeps_numbers(tmp_path):
    specs = [_spec(1, "S1", "=1+1"), _spec(2, "S2", "\tTab", total="-12.50", subtotal="-10.33")]
    write_summary(tmp_path, specs, [{"subscriber_id": "S3", "family": "answering", "rule": "G10",
                                     "message": "@import"}])
    with zipfile.ZipFile(tmp_path / "summary.xlsx") as z:
        strings = z.read("xl/sharedStrings.xml").decode()
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "&apos;=1+1" in strings or "'=1+1" in strings
    assert "'@import" in strings or "&apos;@import" in strings
    assert "'\tTab" in strings or "&apos;\tTab" in strings
    assert "<v>-12.5</v>" in sheet and "<v>-10.33</v>" in sheet  # numbers, not text
