"""Rating alone, repeated, on a workspace `ccmeter bench` has already ingested.

    CCMETER_HOME=/tmp/bench10m python -m benchmarks.rating --repeat 3 [--json out.json]

Each repeat opens the warehouse afresh and runs `bill_month` (usage, the five families,
assembly) with a split per step; between repeats, and in the same process, it measures
the floor (DuckDB's `read_parquet` group-by of the call legs per subscriber). A stage
timed against a floor taken minutes earlier on a shared machine says little; repeats
interleaved with the floor give the spread. Used for the before/after of a change: run
it from a worktree of each commit on the same workspace. `--tables` also times
`write_analytics` (the analytic warehouse tables of an issue, with the per-record trace).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import duckdb

from benchmarks.bench import (
    FLOOR_GROUP_BY,
    MIB,
    RssSampler,
    _cpu,
    _r,
    code_version,
    ingested_workspace,
    spec_checks,
    timed_calls,
)


def floor_seconds(calls_glob: str, memory_limit: str | None, temp_dir: str | None) -> float:
    config = {k: v for k, v in (("memory_limit", memory_limit), ("temp_directory", temp_dir)) if v}
    con = duckdb.connect(":memory:", config=config)
    try:
        t0 = time.perf_counter()
        con.execute(FLOOR_GROUP_BY, {"calls": calls_glob}).fetchall()
        return time.perf_counter() - t0
    finally:
        con.close()


def rate_once(ws, month, memory_limit: str | None, temp_dir: str | None, sampler: RssSampler,
              tables: bool = False) -> dict:
    from metering import billing, outputs
    from metering.catalog import FAMILIES, load_catalog
    from metering.db import connect

    modules = [sys.modules[f"metering.pricing.{f}"] for f in FAMILIES]  # imported by metering.families
    con = connect(ws.warehouse, memory_limit=memory_limit, temp_directory=temp_dir)
    try:
        # every repetition routes the usage again (rating from scratch), never the reuse of
        # a usage table built from the same inputs (metering.routed_usage)
        con.execute("drop table if exists usage_state")
        sampler.reset()
        cpu0, t0 = _cpu(), time.perf_counter()
        with timed_calls([(billing, "ensure_usage", "build_usage")]
                         + [(mod, "rate", f"rate.{f}") for mod, f in zip(modules, FAMILIES)]) as split:
            bill = billing.bill_month(con, month, load_catalog())
        seconds = time.perf_counter() - t0
        cpu = _cpu() - cpu0
        tables_seconds = None
        if tables:  # the warehouse tables of publish, with the per-record trace (rated_records)
            t1 = time.perf_counter()
            outputs.write_analytics(con, bill)
            tables_seconds = time.perf_counter() - t1
    finally:
        con.close()
    split = {k: _r(v) for k, v in split.items()}
    split["assembly_and_the_rest"] = _r(seconds - sum(split.values()))
    return {"seconds": _r(seconds), "cpu_seconds": _r(cpu), "peak_rss_mib": _r(sampler.peak() / MIB, 1),
            "split_seconds": split, "write_tables_seconds": _r(tables_seconds), "checks": spec_checks(bill.specs)}


def main(argv: list[str] | None = None) -> int:
    from metering.periods import Month

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--month", default="2026-12")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--memory-limit", default=os.environ.get("CCMETER_MEMORY_LIMIT"))
    p.add_argument("--tables", action="store_true",
                   help="also time write_tables (spec tables and the per-record trace, rated_records)")
    p.add_argument("--json", dest="json_path")
    args = p.parse_args(argv)

    ws = ingested_workspace()
    if ws is None:
        return 2
    month = Month.parse(args.month)
    temp_dir = os.environ.get("CCMETER_TEMP_DIR") or (str(ws.root / "duckdb-temp") if args.memory_limit else None)
    calls_glob = str(ws.feed_dir("calls") / "*.parquet")

    runs, floors = [], []
    with RssSampler() as sampler:
        for i in range(args.repeat):
            floors.append(floor_seconds(calls_glob, args.memory_limit, temp_dir))
            run = rate_once(ws, month, args.memory_limit, temp_dir, sampler, tables=args.tables)
            run["floor_seconds"] = _r(floors[-1])
            run["load_1m"] = round(os.getloadavg()[0], 2)
            runs.append(run)
            print(f"run {i + 1}: rating {run['seconds']:.2f} s (CPU {run['cpu_seconds']:.1f} s), "
                  f"floor {floors[-1]:.3f} s, ratio {run['seconds'] / floors[-1]:.0f}×, "
                  f"peak RSS {run['peak_rss_mib']:.0f} MiB, load {run['load_1m']}", flush=True)
            print("   split: " + ", ".join(f"{k} {v}" for k, v in run["split_seconds"].items())
                  + (f"; write_tables {run['write_tables_seconds']} s" if args.tables else ""), flush=True)
    best, floor = min(r["seconds"] for r in runs), statistics.median(floors)
    totals = {json.dumps(r["checks"]["totals"], sort_keys=True) for r in runs}
    report = {"code": code_version(), "workspace": str(ws.root), "month": str(month),
              "memory_limit": args.memory_limit, "runs": runs,
              "rating_seconds_min": best, "rating_seconds_median": _r(statistics.median(r["seconds"] for r in runs)),
              "floor_seconds_median": _r(floor), "ratio_min_to_floor": _r(best / floor, 1),
              "same_totals_every_run": len(totals) == 1}
    print(f"rating: best {best:.2f} s, median {report['rating_seconds_median']:.2f} s; floor (median) "
          f"{floor:.3f} s; best/floor {best / floor:.0f}×; totals {runs[0]['checks']['totals']}")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    return 0 if report["same_totals_every_run"] else 1


if __name__ == "__main__":
    sys.exit(main())
