"""The publish stage alone, repeated, on a workspace `ccmeter bench` has already ingested.

    CCMETER_HOME=/tmp/bench1m python -m benchmarks.publish --repeat 2 --workers 2 [--kinds] [--json out.json]

The month is rated once (`bill_month`); then each repeat issues it afresh
(`issuing.publish`: files into staging, e-invoices, checks, analytic tables, manifest,
issued documents) with a split per step, interleaved with the JSON floor (`json.dumps`
of every specification to its own file). `--kinds` also renders every PDF in this
process, one at a time, and reports milliseconds per PDF by kind of specification.
`--digest` prints the sha256 over the issued files (PDFs apart from the rest; the
manifest, which carries the time of issue, left out): run it from a worktree of each
commit to show that a change leaves the outputs byte-identical.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

from benchmarks.bench import (
    MIB,
    RssSampler,
    _cpu,
    _r,
    _unissue,
    code_version,
    ingested_workspace,
    spec_floor,
    timed_calls,
)


def spec_kind(spec: dict) -> str:
    """What drives a PDF's length: the R3 appendix, a movement or task listing, else the
    family of its lines."""
    if spec.get("appendix"):
        return "answering_r3_appendix"
    if spec.get("actions"):
        return "service_pack"
    if spec.get("tasks"):
        return "klippekort"
    services = {str(ln.get("service") or ln.get("code") or "").split(".", 1)[0] for ln in spec.get("lines") or []}
    if services & {"phone", "messaging"}:
        return "answering"
    if "remote" in services:
        return "remote_support"
    if "interact" in services:
        return "interact"
    return "other"


def pdf_kinds(specs: list[dict]) -> dict:
    """Each PDF rendered in this process (no file written): ms per PDF by kind."""
    from metering.render.pdf import pdf_bytes
    by_kind: dict[str, list[float]] = {}
    for s in specs:
        t0 = time.perf_counter()
        pdf_bytes(s)
        by_kind.setdefault(spec_kind(s), []).append((time.perf_counter() - t0) * 1000)
    total = sum(sum(v) for v in by_kind.values())
    return {k: {"count": len(v), "mean_ms": _r(statistics.mean(v), 2), "median_ms": _r(statistics.median(v), 2),
                "max_ms": _r(max(v), 1), "share_of_time": _r(sum(v) / total, 3)}
            for k, v in sorted(by_kind.items(), key=lambda kv: -sum(kv[1]))}


def digests(month_dir: Path) -> dict:
    """sha256 over the issued files' names and bytes: PDFs apart from the others; the
    manifest (it holds the time of issue) left out."""
    pdf, rest = hashlib.sha256(), hashlib.sha256()
    counts = {"pdf": 0, "other": 0}
    for p in sorted(month_dir.rglob("*")):
        if not p.is_file() or p.name == "manifest.json":
            continue
        h = pdf if p.suffix == ".pdf" else rest
        counts["pdf" if p.suffix == ".pdf" else "other"] += 1
        h.update(str(p.relative_to(month_dir)).encode() + b"\0" + p.read_bytes() + b"\0")
    return {"pdf_sha256": pdf.hexdigest(), "other_sha256": rest.hexdigest(), **counts}


def publish_once(con, ws, bill, workers: int, pdf: bool, sampler: RssSampler) -> dict:
    from metering import issued, issuing, manifest, outputs, staging_checks
    from metering.render import summary
    _unissue(ws, str(bill.month))
    sampler.reset()
    cpu0, t0 = _cpu(), time.perf_counter()
    targets = [(outputs, "write_analytics", "write_tables"),
               (outputs, "write_files", "write_files"),
               (outputs, "render_pdfs", "render_pdfs"),
               (getattr(outputs, "MonthFiles", None), "write_own", "write_own_files"),
               (getattr(outputs, "MonthFiles", None), "finish", "files_finish"),
               (summary, "write_json", "write_json"),
               (issuing, "_einvoices", "einvoices"),
               (staging_checks, "check_staged", "check_staged"),
               (issuing, "file_entries", "file_entries"),
               (issuing, "commit", "commit"),
               (issued, "record", "record_issued")]
    # the code before MonthFiles (the base of a before/after) lacks some: those are left out
    with timed_calls([t for t in targets if t[0] is not None and hasattr(t[0], t[1])]) as split:
        result = issuing.publish(con, ws, bill, pdf=pdf, workers=workers)
    seconds, cpu = time.perf_counter() - t0, _cpu() - cpu0
    split = {k: _r(v) for k, v in split.items()}
    _ = manifest  # file_entries and commit are looked up in issuing's namespace
    return {"seconds": _r(seconds), "cpu_seconds": _r(cpu), "peak_rss_mib": _r(sampler.peak() / MIB, 1),
            "split_seconds": split, "totals": result.totals()}


def main(argv: list[str] | None = None) -> int:
    from metering.billing import bill_month
    from metering.catalog import load_catalog
    from metering.db import connect
    from metering.periods import Month

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--month", default="2026-12")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--no-pdf", dest="pdf", action="store_false")
    p.add_argument("--kinds", action="store_true", help="ms per PDF by kind of specification, one process")
    p.add_argument("--digest", action="store_true", help="sha256 of the issued files (PDFs apart)")
    p.add_argument("--json", dest="json_path")
    args = p.parse_args(argv)

    ws = ingested_workspace()
    if ws is None:
        return 2
    month = Month.parse(args.month)
    con = connect(ws.warehouse)
    report: dict = {"code": code_version(), "workspace": str(ws.root), "month": str(month),
                    "workers": args.workers, "pdf": args.pdf, "runs": []}
    try:
        _unissue(ws, str(month))
        t0 = time.perf_counter()
        bill = bill_month(con, month, load_catalog())
        print(f"rated {len(bill.specs):,} specifications in {time.perf_counter() - t0:.1f} s", flush=True)
        with RssSampler() as sampler:
            for i in range(args.repeat):
                floor = spec_floor(bill.specs, ws.root / "spec-floor")
                run = publish_once(con, ws, bill, args.workers, args.pdf, sampler)
                run.update(floor_seconds=_r(floor), ratio_to_floor=_r(run["seconds"] / floor, 1),
                           load_1m=round(os.getloadavg()[0], 2))
                report["runs"].append(run)
                print(f"run {i + 1}: publish {run['seconds']:.2f} s (CPU {run['cpu_seconds']:.1f} s), "
                      f"JSON floor {floor:.3f} s, ratio {run['ratio_to_floor']}×, "
                      f"peak RSS {run['peak_rss_mib']:.0f} MiB, load {run['load_1m']}", flush=True)
                print("   split: " + ", ".join(f"{k} {v}" for k, v in run["split_seconds"].items()), flush=True)
        if args.digest:
            report["digests"] = digests(ws.month_dir(str(month)))
            print(f"digests: {report['digests']}", flush=True)
        if args.kinds:
            cpu0, t0 = _cpu(), time.perf_counter()
            report["pdf_kinds"] = pdf_kinds(bill.specs)
            report["pdf_kinds_seconds"] = _r(time.perf_counter() - t0)
            report["pdf_kinds_cpu_seconds"] = _r(_cpu() - cpu0)
            print(f"PDFs one at a time: {report['pdf_kinds_seconds']} s (CPU {report['pdf_kinds_cpu_seconds']})",
                  flush=True)
            for k, v in report["pdf_kinds"].items():
                print(f"   {k}: {v}", flush=True)
    finally:
        con.close()
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
