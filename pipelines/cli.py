"""The `ccmeter` command line: the same domain functions the Dagster assets call,
with progress output for finance and scripts. User mistakes end with a clear message
and exit code 2, never a bare traceback."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMO_MONTH = "2026-10"


def _say(msg: str) -> None:
    print(msg, flush=True)


def _workspace():
    from metering.workspace import Workspace
    return Workspace.from_env().ensure()


def _connect(ws, read_only: bool = False):
    """A writer's connection to the work database (`.ccmeter/work.duckdb`), waiting
    (CCMETER_LOCK_TIMEOUT) while another run holds it; `_finish` publishes it as
    warehouse.duckdb. Read-only (status, quarantine): the published warehouse, which no
    run ever holds; one that does not exist yet reads as empty (an in-memory database
    with the tables), and nothing is ever written."""
    from metering.db import connect_waiting
    from metering.snapshot import adopt_published, clean
    if read_only and not ws.warehouse.exists():
        import duckdb
        con = duckdb.connect(":memory:")
        con.execute("set timezone = 'UTC'")
        return con
    if not read_only:
        adopt_published(ws)  # a workspace from before the work database
        clean(ws)
    return connect_waiting(ws.warehouse if read_only else ws.work_db, read_only=read_only,
                           on_wait=lambda msg: print(f"ccmeter: {msg}", file=sys.stderr, flush=True),
                           memory_limit=os.environ.get("CCMETER_MEMORY_LIMIT"),
                           temp_directory=os.environ.get("CCMETER_TEMP_DIR"))


def _finish(con, ws) -> None:
    """Ends a run that wrote: publishes the work database as warehouse.duckdb for the
    analysts (atomically), then closes it."""
    from metering.snapshot import publish
    try:
        publish(con, ws)
    finally:
        con.close()


def _read_workspace():
    """The workspace as it is, for commands that only read (nothing created)."""
    from metering.workspace import Workspace
    return Workspace.from_env()


def _checks_stopped(exc, what: str) -> int:
    _say(f"{what} stopped: the loaded data is unsafe to bill (blocking checks failed):")
    for problem in exc.problems:
        _say(f"  - {problem}")
    return 1


def cmd_ingest(args) -> int:
    """`ingest_job`: load, check, route, publish."""
    from metering.limits import Limits
    from pipelines.runner import ChecksFailed, run_job
    Limits.from_env()  # a bad limit is reported before anything is opened
    ws = _workspace()
    t0 = time.perf_counter()
    try:
        run_job(ws, "ingest_job", say=_progress_line)
    except ChecksFailed as exc:
        return _checks_stopped(exc, "Ingestion loaded the files, but billing would be")
    _say(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("ccmeter")
    except PackageNotFoundError:  # pragma: no cover - running from a plain checkout
        return "0+unknown"


def cmd_bill(args) -> int:
    """`bill_month_job` (or the draft / unchecked variant) for the month, in process."""
    from metering.catalog import load_catalog
    from metering.clock import check_ended
    from metering.limits import Limits
    from metering.manifest import read_manifest
    from metering.periods import Month
    from pipelines.runner import ChecksFailed, run_job
    month = Month.parse(args.month)
    load_catalog()  # a broken tariff stops the run before anything is loaded
    Limits.from_env()
    ws = _workspace()
    if not args.draft and read_manifest(ws, str(month)) is None:
        check_ended(month)  # an open or future month is refused before anything is loaded
    t0 = time.perf_counter()
    name = ("draft" if args.draft else "bill") + "_month" + ("_unchecked" if args.skip_checks else "") + "_job"
    step = "draft_specifications" if args.draft else "issue_month"
    config = {step: {"config": {"pdf": not args.no_pdf, "workers": args.workers}}}
    try:
        outcome = run_job(ws, name, partition=str(month), op_config=config, say=_progress_line)
    except ChecksFailed as exc:
        return _checks_stopped(exc, "Billing")
    if args.draft:
        meta = outcome.metadata["draft_specifications"]
        _say("")
        _say(f"Draft of {month} in {time.perf_counter() - t0:.1f} s: {meta['specifications']} specification(s) "
             "(unnumbered, nothing recorded)")
        for cur, total in meta["totals"].items():
            _say(f"  total {cur}: {total}")
        _say(f"  files: {meta['directory']}")
        return 0
    meta = outcome.metadata["specifications"]
    if meta["already_issued"]:
        _report_issued(month, meta)
        return 0
    anomalies = outcome.metadata["anomalies"]
    if not meta["specifications"]:
        _say(f"warning: nothing was billed for {month}: no subscriber has a line, a ledger movement or an "
             "adjustment that month (is the inbox complete?)")
    _say("")
    _say(f"Issued {month} in {time.perf_counter() - t0:.1f} s")
    _say(f"  specifications: {meta['specifications']} ({meta['credit_notes']} credit note(s); "
         f"{meta['adjusted_subscribers']} with adjustments of earlier months)")
    for cur, total in meta["totals"].items():
        _say(f"  total {cur}: {total}")
    _say(f"  contract errors: {meta['contract_errors']} (subscribers not billed; see anomalies.csv)")
    _say(f"  anomalies: {anomalies['anomalies']}")
    _say(f"  quarantined records (all time): {meta['quarantined_records']}  (ccmeter quarantine)")
    _say(f"  files: {meta['directory']} (manifest.json lists them; `ccmeter verify {month}` checks them)")
    _say(f"  Dagster run: {outcome.run_id} (dagster dev shows it)")
    return 0


def _progress_line(msg: str, level: str) -> None:
    """A step's heading as it comes, the lines under it indented, warnings on stderr."""
    if level == "warning":
        print(f"ccmeter: {msg}", file=sys.stderr, flush=True)
    else:
        _say(f"  {msg}" if level == "detail" else msg)


def _report_issued(month, meta: dict) -> None:
    _say("")
    _say(f"{month} was issued at {meta['issued_at']}; nothing was changed "
         "(an issued month is final: corrections go on the next issued month)")
    _say(f"  specifications: {meta['specifications']}")
    for cur, total in meta["totals"].items():
        _say(f"  total {cur}: {total}")
    late = meta["late_records"]
    _say(f"  records that arrived for {month} after it was issued: {late}"
         + (" (billed as adjustments when a later month is issued)" if late else ""))
    _say(f"  files: {meta['directory']}")


def cmd_verify(args) -> int:
    from metering.periods import Month
    from metering.verify import verify
    ws = _workspace()
    months = [str(Month.parse(args.month))] if args.month else None
    checked, problems = verify(ws, months)
    if not checked:
        _say("No issued month to verify." if not months else f"{months[0]} is not issued.")
        return 1 if months else 0
    for p in problems:
        _say(f"  {p}")
    if problems:
        _say(f"verify: {len(problems)} problem(s) in {', '.join(checked)}")
        return 1
    _say(f"verify: {', '.join(checked)}: every issued file matches its manifest and the warehouse")
    return 0


def cmd_rebuild(args) -> int:
    from assets.ingestion import describe
    from metering.rebuild import rebuild
    ws = _workspace()
    _say("Rebuilding the warehouse from the inbox and the issued files")
    backup, results = rebuild(ws, progress=lambda r: _say(f"  {describe(r)}"), publish=_finish,
                              on_wait=lambda msg: print(f"ccmeter: {msg}", file=sys.stderr, flush=True))
    if backup:
        _say(f"  the previous warehouse was kept as {backup}")
    _say(f"  {len(results)} inbox file(s) loaded")
    return cmd_verify(argparse.Namespace(month=None))


def cmd_status(args) -> int:
    from metering.ingest import feed_status, rejected_entries
    ws = _read_workspace()
    con = _connect(ws, read_only=True)
    try:
        status = feed_status(con)
        rejected = rejected_entries(con)
    finally:
        con.close()
    ok_all = all(s["read"] == s["loaded"] + s["quarantined"] + s["duplicates"] for s in status.values())
    if args.json:
        print(json.dumps({"feeds": status, "rejected_entries": rejected}, indent=2))
        return 0 if ok_all else 1
    _say(f"Workspace {ws.root}")
    _say(f"{'feed':<14}{'files':>7}{'read':>12}{'loaded':>12}{'quarantined':>13}{'duplicates':>12}  reconciles")
    for feed, s in status.items():
        ok = s["read"] == s["loaded"] + s["quarantined"] + s["duplicates"]
        _say(f"{feed:<14}{s['files']:>7}{s['read']:>12}{s['loaded']:>12}{s['quarantined']:>13}{s['duplicates']:>12}"
             f"  {'yes' if ok else 'NO'}")
    if rejected:
        _say(f"{len(rejected)} inbox entr{'y is' if len(rejected) == 1 else 'ies are'} not a readable file "
             f"(quarantined whole; ccmeter quarantine):")
        for e in rejected:
            _say(f"  {e['path']}: {e['reason']}")
    return 0 if ok_all else 1


def cmd_quarantine(args) -> int:
    from metering import sqlfiles
    from metering.db import rows
    from metering.ingest import create_tables
    ws = _read_workspace()
    con = _connect(ws, read_only=True)
    try:
        create_tables(con)
        if args.summary:
            for feed, rule, n in rows(con, sqlfiles.sql("status/quarantine_summary")):
                _say(f"{feed:<14}{rule:<28}{n:>8}")
            return 0
        found = rows(con, sqlfiles.sql("status/quarantine_listing"), {"feed": args.feed, "limit": args.limit})
    finally:
        con.close()
    for feed, file, line, rule, reason in found:
        where = f"{file}:{line}" if line is not None else f"{file} (whole file)"
        _say(f"{where}  [{rule}]  {reason[:300]}")
    return 0


def cmd_tariffs(args) -> int:
    from metering.catalog import FAMILIES, load_family
    from metering.tariff_table import render_family
    if args.action == "check":
        for family in FAMILIES:
            load_family(family)
            _say(f"  {family}: ok")
        _say("All tariff files are valid.")
        return 0
    if args.family not in FAMILIES:
        raise ValueError(f"unknown tariff family {args.family!r}; known: {', '.join(FAMILIES)}")
    _say(render_family(load_family(args.family)))
    return 0


def cmd_demo_data(args) -> int:
    from synthetic import generate_workspace
    ws = _workspace()
    size: str | int = int(args.size) if str(args.size).isdigit() else args.size
    info = generate_workspace(ws.root, months=args.months, size=size, fmt=args.format, seed=args.seed,
                              bad_files=not args.no_bad_files)
    _say(f"Demo workspace written to {ws.root}")
    counts = info.get("counts", info) if isinstance(info, dict) else {}
    for k, v in counts.items():
        if isinstance(v, int):
            _say(f"  {k}: {v}")
    return 0


def cmd_demo(args) -> int:
    """Bills the demo month on a demo workspace (created when the inbox is empty)."""
    ws = _workspace()
    if not any(p.is_file() for p in ws.inbox.rglob("*")):
        _say(f"Creating a demo workspace in {ws.root}")
        from synthetic import generate_workspace
        generate_workspace(ws.root, months=["2026-08", "2026-09", DEMO_MONTH], size="small")
    args.month = DEMO_MONTH
    args.draft = False
    return cmd_bill(args)


def cmd_docs(args) -> int:
    """Writes the warehouse's data dictionary as Markdown: descriptions and lineage from
    sql/descriptions.yaml, column types from the workspace's warehouse when it has one."""
    import duckdb

    from metering.db import connect
    from metering.docs import render
    from metering.workspace import Workspace
    ws = Workspace.from_env()
    output = Path(args.output) if args.output else ws.root / "data-dictionary.md"
    con = None
    if ws.warehouse.is_file():
        try:
            con = connect(ws.warehouse, read_only=True)
        except duckdb.Error as exc:
            print(f"ccmeter: cannot read {ws.warehouse} ({' '.join(str(exc).split())[:200]}); "
                  "column types come from sql/descriptions.yaml", file=sys.stderr)
    try:
        text = render(con, links_to=args.links_to)
    finally:
        if con is not None:
            con.close()
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        tmp = output.with_name(f".{output.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(output)
    except OSError as exc:
        if "tmp" in locals():
            tmp.unlink(missing_ok=True)
        print(f"ccmeter: cannot write {output}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    _say(f"Data dictionary written to {output} (types from "
         f"{'the warehouse' if con is not None else 'sql/descriptions.yaml'})")
    return 0


def cmd_bench(args) -> int:
    from benchmarks.bench import run_benchmark
    return run_benchmark(args)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _default_workers() -> int:
    text = os.environ.get("CCMETER_WORKERS", "")
    if text.strip():
        try:
            return _positive_int(text)
        except argparse.ArgumentTypeError as exc:
            print(f"ccmeter: CCMETER_WORKERS={text!r}: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    return os.cpu_count() or 1


FEED_NAMES = ("subscribers", "subscriptions", "calls", "interactions", "worklogs")
ENVIRONMENT = """environment:
  CCMETER_HOME             the workspace (default ./workspace): inbox/, specifications/, warehouse.duckdb
  CCMETER_TARIFFS          the tariff folder (default: tariffs/ of the installation)
  CCMETER_TODAY            YYYY-MM-DD: the date that decides which months have ended (tests, backfills);
                           default today in Europe/Amsterdam
  CCMETER_LOOKBACK_MONTHS  issued months re-rated for late data when a month is issued (default 12)
  CCMETER_WORKERS          processes rendering PDFs (default: the number of cores)
  CCMETER_MEMORY_LIMIT     DuckDB memory limit, e.g. 8GB; CCMETER_TEMP_DIR: where DuckDB spills
  CCMETER_LOCK_TIMEOUT     seconds a run waits for another run to finish (default 300)
  CCMETER_MAX_DURATION_S, CCMETER_MAX_UTC_OFFSET_S, CCMETER_MAX_ID_LENGTH, CCMETER_MAX_PRICE
                           plausibility limits of inputs and tariffs (README, "Bad input")
  CCMETER_DEBUG=1          show tracebacks (as --debug)

exit codes: 0 done, 1 stopped by a check (nothing issued), 2 a user mistake, 3 a damaged
warehouse, 4 the warehouse busy past the lock timeout, 5 disk full / read-only / no permission"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ccmeter", description="Contact-centre usage metering and billing: loads the inbox of a workspace, "
        "issues monthly specifications (PDF, JSON, e-invoices) and keeps a DuckDB warehouse for analysts.",
        epilog=ENVIRONMENT, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    p.add_argument("--debug", action="store_true", default=bool(os.environ.get("CCMETER_DEBUG")),
                   help="show the full traceback of a failure (also CCMETER_DEBUG=1)")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("ingest", help="load new inbox files into the warehouse")
    s.set_defaults(func=cmd_ingest)
    s = sub.add_parser("bill", help="bill a month (YYYY-MM): ingest, rate, write specifications")
    s.add_argument("month")
    s.add_argument("--no-pdf", action="store_true", help="write JSON and summaries only")
    s.add_argument("--draft", action="store_true",
                   help="write what issuing the month now would give into specifications/drafts/YYYY-MM/ "
                        "(unnumbered, DRAFT on every page, nothing recorded); any month, open ones too")
    s.add_argument("--skip-checks", action="store_true",
                   help="skip the blocking data checks (reconciliation, Great Expectations) before rating")
    s.add_argument("--workers", type=_positive_int, default=_default_workers(),
                   help="processes rendering PDFs (default: the number of cores; used from 50 specifications)")
    s.set_defaults(func=cmd_bill)
    s = sub.add_parser("verify", help="check every issued file against its manifest (sha256) and the "
                                      "warehouse's issued lines; exit 1 with the list of missing or changed files")
    s.add_argument("month", nargs="?", help="one month (YYYY-MM); default: every issued month")
    s.set_defaults(func=cmd_verify)
    s = sub.add_parser("rebuild", help="rebuild the warehouse from the inbox and the issued files (after a "
                                       "damaged or lost warehouse); the old one is kept beside it")
    s.set_defaults(func=cmd_rebuild)
    s = sub.add_parser("demo", help="create the demo workspace if empty and bill the demo month")
    s.add_argument("--no-pdf", action="store_true")
    s.add_argument("--skip-checks", action="store_true")
    s.add_argument("--workers", type=_positive_int, default=_default_workers(),
                   help="processes rendering PDFs (default: CCMETER_WORKERS or the number of cores)")
    s.set_defaults(func=cmd_demo)
    s = sub.add_parser("demo-data", help="write a generated demo workspace")
    s.add_argument("--months", nargs="+", default=[DEMO_MONTH])
    s.add_argument("--size", default="small", help="tiny, small or a number of call legs per month")
    s.add_argument("--format", choices=["csv", "parquet"], default="csv")
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--no-bad-files", action="store_true")
    s.set_defaults(func=cmd_demo_data)
    s = sub.add_parser("status", help="per feed: files, records read, loaded, quarantined, duplicates")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_status)
    s = sub.add_parser("quarantine", help="list quarantined records and their reasons")
    s.add_argument("--feed", choices=list(FEED_NAMES), help="only this feed")
    s.add_argument("--limit", type=_positive_int, default=200, help="at most this many records (default 200)")
    s.add_argument("--summary", action="store_true", help="counts per feed and rule")
    s.set_defaults(func=cmd_quarantine)
    s = sub.add_parser("tariffs", help="check or show the tariff catalog")
    s.add_argument("action", choices=["check", "show"])
    s.add_argument("family", nargs="?")
    s.set_defaults(func=cmd_tariffs)
    s = sub.add_parser("docs", help="write the warehouse's data dictionary (Markdown): every table, view and "
                                    "column with its type, description and the files that make it")
    s.add_argument("--output", help="file to write (default: $CCMETER_HOME/data-dictionary.md)")
    s.add_argument("--links-to", default="", metavar="PREFIX",
                   help="link each lineage file as PREFIX/path (e.g. ../ for a copy in docs/ of the repository)")
    s.set_defaults(func=cmd_docs)
    s = sub.add_parser("bench", help="benchmark: generate a synthetic month and time each stage")
    s.add_argument("--calls", type=_positive_int, default=1_000_000, help="call legs of the synthetic month")
    s.add_argument("--subscribers", type=_positive_int, default=10_000, help="subscribers of the synthetic month")
    s.add_argument("--json", dest="json_path")
    s.add_argument("--memory-limit")
    s.add_argument("--stages", help="comma-separated optional stages to run besides ingest and rating "
                   "(usage, answering, files, publish, snapshot; default: all; '' for none)")
    s.set_defaults(func=cmd_bench)
    return p


EXIT_USER = 2        # a user mistake: bad tariff, bad month, bad setting
EXIT_WAREHOUSE = 3   # the warehouse is damaged or cannot be opened
EXIT_BUSY = 4        # another process held the warehouse past CCMETER_LOCK_TIMEOUT
EXIT_STORAGE = 5     # full disk, read-only workspace, no permission
EXIT_INTERNAL = 70   # a fault of ccmeter itself (--debug shows the traceback)


def _fail(message: str, code: int) -> int:
    print(f"ccmeter: {message}", file=sys.stderr, flush=True)
    return code


def _duckdb_words(exc: BaseException) -> str:
    """DuckDB's message without its hint lines and links (one line for the user)."""
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    line = line.split(" See also http")[0].split(" Hint:")[0]
    for prefix in ("IO Error: ", "Invalid Input Error: ", "Catalog Error: "):
        if line.startswith(prefix):
            line = line[len(prefix):]
    return line.strip()


def main(argv: list[str] | None = None) -> int:
    """Runs a command. Every failure a user can meet ends in one line on stderr and an
    exit code, never a traceback (`--debug` shows it): 2 a user mistake, 3 a damaged
    warehouse, 4 a warehouse held by another process past the lock timeout, 5 a full
    disk / read-only workspace / missing permission, 70 a fault of ccmeter itself."""
    import duckdb

    from metering.catalog import CatalogError
    from metering.db import (
        WarehouseError,
        damaged_message,
        is_damage_error,
        is_lock_error,
        lock_holder,
        storage_problem,
    )
    from metering.einvoice.seller import SellerError
    from metering.manifest import IssueError
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        if args.debug:
            raise
        return _fail("interrupted", 130)
    except Exception as exc:
        if args.debug:
            raise
        if isinstance(exc, CatalogError):
            return _fail(f"tariff error: {exc}", EXIT_USER)
        if isinstance(exc, SellerError):
            return _fail(f"seller configuration error: {exc}", EXIT_USER)
        if isinstance(exc, IssueError):
            return _fail(str(exc), 1)
        if isinstance(exc, WarehouseError):
            return _fail(str(exc), exc.exit_code)
        if is_damage_error(exc):
            from metering.workspace import Workspace
            return _fail(damaged_message(Workspace.from_env().warehouse), EXIT_WAREHOUSE)
        if is_lock_error(exc):
            pid = lock_holder(exc)
            return _fail(f"the warehouse is in use by another process{f' (PID {pid})' if pid else ''}; "
                         f"try again when it has finished", EXIT_BUSY)
        problem = storage_problem(exc)
        if problem is not None:
            where = getattr(exc, "filename", None)
            detail = f" ({where})" if where else (f" ({_duckdb_words(exc)})" if isinstance(exc, duckdb.Error) else "")
            return _fail(f"cannot write: {problem}{detail}; nothing was issued half "
                         f"(free space or fix permissions, then run again)", EXIT_STORAGE)
        if isinstance(exc, FileNotFoundError):
            return _fail(f"{exc.strerror}: {exc.filename}" if exc.filename else str(exc), EXIT_USER)
        if isinstance(exc, ValueError):
            return _fail(str(exc), EXIT_USER)
        if isinstance(exc, duckdb.Error):
            return _fail(f"warehouse error: {_duckdb_words(exc)} (--debug shows the details)", EXIT_WAREHOUSE)
        if isinstance(exc, OSError):
            return _fail(f"{exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}", EXIT_STORAGE)
        return _fail(f"internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
                     f"(run with --debug for the traceback)", EXIT_INTERNAL)


if __name__ == "__main__":
    sys.exit(main())
