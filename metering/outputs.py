"""Writes a billed month: specification files (JSON, PDF), summary CSV/XLSX and
anomalies.csv into a folder (the staging folder of an issue, or a draft folder), and the
analytic warehouse tables of an issued month: anomalies, contract_errors, prepaid_ledger,
rated_records, aht_evaluations (delete-then-insert per month). The issued documents
themselves go to the warehouse from their files (metering.issued)."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pyarrow as pa

from metering import model, sqlfiles
from metering.billing import MonthBill, TraceEntry
from metering.pricing import answering
from metering.render.files import TMP_MARK, DurableBatch, atomic_write, write_temporary
from metering.workspace import safe_subscriber_id

OUTPUT_TABLES = ("anomalies", "contract_errors", "rated_records", "prepaid_ledger")


def create_output_tables(con) -> None:
    model.migrate(con, OUTPUT_TABLES)
    for name in OUTPUT_TABLES:
        sqlfiles.run(con, f"tables/{name}")
    sqlfiles.apply_descriptions(con, OUTPUT_TABLES)
    model.create_trace_view(con)


def _for_table(name: str, table: str) -> str:
    """A statement for one of the output tables (an identifier from code, not data)."""
    if table not in OUTPUT_TABLES:
        raise ValueError(f"not an output table: {table}")
    return sqlfiles.fill(name, table=table)


def write_analytics(con, bill: MonthBill) -> None:
    """The analytic tables of the month just issued (anomalies, contract errors, ledgers,
    the per-record trace, AHT evaluations)."""
    create_output_tables(con)
    month = str(bill.month)
    anomalies: dict[str, list] = {k: [] for k in ("month", "kind", "rule", "subscriber_id", "record", "message")}
    for a in bill.anomalies:
        for k, v in (("month", month), ("kind", a.kind), ("rule", a.rule), ("subscriber_id", a.subscriber_id),
                     ("record", a.record), ("message", a.message)):
            anomalies[k].append(v)
    errors: dict[str, list] = {k: [] for k in ("month", "subscriber_id", "family", "rule", "message")}
    for e in bill.errors:
        for k, v in (("month", month), ("subscriber_id", e.subscriber_id), ("family", e.family), ("rule", e.rule),
                     ("message", e.message)):
            errors[k].append(v)
    ledger: dict[str, list] = {k: [] for k in ("month", "subscriber_id", "family", "seq", "day", "kind", "card_id",
                                               "record", "units", "balance", "rule")}
    for sid, family, seq, movement in bill.ledger:
        row = {"month": month, "subscriber_id": sid, "family": family, "seq": seq, **movement.as_row()}
        for k in ledger:
            ledger[k].append(row.get(k))
    integer_columns = {"line_no", "seq", "units", "balance"}
    con.execute("begin transaction")
    try:
        for table, data in (("anomalies", anomalies), ("contract_errors", errors), ("prepaid_ledger", ledger)):
            con.execute(_for_table("publish/delete_month", table), {"m": month})
            arrow = pa.table({k: pa.array(v, pa.int64() if k in integer_columns else
                                          pa.date32() if k == "day" else pa.string()) for k, v in data.items()})
            con.register("publish_arrow", arrow)
            con.execute(_for_table("publish/insert_rows", table))
            con.unregister("publish_arrow")
        con.execute(_for_table("publish/delete_month", "rated_records"), {"m": month})
        rated = answering.rated_month(con)
        if rated is not None:
            if rated != month:  # issuing rates the month it issues last (metering.issuing.plan)
                raise RuntimeError(f"the answering rating relation on this connection is of {rated}, not {month}: "
                                   "the month issued must be the one rated last")
            sqlfiles.run(con, "marts/rated_records_answering")
        if bill.rated_records:  # the families that keep their trace in Python (remote support)
            con.register("publish_arrow", _rated_records_arrow(month, bill.rated_records))
            con.execute(_for_table("publish/insert_rows", "rated_records"))
            con.unregister("publish_arrow")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    write_aht_evaluations(con, bill.aht_rows, bill.aht_quarters)
    sqlfiles.apply_descriptions(con)


def _rated_records_arrow(month: str, records: list[TraceEntry]) -> pa.Table:
    """Per-record trace rows as Arrow; unit prices as exact decimals (never a float)."""
    return pa.table({
        "month": pa.array([month] * len(records), pa.string()),
        "subscriber_id": pa.array([sid for sid, _, _ in records], pa.string()),
        "family": pa.array([family for _, family, _ in records], pa.string()),
        "feed": pa.array([r.feed for _, _, r in records], pa.string()),
        "record_id": pa.array([r.record_id for _, _, r in records], pa.string()),
        "code": pa.array([r.code for _, _, r in records], pa.string()),
        "rule": pa.array([r.rule for _, _, r in records], pa.string()),
        "quantity": pa.array([r.quantity for _, _, r in records], pa.int64()),
        "unit_price": pa.array([r.unit_price for _, _, r in records], pa.decimal128(18, 6))})


def discard_analytics(con, month: str) -> None:
    """Removes the per-month analytic rows of a month whose issue failed before its commit
    (a failed staged check, a PDF worker's error). The AHT evaluations stay: they are per
    completed quarter and were already there from the issue of its last month, rewritten
    with the same rule. Best effort: the failure that led here is what the user sees."""
    try:
        con.execute("begin transaction")
        for table in OUTPUT_TABLES:
            if sqlfiles.value(con, "status/table_exists", {"t": table}):
                con.execute(_for_table("publish/delete_month", table), {"m": month})
        con.execute("commit")
    except Exception:  # noqa: BLE001 - never hide the original failure behind a clean-up's
        with contextlib.suppress(Exception):
            con.execute("rollback")


AHT_COLUMNS = ("quarter", "subscriber_id", "interactions", "handle_s", "actual_s", "aht_old", "aht_new",
               "deviation", "decision")


def write_aht_evaluations(con, rows_: list[dict], quarters: list[str]) -> None:
    """Delete-then-insert the evaluations of the given (completed) quarters."""
    model.migrate(con, ("aht_evaluations",))
    sqlfiles.run(con, "tables/aht_evaluations")
    sqlfiles.apply_descriptions(con, ("aht_evaluations",))
    ints = {"interactions", "handle_s", "aht_old", "aht_new"}
    table = pa.table({c: pa.array([r[c] for r in rows_], pa.int64() if c in ints else pa.string())
                      for c in AHT_COLUMNS})
    con.execute("begin transaction")
    try:
        con.execute(sqlfiles.sql("publish/delete_quarters"), {"quarters": quarters})
        con.register("aht_arrow", table)
        sqlfiles.run(con, "publish/insert_aht_evaluations")
        con.unregister("aht_arrow")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def anomaly_rows(bill: MonthBill) -> list[dict]:
    return [{"kind": a.kind, "rule": a.rule, "subscriber_id": a.subscriber_id, "record": a.record,
             "message": a.message} for a in bill.anomalies]


def error_rows(bill: MonthBill) -> list[dict]:
    return [{"subscriber_id": e.subscriber_id, "family": e.family, "rule": e.rule, "message": e.message}
            for e in bill.errors]


def write_files(directory: Path, bill: MonthBill, pdf: bool = True, workers: int = 1, say=None) -> list[str]:
    """Every file of the month into `directory`; returns their names. Overwrites only
    these names (the folder is a staging or a draft folder that ccmeter owns)."""
    with MonthFiles(directory, bill, pdf=pdf, workers=workers, say=say) as files:
        files.write_own()
        return files.finish()


class MonthFiles:
    """Writing a month's files, the PDFs rendered by worker processes meanwhile: entering
    starts the workers on the PDFs; `write_own` writes the JSON, summary and anomaly files
    in this process while they render (anything else the caller does in the block runs
    beside them too); `finish` waits for the PDFs (renders them here with one worker) and
    makes every file durable and visible at once (DurableBatch: no file appears under its
    name before all its bytes are on disk). Leaving the block by an exception stops the
    workers and removes the temporary files; nothing is visible then."""

    def __init__(self, directory: Path, bill: MonthBill, pdf: bool = True, workers: int = 1, say=None):
        self.directory, self.bill, self.pdf, self.workers, self.say = Path(directory), bill, pdf, workers, say
        self.batch = DurableBatch()
        self.names: list[str] = []
        self._pool = None
        self._rendered = None  # the workers' results, in submission order

    def __enter__(self) -> "MonthFiles":
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.pdf and self.workers > 1 and len(self.bill.specs) >= 50:
            self._pool, self._rendered = _start_pdf_workers(self.directory, self.bill.specs, self.workers)
        return self

    def write_own(self) -> None:
        """JSON, summary and anomaly files (temporary names until `finish`)."""
        from metering.render.summary import write_anomalies, write_anomaly_summary, write_json, write_summary
        bill, directory, write = self.bill, self.directory, self.batch.write
        for spec in bill.specs:
            sid = safe_subscriber_id(spec["subscriber_id"])
            write_json(directory / f"{sid}.json", spec, write=write)
            self.names.append(f"{sid}.json")
        write_summary(directory, bill.specs, error_rows(bill), write=write)
        anomalies = anomaly_rows(bill)
        write_anomalies(directory, anomalies, write=write)
        write_anomaly_summary(directory, anomalies, write=write)
        self.names += ["summary.csv", "summary.xlsx", "anomalies.csv", "anomalies-summary.csv"]

    def finish(self) -> list[str]:
        """Waits for the PDFs, makes every file durable and visible; returns the names."""
        if self.pdf:
            if self._pool is None:
                render_pdfs(self.directory, self.bill.specs, 1, say=self.say, write=self.batch.write)
            else:
                pool, self._pool = self._pool, None
                _collect_pdfs(pool, self._rendered, self.directory, self.batch,
                              Progress("PDFs", len(self.bill.specs), self.say))
            self.names += [f"{safe_subscriber_id(s['subscriber_id'])}.pdf" for s in self.bill.specs]
        self.batch.commit()
        return sorted(self.names)

    def __exit__(self, kind, *_) -> None:
        if kind is None:
            return
        if self._pool is not None:
            _stop_pdf_workers(self._pool, self.directory)
        self.batch.discard()


class Progress:
    """Counts done items and calls `say` at every tenth of the way with the count and an
    estimate of the time left (long steps must not be silent)."""

    def __init__(self, what: str, total: int, say=None):
        import time
        self.what, self.total, self.say, self.done, self.t0 = what, total, say, 0, time.perf_counter()
        self.next_tenth = 1

    def step(self, n: int = 1) -> None:
        import time
        self.done += n
        if self.say is None or self.total < 100:
            return
        while self.done * 10 >= self.next_tenth * self.total and self.next_tenth <= 10:
            elapsed = time.perf_counter() - self.t0
            left = elapsed / self.done * (self.total - self.done)
            self.say(f"{self.what}: {self.done:,}/{self.total:,} ({self.next_tenth * 10} %), "
                     f"about {left:.0f} s left")
            self.next_tenth += 1


def render_pdfs(month_dir: Path, specs: list[dict], workers: int = 1, say=None, write=None) -> None:
    """The PDF of every specification into `month_dir`: each written atomically, or by
    `write(path, data)` when given (a DurableBatch's)."""
    from metering.render.pdf import pdf_bytes
    if workers <= 1 or len(specs) < 50:
        progress = Progress("PDFs", len(specs), say)
        for spec in specs:
            (write or atomic_write)(month_dir / f"{safe_subscriber_id(spec['subscriber_id'])}.pdf", pdf_bytes(spec))
            progress.step()
        return
    pool, rendered = _start_pdf_workers(month_dir, specs, workers)
    with DurableBatch() as batch:
        _collect_pdfs(pool, rendered, month_dir, batch, Progress("PDFs", len(specs), say))


def _start_pdf_workers(month_dir: Path, specs: list[dict], workers: int):
    """A pool of `workers` processes rendering every PDF into a temporary file; returns
    the pool and the iterator of (temporary file, final name) in submission order."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    # spawn, not fork: the parent holds DuckDB's threads and a large heap
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_die_with_parent, initargs=(os.getpid(),))
    # the longest documents (itemised appendices) first, so no worker ends up with them last
    ordered = sorted(specs, key=lambda s: -(len(s.get("appendix") or []) + len(s.get("actions") or [])
                                             + len(s.get("tasks") or []) + len(s["lines"])))
    return pool, pool.map(_render_one, [(str(month_dir), s) for s in ordered], chunksize=8)


def _collect_pdfs(pool, rendered, month_dir: Path, batch: DurableBatch, progress: Progress) -> None:
    """Waits for every PDF of the workers and hands its temporary file to `batch`; on
    any failure the workers are stopped and their temporary files removed."""
    try:
        for tmp, name in rendered:
            batch.adopt(tmp, month_dir / name)
            progress.step()
    except BaseException:
        _stop_pdf_workers(pool, month_dir)
        raise
    pool.shutdown()


def _stop_pdf_workers(pool, month_dir: Path) -> None:
    pool.shutdown(wait=True, cancel_futures=True)
    for tmp in month_dir.glob(f".*{TMP_MARK}*.tmp"):  # PDFs written but never handed over
        tmp.unlink(missing_ok=True)


def _die_with_parent(parent: int) -> None:
    """A PDF worker ends when the billing process does (even by kill -9): Linux's
    parent-death signal, and a check for a parent already gone before it was set."""
    import ctypes
    import signal
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: nothing to set
        return
    if os.getppid() != parent:
        os._exit(1)


def _render_one(arg) -> tuple[str, str]:
    """In a worker: the PDF into a temporary file beside its final name (the parent
    makes it durable and renames it); returns both names."""
    from metering.render.pdf import pdf_bytes
    month_dir, spec = arg
    name = f"{safe_subscriber_id(spec['subscriber_id'])}.pdf"
    return write_temporary(Path(month_dir) / name, pdf_bytes(spec)), name
