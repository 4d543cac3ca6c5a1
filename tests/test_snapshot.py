"""Analysts are never blocked (data-contract.md, warehouse.duckdb): runs work in their
own database and publish warehouse.duckdb atomically when they finish, so a reader
connected at any moment sees a consistent state, never fails and never makes a run
wait or fail."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import duckdb
from test_crash import CCMETER, _env, _workspace

ANALYST = textwrap.dedent("""
    import sys, time, duckdb
    path, seconds = sys.argv[1], float(sys.argv[2])
    ok = failed = 0
    months = set()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            con = duckdb.connect(path, read_only=True)
            try:
                n = con.execute("select count(*) from loaded_files").fetchall()[0][0]
                if con.execute("select count(*) from information_schema.tables "
                               "where table_name = 'spec_headers'").fetchall()[0][0]:
                    months |= {m for (m,) in con.execute("select distinct month from spec_headers").fetchall()}
                ok += 1
            finally:
                con.close()
        except Exception as exc:
            failed += 1
            print("FAILED", type(exc).__name__, str(exc).splitlines()[0], flush=True)
        time.sleep(0.02)
    print("ok", ok, "failed", failed, "months", ",".join(sorted(months)), flush=True)
""")


def test_an_analyst_polling_during_bill_never_fails_nor_blocks_it(tmp_path):
    ws = _workspace(tmp_path / "ws", 60)
    assert subprocess.run([CCMETER, "ingest"], env=_env(ws), capture_output=True).returncode == 0
    assert ws.warehouse.is_file()
    # one analyst keeps a connection open the whole time, another polls in a loop
    holder = duckdb.connect(str(ws.warehouse), read_only=True)
    script = tmp_path / "analyst.py"
    script.write_text(ANALYST)
    analyst = subprocess.Popen([sys.executable, str(script), str(ws.warehouse), "12"],
                               stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    t0 = time.monotonic()
    billed = subprocess.run([CCMETER, "bill", "2026-10", "--skip-checks", "--no-pdf"], env=_env(ws),
                            capture_output=True, text=True, timeout=300)
    took = time.monotonic() - t0
    assert billed.returncode == 0, billed.stderr
    assert "waiting for the warehouse" not in billed.stderr
    # the connection opened before the run still reads the snapshot it opened
    assert holder.execute("select count(*) from loaded_files").fetchall()[0][0] > 0
    holder.close()
    out, _ = analyst.communicate(timeout=60)
    summary = out.strip().splitlines()[-1].split()
    assert "FAILED" not in out, out
    assert int(summary[1]) > 10 and summary[3] == "0"
    assert took < 60
    fresh = duckdb.connect(str(ws.warehouse), read_only=True)
    try:
        assert fresh.execute("select distinct month from spec_headers").fetchall() == [("2026-10",)]
    finally:
        fresh.close()


def test_publish_replaces_the_file_atomically_and_adopts_an_older_workspace(tmp_path, monkeypatch):
    from metering.db import connect
    from metering.snapshot import adopt_published, publish
    from metering.workspace import Workspace
    ws = Workspace.from_env(tmp_path / "ws").ensure()
    old = connect(ws.warehouse)  # a warehouse written by a ccmeter from before the work database
    old.execute("create table t as select 1 as x")
    old.close()
    assert adopt_published(ws) and ws.work_db.is_file()
    assert not adopt_published(ws)  # once
    con = connect(ws.work_db)
    con.execute("insert into t values (2)")
    reader = duckdb.connect(str(ws.warehouse), read_only=True)
    seconds = publish(con, ws)
    con.close()
    assert seconds >= 0
    assert reader.execute("select count(*) from t").fetchall() == [(1,)]  # its snapshot, unchanged
    reader.close()
    fresh = duckdb.connect(str(ws.warehouse), read_only=True)
    assert fresh.execute("select count(*) from t").fetchall() == [(2,)]
    fresh.close()
    assert [p.name for p in ws.root.iterdir() if p.name.endswith(".tmp")] == []
