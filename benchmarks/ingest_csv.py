"""CSV ingestion against its floor, in one run: a generated demo workspace of N call
legs as CSV (chunked files), `ccmeter ingest` (typing, checks, quarantine, dedup) timed
against DuckDB's plain `read_csv` of the same files into a table. Peak RSS sampled.

    python -m benchmarks.ingest_csv --calls 10000000 --home /tmp/ingest-csv --json report.json
"""
from __future__ import annotations

import argparse
import json
import shutil
import threading
import time
from pathlib import Path

import duckdb
import psutil

from metering.db import connect
from metering.ingest import ingest
from metering.workspace import Workspace
from synthetic import generate_workspace


class PeakRss:
    """Samples this process's RSS in a background thread."""

    def __init__(self, interval: float = 0.05):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self._proc = psutil.Process()

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--calls", type=int, default=10_000_000)
    p.add_argument("--home", default="/tmp/ingest-csv")
    p.add_argument("--json")
    args = p.parse_args(argv)
    home = Path(args.home)
    ws = Workspace.from_env(home)
    manifest = home / "manifest.json"
    if not manifest.exists() or json.loads(manifest.read_text()).get("calls") != args.calls:
        shutil.rmtree(home, ignore_errors=True)
        t = time.perf_counter()
        generate_workspace(home, months=["2026-10"], size=args.calls, fmt="csv", bad_files=False)
        home.mkdir(parents=True, exist_ok=True)
        manifest.write_text(json.dumps({"calls": args.calls, "generated_s": time.perf_counter() - t}))
    feeds = ("subscribers", "subscriptions", "calls", "interactions", "worklogs")
    files = {feed: sorted(ws.feed_dir(feed).glob("*.csv")) for feed in feeds}
    ws.warehouse.unlink(missing_ok=True)

    floor_db = home / "floor.duckdb"
    floor_db.unlink(missing_ok=True)
    with PeakRss() as floor_rss:
        t = time.perf_counter()
        con = duckdb.connect(str(floor_db))
        # the same files ingest reads, all feeds into one wide table (union by column name)
        con.execute("create table records as select * from read_csv($files, header = true, all_varchar = true, "
                    "union_by_name = true)", {"files": [str(f) for paths in files.values() for f in paths]})
        floor_rows = con.execute("select count(*) from records").fetchall()[0][0]
        con.execute("checkpoint")
        con.close()
        floor_s = time.perf_counter() - t
    floor_db.unlink(missing_ok=True)

    with PeakRss() as ingest_rss:
        t = time.perf_counter()
        con = connect(ws.warehouse)
        results = ingest(con, ws)
        con.execute("checkpoint")
        con.close()
        ingest_s = time.perf_counter() - t
    calls = [r for r in results if r.feed == "calls"]
    report = {
        "records": floor_rows,
        "call_legs": sum(r.read for r in calls),
        "files": sum(len(v) for v in files.values()),
        "read_csv_floor_seconds": round(floor_s, 2),
        "read_csv_floor_peak_rss_mib": round(floor_rss.peak / 2**20),
        "ingest_seconds": round(ingest_s, 2),
        "ingest_peak_rss_mib": round(ingest_rss.peak / 2**20),
        "ratio_to_floor": round(ingest_s / floor_s, 2),
        "calls_loaded": sum(r.loaded for r in calls),
        "calls_quarantined": sum(r.quarantined for r in calls),
        "reconciles": all(r.read == r.loaded + r.quarantined + r.duplicates for r in results),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
