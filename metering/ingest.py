"""Ingestion of the inbox feeds into the warehouse (data-contract.md).

Each new file is read as text columns, typed and checked by `sql/staging/staging_<feed>.sql`,
and split into loaded records, quarantined records (file, line, rule, reason) and
duplicates. A ledger of loaded files (path, size, sha256, counts) makes a re-dropped
file a no-op. For every file: read = loaded + quarantined + duplicates.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from metering import sqlfiles
from metering.db import rows as _rows, scalar
from metering.catalog import PRODUCT_CODES
from metering.feeds import FEEDS, ORDER, Feed
from metering.workspace import Workspace

ID_PATTERN = r"[A-Za-z0-9_.-]*[A-Za-z0-9_-][A-Za-z0-9_.-]*"
MAX_LINE = 256 * 1024 * 1024

TABLES = ("loaded_files", "quarantine", "calls", "interactions", "worklogs", "subscribers",
          "subscription_versions")


def create_tables(con) -> None:
    for name in TABLES:
        sqlfiles.run(con, f"tables/{name}")
    migrate_subscribers(con)
    sqlfiles.run(con, "tables/subscriptions")
    # `create or replace view` drops the view's comments; new tables have none yet
    sqlfiles.apply_descriptions(con, (*TABLES, "subscriptions"))


def migrate_subscribers(con) -> None:
    """A warehouse made before the e-invoice columns gets them (null for the rows it
    holds); `create table if not exists` alone would leave the old table as it is."""
    from metering.feeds import EINVOICE_COLUMNS
    present = {r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = 'main' "
        "and table_name = 'subscribers'").fetchall()}
    for column in EINVOICE_COLUMNS:
        if column not in present:
            # an identifier of the feed definition (code), checked like any table name
            if not column.isidentifier() or not column.islower():
                raise ValueError(f"not a column name: {column!r}")
            con.execute(sqlfiles.sql("migrations/subscribers_add_column").replace("__column__", column))


@dataclass
class FileResult:
    feed: str
    path: str
    status: str  # loaded | unreadable | skipped
    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    duplicates: int = 0
    reason: str | None = None
    unknown_columns: list[str] = field(default_factory=list)

    @property
    def reconciles(self) -> bool:
        return self.read == self.loaded + self.quarantined + self.duplicates


class UnreadableFile(Exception):
    def __init__(self, reason: str, records: int = 0):
        super().__init__(reason)
        self.reason = reason
        self.records = records


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def inbox_files(ws: Workspace, feed: Feed) -> list[Path]:
    d = ws.feed_dir(feed.name)
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if p.is_file() and not p.name.startswith("."))


def pending_files(con, ws: Workspace) -> list[tuple[str, Path]]:
    """Inbox files not yet in the ledger (by path and size; sha256 decides on load)."""
    seen = {(r[0], r[1]) for r in con.execute("select path, size_bytes from loaded_files").fetchall()}
    out = []
    for name in ORDER:
        for p in inbox_files(ws, FEEDS[name]):
            rel = f"{name}/{p.name}"
            if (rel, p.stat().st_size) not in seen:
                out.append((name, p))
    return out


# --- reading -----------------------------------------------------------------------

def _normalise_header(names: list[str]) -> list[str]:
    out = []
    for i, n in enumerate(names):
        n = n.strip()
        if i == 0:
            n = n.lstrip("\ufeff")
        out.append(n.strip().lower())
    return out


def _count_lines(path: Path) -> tuple[int, bool]:
    n = 0
    last = b""
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n, last == b"\n"


def _read_csv_fast(con, path: Path) -> list[str] | None:
    """DuckDB's reader for clean files: returns the (normalised) header, or None when the
    file needs the careful reader (any irregularity, quoted line breaks, bad bytes). The
    header names go to DuckDB as a parameter (`names`), never into the SQL text."""
    try:
        with path.open(encoding="utf-8", newline="") as f:
            header = _normalise_header(next(csv.reader(f), []))
    except (UnicodeDecodeError, csv.Error):
        return None
    if not header or "" in header or len(set(header)) != len(header):
        return None  # no header, a nameless or a repeated column: the careful reader decides
    try:
        con.execute(
            "create or replace temp table raw_file as select *, row_number() over () + 1 as _line "
            "from read_csv($path, all_varchar = true, header = true, names = $names, delim = ',', "
            "quote = '\"', escape = '\"', strict_mode = true, max_line_size = $max, auto_detect = true, "
            "sample_size = -1, null_padding = false, encoding = 'utf-8')",
            {"path": str(path), "max": MAX_LINE, "names": header})
    except Exception:
        return None
    cols = [r[0] for r in con.execute("describe raw_file").fetchall() if r[0] != "_line"]
    if cols != header:
        return None
    rows = scalar(con, "select count(*) from raw_file")
    newlines, ends_nl = _count_lines(path)
    physical = newlines + (0 if ends_nl else 1)
    if physical - 1 != rows:
        return None  # quoted line breaks, blank lines, …: let the careful reader number lines
    return header


def _read_csv_careful(con, path: Path, feed: Feed) -> tuple[list[str], list[tuple[int, str, str]]]:
    """Python's csv module: exact physical start line of every record, rows with the
    wrong number of fields rejected one by one. Returns header and rejected rows."""
    data = path.read_bytes()
    if not data.strip():
        raise UnreadableFile("empty file: no header row")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"not UTF-8: invalid byte at offset {exc.start}") from None
    csv.field_size_limit(sys.maxsize)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=",", quotechar='"', strict=False)
    try:
        header = next(reader)
    except StopIteration:
        raise UnreadableFile("empty file: no header row") from None
    header = _normalise_header(header)
    ends_nl = text.endswith("\n") or text.endswith("\r")
    columns: list[list[str | None]] = [[] for _ in header]
    lines: list[int] = []
    rejects: list[tuple[int, str, str]] = []
    start = reader.line_num + 1
    rows = list(_rows_with_lines(reader, start))
    for idx, (line, row) in enumerate(rows):
        is_last = idx == len(rows) - 1
        if not row or (len(row) == 1 and row[0] == ""):
            continue  # a blank line is no record
        if is_last and ((not ends_nl and len(row) < len(header)) or _ends_in_quotes(text, line)):
            rejects.append((line, "csv.partial", "incomplete last line (no line end or an open quote): the "
                            "file may still be being written; it loads when complete",
                            json.dumps(row, ensure_ascii=False)))
            continue
        if len(row) != len(header):
            reason = f"has {len(row)} fields, the header has {len(header)}"
            rejects.append((line, "csv.fields", reason, json.dumps(row, ensure_ascii=False)))
            continue
        for c, v in zip(columns, row):
            c.append(v)
        lines.append(line)
    repeated = sorted({h for h in header if h in feed.columns and header.count(h) > 1})
    if repeated:
        raise UnreadableFile(f"repeated column(s): {', '.join(repeated)}", len(lines) + len(rejects))
    arrays = {name: pa.array(col, pa.string()) for name, col in zip(header, columns)
              if name}  # a nameless column is ignored
    arrays["_line"] = pa.array(lines, pa.int64())
    table = pa.table(arrays)
    con.register("raw_arrow", table)
    con.execute("create or replace temp table raw_file as select * from raw_arrow")
    con.unregister("raw_arrow")
    return list(dict.fromkeys(h for h in header if h)), rejects


def _ends_in_quotes(text: str, line: int) -> bool:
    """Whether the record starting on physical line `line` (the last one) runs into the
    end of the file inside a quoted field: the writer has not finished it."""
    buf = io.StringIO(text, newline="")
    for _ in range(line - 1):
        buf.readline()
    try:
        for _ in csv.reader(buf, delimiter=",", quotechar='"', strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _rows_with_lines(reader, start: int):
    line = start
    for row in reader:
        yield line, row
        line = reader.line_num + 1


def _read_parquet(con, path: Path) -> list[str]:
    try:
        con.execute("create or replace temp table raw_file as select * exclude (file_row_number), "
                    "file_row_number + 1 as _line from read_parquet($path, file_row_number = true)",
                    {"path": str(path)})
    except Exception as exc:
        raise UnreadableFile(f"not a readable Parquet file: {str(exc).splitlines()[0]}") from None
    return [r[0] for r in con.execute("describe raw_file").fetchall() if r[0] != "_line"]


# Columns a Parquet file may already hold typed, with the values the text checks accept:
# an instant (TIMESTAMP WITH TIME ZONE; naive timestamps keep the text path, which rejects
# them for want of an offset) or a whole number within the digits the text rule allows.
TYPED_INSTANTS = ("started_at", "answered_at", "ended_at")
TYPED_COUNTS = {"talk_s": 999_999_999_999, "handle_s": 999_999_999_999, "minutes": 999_999_999}
INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
                 "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}


def _typed_companion(column: str, raw_type: str | None) -> str:
    """The `_typed_<column>` expression of raw_staging: the file's own typed value where
    it is one the text checks would accept unchanged, else null (the staging SQL then
    parses the text, and rejects with the usual rule). Identifiers come from code."""
    if column in TYPED_INSTANTS:
        if raw_type == "TIMESTAMP WITH TIME ZONE":
            # the text path only accepts four-digit years (its shape gate)
            return f'case when year("{column}") between 1000 and 9999 then "{column}" end as "_typed_{column}"'
        return f'cast(null as timestamptz) as "_typed_{column}"'
    if raw_type in INTEGER_TYPES:
        return (f'case when "{column}" between 0 and {TYPED_COUNTS[column]} then cast("{column}" as bigint) end '
                f'as "_typed_{column}"')
    return f'cast(null as bigint) as "_typed_{column}"'


def _raw_records(con, feed: Feed, present: list[str]) -> None:
    """raw_records: the feed's columns as text (absent optional columns as null), the
    record as it is quarantined. raw_staging: the same plus, for timestamp and count
    columns, `_typed_<column>` from a typed Parquet column, so the checks need not
    format an instant as text and parse it back (null for CSV)."""
    parts = []
    for c in feed.columns:
        if c in present:
            parts.append(f'cast("{c}" as varchar) as "{c}"')
        else:
            parts.append(f'cast(null as varchar) as "{c}"')
    # Column names come from the feed definition in code, never from a file.
    # Views: the staging statement reads the file's rows once, without another copy.
    con.execute("create or replace temp view raw_records as select " + ", ".join(parts)
                + ", _line from raw_file")
    types = dict(con.execute("select column_name, column_type from (describe raw_file)").fetchall())
    typed = [_typed_companion(c, types.get(c) if c in present else None)
             for c in feed.columns if c in TYPED_INSTANTS or c in TYPED_COUNTS]
    con.execute("create or replace temp view raw_staging as select " + ", ".join(parts + typed)
                + ", _line from raw_file")


# --- loading -----------------------------------------------------------------------

def ingest_file(con, ws: Workspace, feed: Feed, path: Path) -> FileResult:
    rel = f"{feed.name}/{path.name}"
    size = path.stat().st_size
    digest = sha256_of(path)
    # The same bytes again are a no-op. For subscriptions the file name also counts: it
    # orders the versions, so the same rows in a later-named file are the current state.
    if scalar(con, "select count(*) from loaded_files where feed = $f and sha256 = $s "
                   "and ($any_name or path = $p)",
              {"f": feed.name, "s": digest, "p": rel, "any_name": feed.id_column is not None}):
        return FileResult(feed.name, rel, "skipped")
    file_id = scalar(con, "select coalesce(max(file_id), 0) + 1 from loaded_files")
    try:
        read = _read(con, feed, path)
    except UnreadableFile as exc:
        read = exc
    con.execute("begin transaction")
    try:
        result = _load(con, feed, rel, file_id, read)
        con.execute(
            "insert into loaded_files values ($id, $feed, $path, $size, $sha, $status, $reason, $unknown, "
            "$read, $loaded, $q, $d)",
            {"id": file_id, "feed": feed.name, "path": rel, "size": size, "sha": digest,
             "status": result.status, "reason": result.reason,
             "unknown": ",".join(result.unknown_columns) or None, "read": result.read,
             "loaded": result.loaded, "q": result.quarantined, "d": result.duplicates})
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return result


def _quarantine_file(con, feed: Feed, rel: str, reason: str, records: int) -> FileResult:
    con.execute("insert into quarantine values ($feed, $file, null, null, 'file.unreadable', $reason, null)",
                {"feed": feed.name, "file": rel, "reason": reason})
    return FileResult(feed.name, rel, "unreadable", read=records, quarantined=records, reason=reason)


def _read(con, feed: Feed, path: Path) -> tuple[list[str], list]:
    """Reads a file into the temp table raw_file (outside any transaction: a failed
    fast read must not abort the load). Raises UnreadableFile."""
    rejects: list = []
    if path.suffix.lower() == ".parquet" and ".parquet" in feed.formats:
        present = _read_parquet(con, path)
    elif path.suffix.lower() == ".csv":
        present = _read_csv_fast(con, path)
        if present is None:
            present, rejects = _read_csv_careful(con, path, feed)
    else:
        raise UnreadableFile(f"not a {' or '.join(feed.formats)} file")
    missing = [c for c in feed.required if c not in present]
    if missing:
        records = scalar(con, "select count(*) from raw_file") + len(rejects)
        raise UnreadableFile(f"missing required column(s): {', '.join(missing)} "
                             f"(found: {', '.join(present) or 'none'}; comma-separated UTF-8 expected)",
                             records)
    return present, rejects


def _load(con, feed: Feed, rel: str, file_id: int, read) -> FileResult:
    if isinstance(read, UnreadableFile):
        return _quarantine_file(con, feed, rel, read.reason, read.records)
    present, rejects = read
    unknown = [c for c in present if c not in feed.columns]
    _raw_records(con, feed, present)
    con.execute("set variable id_pattern = $p", {"p": ID_PATTERN})
    con.execute("set variable product_codes = $p", {"p": sorted(PRODUCT_CODES)})
    con.execute("create or replace temp table staged as " + sqlfiles.sql(f"staging/staging_{feed.name}"))
    for line, rule, reason, record in rejects:
        con.execute("insert into quarantine values ($feed, $file, $line, null, $rule, $reason, $record)",
                    {"feed": feed.name, "file": rel, "line": line, "rule": rule, "reason": reason,
                     "record": record})
    # The raw record (as JSON) is built for quarantined rows only.
    con.execute("insert into quarantine select $feed, $file, s._line, s._record_id, s._rule, s._reason, "
                "to_json(r) from staged s join raw_records r using (_line) where s._rule is not null",
                {"feed": feed.name, "file": rel})
    bad = scalar(con, "select count(*) from staged where _rule is not null")
    total = scalar(con, "select count(*) from staged")
    loaded, dups, conflicts = _dedupe_and_insert(con, feed, rel, file_id)
    read = total + len(rejects)
    return FileResult(feed.name, rel, "loaded", read=read, loaded=loaded,
                      quarantined=bad + len(rejects) + conflicts, duplicates=dups,
                      unknown_columns=unknown)


def _dedupe_and_insert(con, feed: Feed, rel: str, file_id: int) -> tuple[int, int, int]:
    params = {"feed": feed.name, "file": rel, "file_id": file_id}
    if feed.id_column is None:
        con.execute(sqlfiles.sql("staging/classified_subscriptions"))
    else:
        con.execute(_for_feed(sqlfiles.sql("staging/classified_records"), feed))
    counts = dict(con.execute("select disposition, count(*) from classified group by all").fetchall())
    con.execute("insert into quarantine select $feed, $file, c._line, c._record_id, 'id.conflict', c._reason, "
                "to_json(r) from classified c join raw_records r using (_line) where c.disposition = 'conflict'",
                {"feed": feed.name, "file": rel})
    if feed.id_column is None:
        con.execute(sqlfiles.sql("staging/load_subscription_versions"), {"file": rel, "file_id": file_id})
    else:
        con.execute(_for_feed(sqlfiles.sql("staging/load_records"), feed), {"file": rel})
    return counts.get("load", 0), counts.get("duplicate", 0), counts.get("conflict", 0)


def _for_feed(template: str, feed: Feed) -> str:
    """Fills a statement's table and id-column identifiers from the feed definition
    (code, not data: identifiers cannot be bound as parameters)."""
    return template.replace("__table__", feed.table).replace("__id__", feed.id_column or "")


def ingest(con, ws: Workspace, progress=None) -> list[FileResult]:
    """Load every new inbox file, feeds in dependency order, files in name order."""
    create_tables(con)
    results = []
    for name in ORDER:
        feed = FEEDS[name]
        for path in inbox_files(ws, feed):
            r = ingest_file(con, ws, feed, path)
            if progress and r.status != "skipped":
                progress(r)
            results.append(r)
    sqlfiles.apply_descriptions(con)
    return results


def feed_status(con) -> dict:
    create_tables(con)
    rows = con.execute(
        "select feed, count(*), sum(read), sum(loaded), sum(quarantined), sum(duplicates) "
        "from loaded_files group by feed").fetchall()
    out = {name: {"files": 0, "read": 0, "loaded": 0, "quarantined": 0, "duplicates": 0} for name in ORDER}
    for feed, files, read, loaded, q, d in rows:
        out[feed] = {"files": int(files), "read": int(read), "loaded": int(loaded),
                     "quarantined": int(q), "duplicates": int(d)}
    return out
