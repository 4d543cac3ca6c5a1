"""Ingest alone, with a timer on every statement, on a workspace `ccmeter bench` generated.

    CCMETER_HOME=/tmp/ing3m python -m benchmarks.ingest_profile [--repeat 2] [--json out.json]

Each repeat ingests the workspace's inbox into a fresh scratch warehouse (beside the
workspace's own, which it leaves alone) and sums wall and CPU seconds per statement: the
SQL file a statement came from (found by its first comment line), or its first words
when it is not from a file. CPU seconds are the process's (DuckDB's threads included),
so they compare on a shared machine where wall seconds swing. `--keep` leaves the last
scratch warehouse in place (`<workspace>/profile.duckdb`) to compare feed tables.
"""
from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import psutil

from metering import sqlfiles


def _cpu() -> float:
    t = psutil.Process().cpu_times()
    return t.user + t.system


def _names_by_first_line() -> dict[str, str]:
    out = {}
    for path in sorted(sqlfiles.SQL_DIR.rglob("*.sql")):
        first = path.read_text(encoding="utf-8").lstrip().split("\n", 1)[0].strip()
        out.setdefault(first, str(path.relative_to(sqlfiles.SQL_DIR).with_suffix("")))
    return out


class TimedConnection:
    """A DuckDB connection whose `execute` adds its wall and CPU seconds to a tally."""

    def __init__(self, con, tally: dict, names: dict[str, str]):
        self._con = con
        self._tally = tally
        self._names = names

    def execute(self, statement, *args, **kwargs):
        first = statement.lstrip().split("\n", 1)[0].strip()
        name = self._names.get(first) or " ".join(first.split()[:3])
        cpu0, t0 = _cpu(), time.perf_counter()
        try:
            return self._con.execute(statement, *args, **kwargs)
        finally:
            entry = self._tally[name]
            entry[0] += time.perf_counter() - t0
            entry[1] += _cpu() - cpu0
            entry[2] += 1

    def __getattr__(self, name):
        return getattr(self._con, name)


def ingest_once(ws, scratch: Path) -> dict:
    from metering.db import connect
    from metering.ingest import ingest

    for p in (scratch, scratch.with_name(scratch.name + ".wal")):
        p.unlink(missing_ok=True)
    tally: dict = defaultdict(lambda: [0.0, 0.0, 0])
    con = connect(scratch)
    try:
        cpu0, t0 = _cpu(), time.perf_counter()
        results = ingest(TimedConnection(con, tally, _names_by_first_line()), ws)
        seconds, cpu = time.perf_counter() - t0, _cpu() - cpu0
    finally:
        con.close()
    return {"seconds": round(seconds, 3), "cpu_seconds": round(cpu, 2),
            "read": sum(r.read for r in results), "loaded": sum(r.loaded for r in results),
            "quarantined": sum(r.quarantined for r in results),
            "statements": {k: {"seconds": round(v[0], 3), "cpu_seconds": round(v[1], 2), "calls": v[2]}
                           for k, v in sorted(tally.items(), key=lambda kv: -kv[1][1])}}


def main(argv=None) -> int:
    from metering.workspace import Workspace

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--json", dest="json_path")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    ws = Workspace.from_env()
    scratch = ws.root / "profile.duckdb"
    runs = []
    for i in range(args.repeat):
        run = ingest_once(ws, scratch)
        runs.append(run)
        print(f"run {i + 1}: {run['seconds']:.2f} s, {run['cpu_seconds']:.1f} CPU s, read {run['read']:,}, "
              f"loaded {run['loaded']:,}, quarantined {run['quarantined']:,}")
        for name, v in list(run["statements"].items())[:14]:
            print(f"   {name:<40}{v['seconds']:>8.2f} s{v['cpu_seconds']:>8.2f} CPU s{v['calls']:>6}×")
    if not args.keep:
        for p in (scratch, scratch.with_name(scratch.name + ".wal")):
            p.unlink(missing_ok=True)
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(runs, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
