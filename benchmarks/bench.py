"""`ccmeter bench`: generates a synthetic month (synthetic/bench_month.py) under the workspace
(`CCMETER_HOME`, default ./bench-workspace), then times each stage of the real pipeline
on a fresh warehouse, next to the raw floors measured in the same run:

- ingest            `metering.ingest.ingest` (typing and record rules in SQL, dedup, ledger)
                    floor: `ingest_floor_seconds`, a plain read_parquet/read_csv load of the
                    same files into tables of a scratch DuckDB file
- usage             `metering.routing.build_usage` (all feeds routed to tariff families)
- answering         `metering.pricing.answering.rate` (usage → tiers, pools, AHT, lines)
- rating            `metering.billing.bill_month` (usage + every family + assembly): the
                    figure of the "rating within 3× the floor" target (`rating_seconds`)
                    floor for these three: `floor_seconds`, DuckDB read_parquet group-by of
                    the call legs per subscriber (count, sum talk_s), median of 3
- files (no PDF)    `metering.outputs.write_files(pdf=False)`: JSON, summary, anomalies
- publish           `metering.outputs.publish_month(pdf=True)` with workers=1 and 2
                    floor: `spec_floor_seconds`, json.dumps of every specification to a file

Peak RSS per stage comes from a sampling thread (psutil every 20 ms: RSS of this
process + USS of its children, the forked PDF workers). Figures are reported, never asserted.
Returns 0, or 1 when a stage failed.
"""
from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import statistics
import sys
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import psutil

from synthetic import bench_month

DEFAULT_HOME = "bench-workspace"
MIB = 1024 * 1024


# --- measuring ---------------------------------------------------------------------

class RssSampler:
    """Samples the resident set of this process plus the unique memory (USS) of its
    children (PDF workers) in a background thread; `peak()` is the highest sample since
    the last `reset()`. Children count by USS because forked workers share the parent's
    pages: their RSS would count the parent's memory again."""

    def __init__(self, interval: float = 0.02):
        self.interval = interval
        self.proc = psutil.Process()
        self._peak = 0
        self._overall = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def current(self) -> int:
        total = self.proc.memory_info().rss
        try:
            for child in self.proc.children(recursive=True):
                try:
                    total += child.memory_full_info().uss
                except psutil.Error:
                    try:
                        total += child.memory_info().rss
                    except psutil.Error:
                        pass
        except psutil.Error:
            pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> int:
        rss = self.current()
        with self._lock:
            self._peak = max(self._peak, rss)
            self._overall = max(self._overall, rss)
        return rss

    def reset(self) -> int:
        rss = self.current()
        with self._lock:
            self._peak = rss
            self._overall = max(self._overall, rss)
        return rss

    def peak(self) -> int:
        self.sample()
        with self._lock:
            return self._peak

    def overall(self) -> int:
        with self._lock:
            return self._overall

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Stage:
    name: str
    seconds: float | None = None
    rows: int | None = None
    peak_rss_mib: float | None = None
    rss_start_mib: float | None = None
    cpu_seconds: float | None = None  # user + system, this process and its children
    load_1m: tuple[float, float] | None = None  # load average at start and end (other work on the machine)
    floor: str | None = None
    floor_seconds: float | None = None
    detail: dict = field(default_factory=dict)
    error: str | None = None

    @property
    def rows_per_s(self) -> float | None:
        return self.rows / self.seconds if self.rows is not None and self.seconds else None

    @property
    def ratio_to_floor(self) -> float | None:
        return self.seconds / self.floor_seconds if self.seconds and self.floor_seconds else None

    def as_dict(self) -> dict:
        return {"name": self.name, "seconds": _r(self.seconds), "rows": self.rows,
                "rows_per_s": _r(self.rows_per_s, 0), "peak_rss_mib": _r(self.peak_rss_mib, 1),
                "rss_start_mib": _r(self.rss_start_mib, 1), "cpu_seconds": _r(self.cpu_seconds, 2),
                "load_1m": self.load_1m, "floor": self.floor,
                "floor_seconds": _r(self.floor_seconds), "ratio_to_floor": _r(self.ratio_to_floor, 2),
                "detail": self.detail, "error": self.error}


def _cpu() -> float:
    t = psutil.Process().cpu_times()
    return t.user + t.system + t.children_user + t.children_system


def _r(x, nd: int = 3):
    return None if x is None else round(float(x), nd)


class Runner:
    def __init__(self, sampler: RssSampler, say):
        self.sampler = sampler
        self.say = say
        self.stages: list[Stage] = []

    @contextmanager
    def stage(self, name: str, floor: str | None = None, floor_seconds: float | None = None):
        st = Stage(name, floor=floor, floor_seconds=floor_seconds)
        self.stages.append(st)
        st.rss_start_mib = self.sampler.reset() / MIB
        self.say(f"-- {name} …")
        load0 = os.getloadavg()[0]
        cpu0 = _cpu()
        t0 = time.perf_counter()
        try:
            yield st
        except Exception as exc:  # one failing stage is reported, the others still run
            st.error = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
            st.detail["traceback"] = traceback.format_exc()[-4000:]
            self.say(f"   FAILED: {st.error}")
        finally:
            if st.seconds is None:
                st.seconds = time.perf_counter() - t0
            st.cpu_seconds = _cpu() - cpu0
            st.load_1m = (round(load0, 2), round(os.getloadavg()[0], 2))
            st.peak_rss_mib = self.sampler.peak() / MIB
        if st.error is None:
            self.say(f"   {st.seconds:.2f} s, peak RSS {st.peak_rss_mib:.0f} MiB")

    def get(self, name: str) -> Stage | None:
        return next((s for s in self.stages if s.name == name), None)


@contextmanager
def timed_calls(targets: list[tuple[object, str, str]]):
    """Wraps module attributes (functions looked up at call time) with timers for the
    duration of the block: a split of a stage without editing the code it runs."""
    timings: dict[str, float] = {}
    saved = []
    for module, attr, label in targets:
        original = getattr(module, attr)
        saved.append((module, attr, original))

        def wrapper(*a, __f=original, __label=label, **kw):
            t0 = time.perf_counter()
            try:
                return __f(*a, **kw)
            finally:
                timings[__label] = timings.get(__label, 0.0) + time.perf_counter() - t0
        setattr(module, attr, wrapper)
    try:
        yield timings
    finally:
        for module, attr, original in reversed(saved):
            setattr(module, attr, original)


# --- floors ------------------------------------------------------------------------

def _glob(ws, feed: str, ext: str) -> str:
    return str(ws.feed_dir(feed) / f"*.{ext}")


# the floor: one scan of the call legs and a hash group-by per subscriber
FLOOR_GROUP_BY = ("select subscriber_id, count(*) as n, sum(talk_s) as talk from read_parquet($calls) "
                  "group by subscriber_id")


def measure_floors(ws, memory_limit: str | None, temp_dir: str | None, repeats: int = 3,
                   load_repeats: int = 1) -> dict:
    """The raw floors: DuckDB scanning the same Parquet with nothing of the product."""
    import duckdb
    config = {}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if temp_dir:
        config["temp_directory"] = temp_dir
    con = duckdb.connect(":memory:", config=config)
    calls = _glob(ws, "calls", "parquet")
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = con.execute(FLOOR_GROUP_BY, {"calls": calls}).fetchall()
        runs.append(time.perf_counter() - t0)
    con.close()

    scratch = ws.root / "floor.duckdb"
    load_runs, load_cpu = [], []
    for _ in range(load_repeats):
        for p in (scratch, scratch.with_name(scratch.name + ".wal")):
            p.unlink(missing_ok=True)
        fcon = duckdb.connect(str(scratch), config=config)
        cpu0, t0 = _cpu(), time.perf_counter()
        # one table per feed, named by the feed (a fixed name from code); paths go in as parameters
        for feed, statement in (
                ("calls", "create table calls as select * from read_parquet($glob)"),
                ("interactions", "create table interactions as select * from read_parquet($glob)"),
                ("worklogs", "create table worklogs as select * from read_parquet($glob)")):
            if any(ws.feed_dir(feed).glob("*.parquet")):
                fcon.execute(statement, {"glob": _glob(ws, feed, "parquet")})
        for feed, statement in (
                ("subscribers", "create table subscribers as select * from read_csv($glob, all_varchar = true, "
                                "header = true)"),
                ("subscriptions", "create table subscriptions as select * from read_csv($glob, "
                                  "all_varchar = true, header = true)")):
            fcon.execute(statement, {"glob": _glob(ws, feed, "csv")})
        fcon.execute("checkpoint")
        load_runs.append(time.perf_counter() - t0)
        load_cpu.append(_cpu() - cpu0)
        fcon.close()
    for p in (scratch, scratch.with_name(scratch.name + ".wal")):
        p.unlink(missing_ok=True)
    return {"floor_seconds": statistics.median(runs), "floor_runs": runs, "floor_groups": len(out),
            "ingest_floor_seconds": statistics.median(load_runs), "ingest_floor_runs": load_runs,
            # CPU seconds of the same load: on a shared machine they move less than wall seconds
            "ingest_floor_cpu_seconds": statistics.median(load_cpu)}


def spec_floor(specs: list[dict], directory: Path) -> float:
    """Plain json.dumps of every specification to its own file (no PDF, no fsync)."""
    directory.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for s in specs:
        (directory / f"{s['subscriber_id']}.json").write_text(json.dumps(s, default=str), encoding="utf-8")
    seconds = time.perf_counter() - t0
    shutil.rmtree(directory, ignore_errors=True)
    return seconds


# --- checks ------------------------------------------------------------------------

def expected_counts(ws, month: str) -> dict:
    """From the inbox files alone (not the warehouse): answered inbound legs of
    subscribers with a phone plan, the figure the rating must reproduce."""
    import duckdb
    con = duckdb.connect(":memory:")
    con.execute("set timezone = 'UTC'")
    q = f"""
        with plans as (
            select distinct subscriber_id from read_csv('{_glob(ws, "subscriptions", "csv")}', all_varchar = true)
            where product like 'phone:%'
        )
        select
            count(*) filter (where call_type = 'inbound' and answered_at is not null
                             and subscriber_id in (select subscriber_id from plans)) as answered_inbound_answering,
            count(*) as call_legs
        from read_parquet('{_glob(ws, "calls", "parquet")}')
        where strftime(timezone('Europe/Amsterdam', started_at::timestamptz), '%Y-%m') = '{month}'
    """
    answered, legs = con.execute(q).fetchall()[0]
    con.close()
    return {"answered_inbound_answering": int(answered), "call_legs": int(legs)}


def spec_checks(specs: list[dict]) -> dict:
    """Each specification: subtotal = Σ line amounts, total = subtotal + Σ VAT; and the
    sum of totals per currency."""
    bad_sub, bad_total = [], []
    lines = 0
    totals: dict[str, Decimal] = {}
    for s in specs:
        totals[s["currency"]] = totals.get(s["currency"], Decimal("0")) + Decimal(s["total"])
        subtotal = sum((Decimal(ln["amount"]) for ln in s["lines"]), Decimal("0"))
        lines += len(s["lines"])
        if subtotal != Decimal(s["subtotal"]):
            bad_sub.append(s["subscriber_id"])
        if Decimal(s["subtotal"]) + sum((Decimal(v["amount"]) for v in s["vat"]), Decimal("0")) != Decimal(s["total"]):
            bad_total.append(s["subscriber_id"])
    return {"specs": len(specs), "lines": lines, "subtotal_mismatches": bad_sub[:20],
            "total_mismatches": bad_total[:20], "totals": {c: str(v) for c, v in sorted(totals.items())}}


def warehouse_checks(con, month: str) -> dict:
    from metering.db import rows, scalar
    out = {}
    out["answering_calls_rated"] = scalar(
        con, "select count(*) from answering_charges(null) where code like 'phone.calls.%'")
    try:
        out["rated_records_calls"] = scalar(
            con, "select count(*) from rated_records where month = $m and feed = 'calls' "
                 "and code like 'phone.calls.%'", {"m": month})
        out["spec_header_line_mismatches"] = scalar(con, """
            select count(*) from (
                select h.spec_number
                from spec_headers h left join spec_lines l using (month, spec_number)
                where h.month = $m
                group by h.spec_number, h.subtotal
                having cast(h.subtotal as decimal(18, 2)) <> coalesce(sum(cast(l.amount as decimal(18, 2))), 0)
            )""", {"m": month})
        out["totals_by_currency"] = {c: str(t) for c, t in rows(
            con, "select currency, sum(cast(total as decimal(18, 2))) from spec_headers where month = $m "
                 "group by all order by all", {"m": month})}
    except Exception as exc:  # output tables absent when publishing failed
        out["warehouse_error"] = str(exc).splitlines()[0]
    return out


# --- the run -----------------------------------------------------------------------

def machine() -> dict:
    import duckdb
    import polars
    import pyarrow
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)),
            "memory_gib": round(psutil.virtual_memory().total / 1024 ** 3, 1), "cpu": cpu,
            "python": platform.python_version(), "duckdb": duckdb.__version__, "polars": polars.__version__,
            "pyarrow": pyarrow.__version__, "platform": platform.platform()}


def code_version() -> dict:
    """The commit and the files changed since (the code under test moves: say which)."""
    import subprocess
    repo = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--short", "--untracked-files=all", "--", "metering", "sql",
                                "tariffs"], cwd=repo, capture_output=True, text=True, timeout=10).stdout.split("\n")
        return {"commit": head, "changed": [d.strip() for d in dirty if d.strip()]}
    except (OSError, subprocess.SubprocessError):
        return {}


def ingested_workspace():
    """The workspace CCMETER_HOME names, when `ccmeter bench` has ingested it (the scripts
    that time one stage again on its data: benchmarks.rating, benchmarks.publish); None
    otherwise, after saying so."""
    from metering.workspace import Workspace
    home = os.environ.get("CCMETER_HOME")
    ws = Workspace.from_env(home) if home else None
    if ws is None or not ws.warehouse.exists():
        print("CCMETER_HOME must name a workspace that `ccmeter bench` has ingested", file=sys.stderr)
        return None
    return ws


def fresh_warehouse(ws) -> None:
    for p in (ws.warehouse, ws.warehouse.with_name(ws.warehouse.name + ".wal")):
        p.unlink(missing_ok=True)


# stages besides ingest and rating, in the order they run (`--stages` picks some)
OPTIONAL_STAGES = ("usage", "answering", "files", "publish", "snapshot")


def parse_stages(text: str | None) -> tuple[str, ...]:
    """The optional stages named in `text` (comma-separated; None = all of them)."""
    if text is None:
        return OPTIONAL_STAGES
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in OPTIONAL_STAGES]
    if unknown:
        raise ValueError(f"--stages: unknown stage {', '.join(unknown)} (known: {', '.join(OPTIONAL_STAGES)})")
    return names



def run_stages(ws, month: str, *, memory_limit: str | None = None, temp_dir: str | None = None,
               pdf: bool = True, workers: tuple[int, ...] = (1, 2), floors: bool = True,
               floor_repeats: int = 3, load_repeats: int = 1, say=print,
               sampler: RssSampler | None = None, stages: tuple[str, ...] = OPTIONAL_STAGES) -> dict:
    """Times every stage on a fresh warehouse in `ws` (whose inbox already holds the
    data). Ingest and rating always run; `stages` picks the optional ones: `usage` and
    `answering` time those steps alone before rating (on the same connection, so they
    add to its memory), `files` writes the files without PDFs, `publish` writes tables
    and files. Returns the report dict (without machine and data sections)."""
    from metering import billing, issuing, outputs
    from metering.billing import bill_month
    from metering.catalog import FAMILIES, load_catalog
    from metering.context import BillingInput
    from metering.contracts import load_contracts, load_subscribers
    from metering.db import connect, scalar
    from metering.ingest import ingest
    from metering.periods import Month
    from metering.pricing import answering
    from metering.routing import build_usage

    own_sampler = sampler is None
    sampler = sampler or RssSampler().__enter__()
    runner = Runner(sampler, say)
    report: dict = {"month": month, "memory_limit": memory_limit, "pdf": pdf,
                    "load_1m_at_start": round(os.getloadavg()[0], 2)}
    try:
        fl = {}
        if floors:
            say("-- floors (DuckDB on the same files) …")
            fl = measure_floors(ws, memory_limit, temp_dir, floor_repeats, load_repeats)
            say(f"   group-by {fl['floor_seconds']:.3f} s, plain load {fl['ingest_floor_seconds']:.2f} s "
                f"({fl['ingest_floor_cpu_seconds']:.1f} CPU s)")
        report.update({k: _r(v) if isinstance(v, float) else v for k, v in fl.items()})
        floor = fl.get("floor_seconds")

        fresh_warehouse(ws)
        shutil.rmtree(ws.month_dir(month), ignore_errors=True)
        con = connect(ws.warehouse, memory_limit=memory_limit, temp_directory=temp_dir)
        report["duckdb_settings"] = dict(con.execute(
            "select name, value from duckdb_settings() where name in ('threads', 'memory_limit', "
            "'temp_directory', 'preserve_insertion_order')").fetchall())
        catalog = load_catalog()
        m = Month.parse(month)

        with runner.stage("ingest", "ingest_floor", fl.get("ingest_floor_seconds")) as st:
            results = ingest(con, ws)
            st.rows = sum(r.read for r in results if r.feed in ("calls", "interactions", "worklogs"))
            st.detail = {
                "files": len(results),
                "records_read_all_feeds": sum(r.read for r in results),
                "loaded": sum(r.loaded for r in results),
                "quarantined": sum(r.quarantined for r in results),
                "duplicates": sum(r.duplicates for r in results),
                "all_reconcile": all(r.reconciles for r in results),
            }

        if "usage" in stages or "answering" in stages:
            with runner.stage("usage", "floor", floor) as st:
                subscribers = load_subscribers(con)
                contracts = load_contracts(con)
                build_usage(con, subscribers, contracts)
                st.rows = scalar(con, "select count(*) from usage")

        if "answering" in stages:
            with runner.stage("answering", "floor", floor) as st:
                inp = BillingInput(con, m, catalog, subscribers, contracts)
                res = answering.rate(inp)
                st.rows = scalar(con, "select count(*) from usage where family = 'answering' and month = $m",
                                 {"m": month})
                st.detail = {"subscribers": len(res), "lines": sum(len(r.lines) for r in res.values()),
                             "quantity_rows": scalar(con, "select count(*) from answering_quantities")}

        bill = None
        modules = [sys.modules[f"metering.pricing.{f}"] for f in FAMILIES]  # imported by metering.families
        with runner.stage("rating", "floor", floor) as st:
            with timed_calls([(billing, "load_subscribers", "load_subscribers"),
                              (billing, "load_contracts", "load_contracts"),
                              (billing, "ensure_usage", "build_usage")]
                             + [(mod, "rate", f"rate.{f}") for mod, f in zip(modules, FAMILIES)]) as split:
                bill = bill_month(con, m, catalog)
            st.rows = scalar(con, "select count(*) from usage where month = $m", {"m": month})
            st.detail = {"split_seconds": {k: _r(v) for k, v in split.items()},
                         "specs": len(bill.specs), "contract_errors": len(bill.errors),
                         "anomalies": len(bill.anomalies),
                         "lines": sum(len(s["lines"]) for s in bill.specs)}
        if bill is not None and runner.get("rating").error is None:
            rating = runner.get("rating")
            rating.detail["split_seconds"]["assembly_and_anomalies"] = _r(
                rating.seconds - sum(v for v in rating.detail["split_seconds"].values() if v))
            n = max(len(bill.specs), 1)
            report["spec_floor_seconds"] = _r(spec_floor(bill.specs, ws.root / "spec-floor"))

            if "files" in stages:
                with runner.stage("files_no_pdf", "spec_floor", report["spec_floor_seconds"]) as st:
                    outputs.write_files(ws.root / "files-no-pdf", bill, pdf=False)
                    st.rows = len(bill.specs)
                st.detail["ms_per_spec"] = _r(st_ms(runner, "files_no_pdf", n), 3)

            for w in ((workers if pdf else (1,)) if "publish" in stages else ()):
                name = f"publish_w{w}" if pdf else "publish_no_pdf"
                with runner.stage(name, "spec_floor", report["spec_floor_seconds"]) as st:
                    _unissue(ws, month)  # the bench owns its workspace: each publish issues afresh
                    # with PDF workers, the parent's own files and tables are written while they
                    # render: files_finish is then the wait for the PDFs left after that work
                    with timed_calls([(outputs, "write_analytics", "write_tables"),
                                      (outputs.MonthFiles, "write_own", "write_own_files"),
                                      (outputs.MonthFiles, "finish", "files_finish"),
                                      (outputs, "render_pdfs", "render_pdfs")]) as split:
                        result = issuing.publish(con, ws, bill, pdf=pdf, workers=w)
                    split["write_files"] = split.get("write_own_files", 0) + split.get("files_finish", 0)
                    st.rows = len(bill.specs)
                    st.detail = {"workers": w, "split_seconds": {k: _r(v) for k, v in split.items()},
                                 "files_ms_per_spec": _r(split.get("write_files", 0) / n * 1000, 3),
                                 "pdf_ms_per_spec": _r(split.get("render_pdfs", split.get("files_finish", 0))
                                                       / n * 1000, 3),
                                 "specifications": len(bill.specs), "totals": result.totals()}
                st.detail["ms_per_spec"] = _r(st.seconds / n * 1000, 3)
            report["checks"] = spec_checks(bill.specs)
            if "publish" in stages:
                report["checks"].update(warehouse_checks(con, month))
        if "snapshot" in stages:
            _time_snapshot(runner, con, ws)
        con.close()
    finally:
        if own_sampler:
            sampler.__exit__(None, None, None)

    report["stages"] = [s.as_dict() for s in runner.stages]
    report.update(summarise(runner, sampler, pdf, workers))
    return report


def _time_snapshot(runner, con, ws) -> None:
    """Publishing the analysts' copy (metering.snapshot.publish: checkpoint, copy, fsync,
    rename) against its floor: a plain copy of the same file measured just before."""
    import shutil

    from metering import snapshot
    con.execute("checkpoint")
    floor_target = ws.root / "snapshot-floor.duckdb"
    t0 = time.perf_counter()
    shutil.copyfile(ws.warehouse, floor_target)
    floor = time.perf_counter() - t0
    floor_target.unlink()
    with runner.stage("snapshot", "file_copy", floor) as st:
        snapshot.publish(con, ws, source=ws.warehouse, target=ws.root / "analysts.duckdb")
        st.rows = 1
    st.detail["bytes"] = (ws.root / "analysts.duckdb").stat().st_size
    (ws.root / "analysts.duckdb").unlink()


def _unissue(ws, month: str) -> None:
    """Removes a month the bench issued earlier in its own synthetic workspace."""
    import shutil
    shutil.rmtree(ws.month_dir(month), ignore_errors=True)


def st_ms(runner: Runner, name: str, n: int) -> float | None:
    st = runner.get(name)
    return None if st is None or st.seconds is None else st.seconds / n * 1000


def summarise(runner: Runner, sampler: RssSampler, pdf: bool, workers: tuple[int, ...]) -> dict:
    get = runner.get
    first = f"publish_w{workers[0]}" if pdf else "publish_no_pdf"
    out: dict = {}
    parts = [get("ingest"), get("rating"), get(first)]
    if all(p is not None and p.error is None for p in parts):
        out["end_to_end_seconds"] = _r(sum(p.seconds for p in parts))
        out["end_to_end_definition"] = f"ingest + rating (bill_month) + {first}"
        if pdf:
            for w in workers[1:]:
                alt = get(f"publish_w{w}")
                if alt is not None and alt.error is None:
                    out[f"end_to_end_seconds_w{w}"] = _r(parts[0].seconds + parts[1].seconds + alt.seconds)
    rating = get("rating")
    out["rating_seconds"] = _r(rating.seconds) if rating and rating.error is None else None
    n = (rating.detail.get("specs") if rating else None) or 0
    pub = get(first)
    if pub is not None and pub.error is None and n:
        out["per_spec_ms"] = pub.detail.get("files_ms_per_spec")
        out["per_spec_ms_definition"] = ("the files (PDF + JSON + summary + anomalies) of issuing.publish, "
                                         f"workers={workers[0] if pdf else 1}, per specification; with "
                                         "PDF workers, pdf_ms_per_spec is the wait for them after the "
                                         "parent's files and tables, written while they render")
        out["publish_ms_per_spec"] = pub.detail.get("ms_per_spec")
        if pdf:
            out["pdf_ms_per_spec"] = pub.detail.get("pdf_ms_per_spec")
        for w in workers[1:] if pdf else ():
            alt = get(f"publish_w{w}")
            if alt is not None and alt.error is None:
                out[f"per_spec_ms_w{w}"] = alt.detail.get("files_ms_per_spec")
                out[f"pdf_ms_per_spec_w{w}"] = alt.detail.get("pdf_ms_per_spec")
        nopdf = get("files_no_pdf")
        if nopdf is not None and nopdf.error is None:
            out["json_only_ms_per_spec"] = nopdf.detail.get("ms_per_spec")
    out["peak_rss_mib"] = _r(max([s.peak_rss_mib or 0 for s in runner.stages] + [sampler.overall() / MIB]), 1)
    # the kernel's high-water mark of this process (children's ru_maxrss is not used: a
    # child forked from a large parent inherits its high-water mark before exec)
    out["ru_maxrss_mib"] = _r(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out["failed_stages"] = [s.name for s in runner.stages if s.error]
    return out


def format_table(report: dict) -> str:
    head = (f"{'stage':<14}{'seconds':>10}{'cpu s':>9}{'rows':>12}{'rows/s':>12}{'peak MiB':>10}  "
            f"{'floor':<13}{'floor s':>9}{'ratio':>8}{'load':>12}")
    out = [head, "-" * len(head)]
    for s in report["stages"]:
        if s["error"]:
            out.append(f"{s['name']:<14}{'FAILED':>10}  {s['error'][:80]}")
            continue
        load = "{:.1f}→{:.1f}".format(*s["load_1m"]) if s.get("load_1m") else ""
        out.append(f"{s['name']:<14}{s['seconds']:>10.2f}{(s['cpu_seconds'] or 0):>9.1f}{(s['rows'] or 0):>12,}"
                   f"{(s['rows_per_s'] or 0):>12,.0f}{(s['peak_rss_mib'] or 0):>10.0f}  {s['floor'] or '':<13}"
                   f"{(s['floor_seconds'] or 0):>9.3f}{(s['ratio_to_floor'] or 0):>7.1f}×{load:>12}")
    out.append("")
    for k in ("end_to_end_seconds", "end_to_end_seconds_w2", "rating_seconds", "floor_seconds",
              "ingest_floor_seconds", "spec_floor_seconds", "per_spec_ms", "per_spec_ms_w2",
              "pdf_ms_per_spec", "pdf_ms_per_spec_w2", "json_only_ms_per_spec", "peak_rss_mib"):
        if report.get(k) is not None:
            out.append(f"{k:<26}{report[k]}")
    rating = next((s for s in report["stages"] if s["name"] == "rating" and not s["error"]), None)
    if rating:
        out.append("rating split (s): " + ", ".join(f"{k} {v}" for k, v in rating["detail"]["split_seconds"].items()))
    if report.get("checks"):
        out.append("checks: " + json.dumps({k: v for k, v in report["checks"].items()}, default=str))
    return "\n".join(out)


def _env_flag(name: str, default: bool) -> bool:
    v = os.environ.get(name)
    return default if v is None else v.strip().lower() not in ("0", "false", "no", "")


def run_benchmark(args) -> int:
    """Entry point of `ccmeter bench` (args: calls, subscribers, json_path, memory_limit;
    optional: interactions, worklogs, month, seed, pdf, workers, stages). Environment:
    CCMETER_HOME (workspace, default ./bench-workspace), CCMETER_MEMORY_LIMIT and
    CCMETER_TEMP_DIR (DuckDB), CCMETER_BENCH_PDF=0 (no PDF), CCMETER_BENCH_WORKERS=1,2."""
    from metering.workspace import Workspace

    def say(msg: str) -> None:
        print(msg, flush=True)

    stages = parse_stages(getattr(args, "stages", None))  # a typo fails before any data is generated
    calls = int(getattr(args, "calls", None) or 1_000_000)
    subscribers = int(getattr(args, "subscribers", None) or 10_000)
    spec = bench_month.SynthSpec(calls=calls, subscribers=subscribers,
                           interactions=getattr(args, "interactions", None),
                           worklogs=int(getattr(args, "worklogs", None) or 50_000),
                           month=getattr(args, "month", None) or "2026-12",
                           seed=int(getattr(args, "seed", None) or 20261))
    memory_limit = getattr(args, "memory_limit", None) or os.environ.get("CCMETER_MEMORY_LIMIT")
    pdf = getattr(args, "pdf", None)
    pdf = _env_flag("CCMETER_BENCH_PDF", True) if pdf is None else bool(pdf)
    workers = tuple(int(w) for w in str(getattr(args, "workers", None)
                                        or os.environ.get("CCMETER_BENCH_WORKERS", "1,2")).split(","))

    ws = Workspace.from_env(os.environ.get("CCMETER_HOME") or DEFAULT_HOME).ensure()
    temp_dir = os.environ.get("CCMETER_TEMP_DIR") or (str(ws.root / "duckdb-temp") if memory_limit else None)
    say(f"Benchmark workspace {ws.root}: {spec.calls:,} call legs, {spec.n_interactions:,} interactions, "
        f"{spec.worklogs:,} work logs, {spec.subscribers:,} subscribers, month {spec.month}"
        + (f", DuckDB memory_limit {memory_limit}" if memory_limit else ""))
    t0 = time.perf_counter()
    manifest, generated = bench_month.ensure(ws.root, spec, progress=lambda m: say(f"   generate: {m}"))
    gen_seconds = time.perf_counter() - t0
    say(f"Data {'generated' if generated else 'reused'} in {gen_seconds:.1f} s "
        f"({manifest['bytes'] / MIB:.0f} MiB in {manifest['counts']['files']} files)")

    with RssSampler() as sampler:
        report = run_stages(ws, spec.month, memory_limit=memory_limit, temp_dir=temp_dir, pdf=pdf,
                            workers=workers, say=say, sampler=sampler,
                            load_repeats=3 if spec.calls <= 2_000_000 else 1,
                            stages=stages)
    full = {"machine": machine(), "code": code_version(), "workspace": str(ws.root),
            "data": {**manifest, "generated_now": generated, "generate_seconds": _r(gen_seconds)},
            **report}
    say("")
    say(format_table(full))
    json_path = getattr(args, "json_path", None)
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(json.dumps(full, indent=2, default=str), encoding="utf-8")
        say(f"\nReport written to {json_path}")
    return 1 if full["failed_stages"] else 0


if __name__ == "__main__":  # python -m benchmarks.bench --calls N ...
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("--calls", type=int, default=1_000_000)
    p.add_argument("--subscribers", type=int, default=10_000)
    p.add_argument("--interactions", type=int)
    p.add_argument("--worklogs", type=int)
    p.add_argument("--json", dest="json_path")
    p.add_argument("--memory-limit")
    p.add_argument("--no-pdf", dest="pdf", action="store_false", default=None)
    p.add_argument("--workers")
    p.add_argument("--stages")
    sys.exit(run_benchmark(p.parse_args()))
