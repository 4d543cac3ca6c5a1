"""Great Expectations validation of the loaded warehouse tables (architecture.md: the
suites kept in the repo validate what ingestion loaded and gate billing).

One suite per feed, `gx/<feed>.json`, checks the table the feed loads into against
data-contract.md. GX runs through its SQL datasource on DuckDB (duckdb-engine), so every
expectation is a query in DuckDB: nothing is pulled into pandas, whatever the table size.
The GX context is ephemeral (nothing is written to the source tree or the workspace).
Each expectation has a severity: `critical` (a billing input is wrong: billing must
wait) or `warning` (reported, bills anyway). Regex rules are `UnexpectedRowsExpectation`s
with DuckDB's `regexp_full_match`, since GX's regex expectation does not support DuckDB.

Outcomes go to the warehouse table `validation_results` (latest run per feed). DuckDB
allows one writer: GX opens the warehouse read-only, and the results are written after
GX's connection is closed. Call this while this process holds no other connection to
the warehouse (DuckDB refuses a second connection with a different configuration).

Plain functions, no Dagster import; `great_expectations` (about 2 s to import) is
imported on first use only.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from metering import sqlfiles
from metering.catalog import PRODUCT_CODES
from metering.db import connect
from metering.feeds import FEEDS, ORDER

SUITES_DIR = Path(__file__).resolve().parent.parent / "gx"
CRITICAL = "critical"  # the severity that holds billing back; `warning` only reports



@dataclass
class ValidationOutcome:
    feed: str
    success: bool
    results: list[dict] = field(default_factory=list)  # expectation, success, unexpected_count, message, severity

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.results if not r["success"]]

    @property
    def critical_failed(self) -> list[dict]:
        return [r for r in self.failed if r["severity"] == CRITICAL]


# --- the one workaround ------------------------------------------------------------

class _DuckDBDialectName(str):
    """"duckdb" shaped like a member of GX's dialect enum: equal to the engine's dialect
    name (a str) and with a `.value`, as GX's persisted-connection check reads both."""

    @property
    def value(self) -> str:
        return str(self)


def treat_duckdb_as_persisted_connection_dialect() -> None:
    """THE workaround for GX over DuckDB (stack-facts.md, "Traps found").

    GX's SQL execution engine runs each metric query in `with engine.connect()` and
    reads the rows after that block has closed the connection. duckdb-engine drops the
    pending result when its connection goes back to the pool, so every expectation
    fails with `MetricResolutionError: list index out of range` (`len(res[0])` in
    `sqlalchemy_execution_engine.py`). GX already keeps one connection open for the
    whole validation for some dialects (sqlite, mssql, ... in
    `_PERSISTED_CONNECTION_DIALECTS`: a StaticPool engine and one persisted
    connection); adding duckdb to that tuple makes the results readable. Idempotent,
    and a no-op once GX lists duckdb itself. tests/test_validation.py proves both that
    it is still needed and that it works."""
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine

    dialects = engine._PERSISTED_CONNECTION_DIALECTS
    if not any(d == "duckdb" for d in dialects):
        # GX types the tuple as exactly its own dialects: adding one is the point of this patch
        engine._PERSISTED_CONNECTION_DIALECTS = (*dialects, _DuckDBDialectName("duckdb"))  # type: ignore[assignment]


# --- suites ------------------------------------------------------------------------

# values a suite takes from the tariff catalog rather than lists of its own, written
# `{"$catalog": "<name>"}` in gx/<feed>.json: a new family's products need no suite edit
CATALOG_VALUES = {"product_codes": lambda: sorted(PRODUCT_CODES)}


@lru_cache(maxsize=None)
def suite_document(feed: str) -> dict:
    """The suite of a feed as kept in the repo (gx/<feed>.json), with the values it
    takes from the catalog filled in."""
    if feed not in FEEDS:
        raise ValueError(f"unknown feed {feed!r}: one of {', '.join(ORDER)}")
    doc = json.loads((SUITES_DIR / f"{feed}.json").read_text(encoding="utf-8"))
    if doc.get("meta", {}).get("table") != FEEDS[feed].table:
        raise ValueError(f"gx/{feed}.json: meta.table must be {FEEDS[feed].table!r}")
    for e in doc["expectations"]:
        for key, value in e.get("kwargs", {}).items():
            if isinstance(value, dict) and "$catalog" in value:
                if value["$catalog"] not in CATALOG_VALUES:
                    raise ValueError(f"gx/{feed}.json: {e['type']}.{key}: unknown catalog value "
                                     f"{value['$catalog']!r} (one of {', '.join(CATALOG_VALUES)})")
                e["kwargs"][key] = CATALOG_VALUES[value["$catalog"]]()
    return doc


def _suite(gx, doc: dict):
    suite = gx.ExpectationSuite(name=doc["name"], expectations=[dict(e) for e in doc["expectations"]],
                                meta=dict(doc.get("meta", {})))
    # GX only logs an expectation it cannot build and leaves it out: fail loudly instead.
    if len(suite.expectations) != len(doc["expectations"]):
        raise ValueError(f"{doc['name']}: {len(doc['expectations']) - len(suite.expectations)} "
                         "expectation(s) could not be built (see the log)")
    return suite


def _context(gx):
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False, progress_bars=ProgressBarsConfig(globally=False))
    return gx.get_context(mode="ephemeral", project_config=config)


# --- validation --------------------------------------------------------------------

def validate_feed(warehouse_path: str | Path, feed: str, record: bool = True) -> ValidationOutcome:
    """Validates the table one feed loads into; stores the results unless `record` is False."""
    return validate_feeds(warehouse_path, [feed], record=record)[feed]


def validate_feeds(warehouse_path: str | Path, feeds=ORDER, record: bool = True) -> dict[str, ValidationOutcome]:
    """Validates several feeds with one GX context and one read-only connection."""
    import great_expectations as gx
    import sqlalchemy
    from sqlalchemy.engine import URL

    treat_duckdb_as_persisted_connection_dialect()
    path = Path(warehouse_path).resolve()
    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: ingest first")
    docs = {feed: suite_document(feed) for feed in feeds}
    context = _context(gx)
    source = context.data_sources.add_sql(
        "warehouse", connection_string=URL.create("duckdb", database=str(path)).render_as_string(),
        kwargs={"connect_args": {"read_only": True}})
    outcomes: dict[str, ValidationOutcome] = {}
    try:
        tables = set(sqlalchemy.inspect(source.get_engine()).get_table_names())
        for feed, doc in docs.items():
            table = doc["meta"]["table"]
            if table not in tables:
                outcomes[feed] = ValidationOutcome(feed, False, [_result(
                    "table.exists", False, None, f"table {table} is missing: ingest first", CRITICAL)])
                continue
            batch = source.add_table_asset(feed, table_name=table).add_batch_definition_whole_table("all")
            definition = context.validation_definitions.add(gx.ValidationDefinition(
                name=feed, data=batch, suite=context.suites.add(_suite(gx, doc))))
            run = definition.run(result_format="BASIC")
            results = [_summarise(r, _sample(source, table, r)) for r in run.results]
            outcomes[feed] = ValidationOutcome(feed, all(r["success"] for r in results), results)
    finally:
        _release(source)
    if record:
        store_results(path, outcomes.values())
    return outcomes


def _release(source) -> None:
    """Closes GX's engines so that the warehouse file is free for a writer again."""
    try:
        source.get_execution_engine().close()
    finally:
        source.get_engine().dispose()


def _result(expectation: str, success: bool, unexpected: int | None, message: str, severity: str) -> dict:
    return {"expectation": expectation, "success": bool(success), "unexpected_count": unexpected,
            "message": message, "severity": severity}


def _sample(source, table: str, r, n: int = 3) -> list:
    """A few rows a failed SQL expectation found (GX returns them only with result
    format COMPLETE, which would also return every unexpected value of the others)."""
    import sqlalchemy

    cfg = r.expectation_config
    if r.success or cfg.type != "unexpected_rows_expectation" or _exception_message(r.exception_info):
        return []
    query = cfg.kwargs["unexpected_rows_query"].format(batch=f'"{table}"')  # {{ }} -> { }, as GX does
    with source.get_engine().connect() as con:
        sample = sqlfiles.fill("validation/unexpected_rows_sample", query=query, rows=str(int(n)))
        return [dict(row._mapping) for row in con.execute(sqlalchemy.text(sample))]


def _summarise(r, sample: list | None = None) -> dict:
    cfg = r.expectation_config
    name = (cfg.meta or {}).get("rule") or f"{cfg.type}({cfg.kwargs.get('column', '')})"
    severity = getattr(cfg.severity, "value", cfg.severity) or CRITICAL
    description = cfg.description or cfg.type
    result = r.result or {}
    error = _exception_message(r.exception_info)
    if cfg.type == "unexpected_rows_expectation":
        unexpected = result.get("observed_value")
        sample = sample or []
    else:
        unexpected = result.get("unexpected_count")
        sample = result.get("partial_unexpected_list") or []
    if error:
        message = f"{description}: could not be evaluated: {error}"
    elif r.success:
        message = description
    else:
        shown = ", ".join(_short(s) for s in sample[:3])
        message = (f"{description}: {unexpected if unexpected is not None else 'some'} unexpected row(s)"
                   + (f", e.g. {shown}" if shown else ""))
    return _result(name, bool(r.success) and not error,
                   int(unexpected) if isinstance(unexpected, (int, float)) else None, message, severity)


def _exception_message(info) -> str | None:
    if not info:
        return None
    if isinstance(info, dict) and "raised_exception" in info:
        return info.get("exception_message") if info.get("raised_exception") else None
    if isinstance(info, dict):  # keyed by metric
        for value in info.values():
            msg = _exception_message(value)
            if msg:
                return msg
    return None


def _short(value) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "..."


def _connect_for_writing(path, attempts: int = 6):
    """A write connection, waiting briefly while another process (the inbox sensor's
    read-only look at the ledger) holds the file."""
    import time

    import duckdb
    for attempt in range(attempts):
        try:
            return connect(path)
        except duckdb.IOException:
            if attempt == attempts - 1:
                raise
            time.sleep(0.1 * 2 ** attempt)


def store_results(warehouse_path: str | Path, outcomes) -> None:
    """Replaces the stored results of the validated feeds (one writer: call it with no
    other connection to the warehouse open in this process)."""
    outcomes = list(outcomes)
    now = datetime.now(timezone.utc)
    con = _connect_for_writing(warehouse_path)
    try:
        sqlfiles.run(con, "tables/validation_results")
        sqlfiles.apply_descriptions(con, ("validation_results",))
        con.execute("begin transaction")
        for o in outcomes:
            sqlfiles.run(con, "validation/delete_feed_results", {"f": o.feed})
            for r in o.results:
                sqlfiles.run(con, "validation/validation_results_row",
                             {"feed": o.feed, "e": r["expectation"], "s": r["success"], "n": r["unexpected_count"],
                             "m": r["message"], "sev": r["severity"], "t": now})
        con.execute("commit")
    finally:
        con.close()


# --- reconciliation ----------------------------------------------------------------

def reconcile(con) -> dict[str, dict]:
    """Per feed (data-contract.md, "Bad input"): every file's records read = loaded +
    quarantined + duplicates; the rows in the feed's table = records loaded; the
    quarantine holds one row per quarantined record of a readable file and one row per
    unreadable file. Returns per feed the counts and a list of problems (empty: ok)."""
    from metering.ingest import create_tables

    create_tables(con)
    ledger = {feed: (files, read, loaded, q, d, unbalanced, q_readable, unreadable)
              for feed, files, read, loaded, q, d, unbalanced, q_readable, unreadable in sqlfiles.rows(
                  con, "validation/ledger_by_feed")}
    quarantine = {(feed, unreadable): n for feed, unreadable, n in sqlfiles.rows(con, "validation/quarantine_by_feed")}
    out = {}
    for feed in ORDER:
        files, read, loaded, q, d, unbalanced, q_readable, unreadable = ledger.get(feed, (0,) * 8)
        # the table name comes from the feed definition (code)
        table_rows = con.execute(sqlfiles.fill("validation/feed_table_rows", table=FEEDS[feed].table)).fetchall()[0][0]
        problems = []
        if unbalanced:
            problems.append(f"{unbalanced} file(s) where read != loaded + quarantined + duplicates")
        if read != loaded + q + d:
            problems.append(f"read {read} != loaded {loaded} + quarantined {q} + duplicates {d}")
        if table_rows != loaded:
            problems.append(f"table {FEEDS[feed].table} has {table_rows} rows, the ledger says {loaded} loaded")
        if quarantine.get((feed, False), 0) != q_readable:
            problems.append(f"quarantine holds {quarantine.get((feed, False), 0)} records of readable files, "
                            f"the ledger says {q_readable}")
        if quarantine.get((feed, True), 0) != unreadable:
            problems.append(f"quarantine holds {quarantine.get((feed, True), 0)} unreadable files, "
                            f"the ledger says {unreadable}")
        out[feed] = {"files": int(files), "read": int(read or 0), "loaded": int(loaded or 0),
                     "quarantined": int(q or 0), "duplicates": int(d or 0), "table_rows": int(table_rows),
                     "problems": problems}
    return out


# --- specification totals ----------------------------------------------------------

def specification_totals(con, month_dir: str | Path, month: str) -> dict:
    """Specification totals = sum of their lines, in the warehouse (spec_headers against
    spec_lines) and in the JSON files of specifications/<month>/ (subtotal = Σ line
    amounts = Σ VAT bases, total = subtotal + Σ VAT amounts, and the same totals as the
    warehouse). Returns counts, the totals per currency and a list of problems."""
    from decimal import Decimal


    problems: list[str] = []
    headers = {sid: (Decimal(str(sub)), Decimal(str(vat)), Decimal(str(total)), cur)
               for sid, sub, vat, total, cur in sqlfiles.rows(con, "validation/spec_headers_totals", {"m": month})}
    for sid, subtotal, lines_sum, n in sqlfiles.rows(con, "validation/subtotal_mismatches", {"m": month}):
        problems.append(f"{sid}: subtotal {subtotal} != sum of its {n} lines {lines_sum} (warehouse)")
    for sid, (sub, vat, total, _) in headers.items():
        if sub + vat != total:
            problems.append(f"{sid}: subtotal {sub} + VAT {vat} != total {total} (warehouse)")
    files = sorted(p for p in Path(month_dir).glob("*.json") if p.name != "manifest.json") \
        if Path(month_dir).is_dir() else []
    seen = set()
    for path in files:
        spec = json.loads(path.read_text(encoding="utf-8"))
        sid = spec.get("subscriber_id", path.stem)
        seen.add(sid)
        sub = Decimal(spec["subtotal"])
        lines_sum = sum((Decimal(ln["amount"]) for ln in spec["lines"] + (spec.get("adjustments") or [])),
                        Decimal("0"))
        vat_base = sum((Decimal(v["base"]) for v in spec["vat"]), Decimal("0"))
        vat = sum((Decimal(v["amount"]) for v in spec["vat"]), Decimal("0"))
        if lines_sum != sub:
            problems.append(f"{path.name}: subtotal {sub} != sum of lines {lines_sum}")
        if vat_base != sub:
            problems.append(f"{path.name}: VAT bases {vat_base} != subtotal {sub}")
        if sub + vat != Decimal(spec["total"]):
            problems.append(f"{path.name}: subtotal {sub} + VAT {vat} != total {spec['total']}")
        if sid not in headers:
            problems.append(f"{path.name}: no specification of {sid} in spec_headers")
        elif (headers[sid][0], headers[sid][2]) != (sub, Decimal(spec["total"])):
            problems.append(f"{path.name}: totals differ from spec_headers {headers[sid][0]} / {headers[sid][2]}")
    for sid in sorted(set(headers) - seen):
        problems.append(f"{sid}: in spec_headers but no {sid}.json")
    totals: dict[str, Decimal] = {}
    for sub, vat, total, cur in headers.values():
        totals[cur] = totals.get(cur, Decimal("0")) + total
    return {"specifications": len(headers), "files": len(files),
            "totals": {k: str(v) for k, v in sorted(totals.items())}, "problems": problems}
