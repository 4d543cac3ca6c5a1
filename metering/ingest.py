"""Ingestion of the inbox feeds into the warehouse (data-contract.md).

Each new file is read as text columns, typed and checked by `sql/staging/staging_<feed>.sql`,
and split into loaded records, quarantined records (file, line, rule, reason) and
duplicates. A ledger of loaded files (path, size, mtime, sha256, counts) makes a re-dropped
file a no-op. For every file: read = loaded + quarantined + duplicates.

Every inbox entry is accounted for: one that is not a readable regular file (a directory,
a FIFO, a broken or looping link, a link leading outside the workspace, a file without
read permission) is quarantined whole with its rule and ledgered with a cheap identity
(type, inode, size, times, link target), so the same entry is not quarantined again on
the next run; the rest of the run goes on. Plausibility limits (`metering.limits`) and
the product codes go to the staging SQL as one row of the temp table `ingest_parameters`.
"""
from __future__ import annotations

import csv
import errno
import hashlib
import io
import itertools
import json
import os
import re
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from metering import model, sqlfiles
from metering.catalog import PRODUCT_CODES
from metering.feeds import FEEDS, ORDER, Feed
from metering.limits import RESERVED_IDS, Limits
from metering.workspace import Workspace

MAX_LINE = 256 * 1024 * 1024

TABLES = ("loaded_files", "loaded_files_mtime_ns", "quarantine", "calls", "interactions", "worklogs", "subscribers",
          "subscription_versions")


def create_tables(con) -> None:
    """The ingestion tables. On a warehouse opened read-only (status, quarantine, the
    sensor) nothing is written: a table it lacks is an empty temp table instead."""
    if _read_only(con):
        existing = {r[0] for r in sqlfiles.rows(con, "catalog/main_tables")}
        for name in (*TABLES, "subscriptions"):
            if name in existing or name == "loaded_files_mtime_ns":
                continue
            con.execute(_temporary(sqlfiles.sql(f"tables/{name}")))
        create_macros(con)
        return
    for name in TABLES:
        sqlfiles.run(con, f"tables/{name}")
    create_macros(con)
    migrate_subscribers(con)
    drop_record_hashes(con)
    # analytic tables of an older version (e.g. a month without its CHECK) get the current
    # shape when a run opens the warehouse; the issued tables are reloaded by issued.sync
    model.migrate(con)
    sqlfiles.run(con, "tables/subscriptions")
    # `create or replace view` drops the view's comments; new tables have none yet
    sqlfiles.apply_descriptions(con, (*TABLES, "subscriptions"))


def _temporary(ddl: str) -> str:
    """A table's DDL of the repository (no data) made temporary, for a read-only warehouse."""
    return (ddl.replace("create table if not exists", "create temp table if not exists", 1)
            .replace("create or replace view", "create or replace temp view", 1))


MACROS = ("iso_instant", "utc_offset_s", "file_safe_id")


def create_macros(con) -> None:
    """The staging checks' macros (sql/macros/), temporary: made on every connection that
    makes the tables, read-only or not, and never written into the warehouse's catalog."""
    for name in MACROS:
        sqlfiles.run(con, f"macros/{name}")


def migrate_subscribers(con) -> None:
    """A warehouse made before the e-invoice columns gets them (null for the rows it
    holds); `create table if not exists` alone would leave the old table as it is."""
    from metering.feeds import EINVOICE_COLUMNS
    present = {r[0] for r in sqlfiles.rows(con, "catalog/table_columns", {"table": "subscribers"})}
    for column in EINVOICE_COLUMNS:
        if column not in present:
            # an identifier of the feed definition (code), checked like any table name
            if not column.isidentifier() or not column.islower():
                raise ValueError(f"not a column name: {column!r}")
            con.execute(sqlfiles.fill("migrations/subscribers_add_column", column=column))


# Feed tables whose records are told apart by content: a warehouse made before stores an
# md5 `_hash` of every record there, which nothing reads any more (sql/staging/classified_records.sql).
HASHLESS_TABLES = ("subscribers", "calls", "interactions", "worklogs")


def drop_record_hashes(con) -> None:
    """A feed table made before duplicates were told by content loses its `_hash` column
    (its rows stay; every other column is as before). Table names come from code."""
    for table in HASHLESS_TABLES:
        present = {r[0] for r in sqlfiles.rows(con, "catalog/table_columns", {"table": table})}
        if "_hash" in present:
            con.execute(sqlfiles.fill("migrations/drop_record_hash", table=table))


def _read_only(con) -> bool:
    return bool(sqlfiles.value(con, "catalog/read_only"))


@dataclass
class FileResult:
    feed: str
    path: str
    status: str  # loaded | unreadable | rejected (not a readable regular file) | skipped
    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    duplicates: int = 0
    reason: str | None = None
    unknown_columns: list[str] = field(default_factory=list)
    rule: str | None = None

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


@dataclass(frozen=True)
class InboxEntry:
    """One entry of a feed's inbox directory. `rule` is None for a readable regular file;
    otherwise the entry is rejected whole with `rule` and `reason`, and `identity` tells
    whether a later run sees the same entry (so it is quarantined once)."""
    feed: str
    path: Path
    size: int = 0
    mtime_ns: int = 0
    rule: str | None = None
    reason: str | None = None
    identity: str = ""

    @property
    def rel(self) -> str:
        return f"{self.feed}/{self.path.name}"


_KINDS = ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO (named pipe)"), (stat.S_ISSOCK, "socket"),
          (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "special file")


def classify_entry(ws: Workspace, feed: str, path: Path) -> InboxEntry | None:
    """What an inbox entry is: a readable regular file, or a rejection with its rule.
    None when the entry vanished meanwhile. A FIFO is never opened (it would block)."""
    try:
        lst = os.lstat(path)
    except FileNotFoundError:
        return None
    link = stat.S_ISLNK(lst.st_mode)
    try:
        target = os.readlink(path) if link else ""
    except OSError:
        target = "?"
    identity = (f"entry:{lst.st_mode:o}:{lst.st_ino}:{lst.st_size}:{lst.st_mtime_ns}:{lst.st_ctime_ns}"
                + (f":{target}" if link else ""))

    def rejected(rule: str, reason: str) -> InboxEntry:
        return InboxEntry(feed, path, lst.st_size, lst.st_mtime_ns, rule, reason, identity)

    st = lst
    if link:
        try:
            st = os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return rejected("file.link_loop", f"a symbolic link that loops ({target!s})")
            if exc.errno == errno.ENOENT:
                return rejected("file.broken_link", f"a symbolic link to {target!s}, which does not exist")
            return rejected("file.unreadable", f"a symbolic link that cannot be followed: {exc.strerror or exc}")
        real = Path(os.path.realpath(path))
        if not real.is_relative_to(ws.root.resolve()):
            return rejected("file.outside_workspace", f"a symbolic link leading outside the workspace ({real})")
    if not stat.S_ISREG(st.st_mode):
        return rejected("file.not_regular", f"not a regular file but a {_kind(st.st_mode)}")
    try:
        with path.open("rb"):
            pass
    except PermissionError:
        return rejected("file.unreadable", "no permission to read the file")
    except FileNotFoundError:
        return None
    except OSError as exc:
        return rejected("file.unreadable", f"the file cannot be opened: {exc.strerror or exc}")
    return InboxEntry(feed, path, st.st_size, st.st_mtime_ns)


def inbox_entries(ws: Workspace, feed: Feed) -> list[InboxEntry]:
    """Every entry of the feed's inbox in name order, except hidden names (a leading dot:
    how writers stage a file before renaming it into place)."""
    d = ws.feed_dir(feed.name)
    if not d.is_dir():
        return []
    out = []
    for p in sorted(d.iterdir()):
        if p.name.startswith("."):
            continue
        entry = classify_entry(ws, feed.name, p)
        if entry is not None:
            out.append(entry)
    return out


def pending_entries(con, ws: Workspace) -> list[InboxEntry]:
    """Inbox entries the ledger does not hold yet: files by path, size and mtime_ns (so a
    file corrected in place at the same size is seen; sha256 decides on load), rejected
    entries by path and identity."""
    columns = {r[0] for r in sqlfiles.rows(con, "ledger/loaded_files_columns")}
    # a warehouse from before mtime_ns (opened read-only, not migrated): every file looks new once
    ledger = sqlfiles.rows(con, "ledger/loaded_files_entries" if "mtime_ns" in columns
                           else "ledger/loaded_files_entries_without_mtime")
    files = {(p, size, m) for p, size, m, status, _ in ledger if status != "rejected"}
    rejected = {(p, sha) for p, _, _, status, sha in ledger if status == "rejected"}
    out = []
    for name in ORDER:
        for e in inbox_entries(ws, FEEDS[name]):
            if e.rule is None and (e.rel, e.size, e.mtime_ns) not in files:
                out.append(e)
            elif e.rule is not None and (e.rel, e.identity) not in rejected:
                out.append(e)
    return out


def pending_files(con, ws: Workspace) -> list[tuple[str, Path]]:
    """(feed, path) of the inbox entries not yet in the ledger (`pending_entries`)."""
    return [(e.feed, e.path) for e in pending_entries(con, ws)]


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
        sqlfiles.run(con, "staging/raw_csv", {"path": str(path), "max": MAX_LINE, "names": header})
    except Exception:
        return None
    sqlfiles.run(con, "staging/raw_file_csv")
    if _raw_file_columns(con) != header:
        return None
    rows = sqlfiles.value(con, "staging/raw_file_rows")
    newlines, ends_nl = _count_lines(path)
    physical = newlines + (0 if ends_nl else 1)
    if physical - 1 != rows:
        return None  # quoted line breaks, blank lines, …: let the careful reader number lines
    return header


def _read_csv_careful(con, path: Path, feed: Feed) -> tuple[list[str], list[tuple[int, str, str, str]]]:
    """Python's csv module: exact physical start line of every record, rows with the
    wrong number of fields rejected one by one. A field whose opening quote is never
    closed is one rejected record (`csv.quote`), and reading resumes at the next physical
    line, so every line is accounted for. Returns header and rejected rows."""
    data = path.read_bytes()
    if not data.strip():
        raise UnreadableFile("empty file: no header row")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"not UTF-8: invalid byte at offset {exc.start}") from None
    del data
    csv.field_size_limit(sys.maxsize)
    physical = io.StringIO(text, newline="").readlines()  # lines as the csv module sees them
    ends_nl = text.endswith("\n") or text.endswith("\r")
    del text
    records = _csv_records(physical)
    try:
        _, header, open_quote = next(records)
    except StopIteration:
        raise UnreadableFile("empty file: no header row") from None
    if open_quote:
        raise UnreadableFile("the header row opens a quote that is never closed", sum(1 for _ in records))
    header = _normalise_header(header)
    columns: list[list[str | None]] = [[] for _ in header]
    lines: list[int] = []
    rejects: list[tuple[int, str, str, str]] = []
    rows_ = list(records)
    last_line = len(physical)
    for idx, (line, row, open_quote) in enumerate(rows_):
        is_last = idx == len(rows_) - 1
        if open_quote:
            text_line = physical[line - 1].rstrip("\r\n")
            if line == last_line and not ends_nl:
                rejects.append((line, "csv.partial", "incomplete last line (no line end, inside a quoted field): "
                                "the file may still be being written; it loads when complete",
                                json.dumps([text_line], ensure_ascii=False)))
            else:
                rejects.append((line, "csv.quote", "a quoted field is never closed (its opening quote has no "
                                "closing quote before the end of the file); reading resumes at the next line",
                                json.dumps([text_line], ensure_ascii=False)))
            continue
        if not row or (len(row) == 1 and row[0] == ""):
            continue  # a blank line is no record
        if is_last and not ends_nl and len(row) < len(header):
            rejects.append((line, "csv.partial", "incomplete last line (no line end): the "
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
    sqlfiles.run(con, "staging/raw_csv_arrow")
    con.unregister("raw_arrow")
    sqlfiles.run(con, "staging/raw_file_csv")
    return list(dict.fromkeys(h for h in header if h)), rejects


def _csv_records(physical: list[str]):
    """(start line, fields, open quote) for every record of the physical lines. A quote
    that is never closed is yielded as its first line only with `open quote` true, and
    the records are read again from the next line: a record that runs into the end of
    the file inside a quoted field, or one that spans lines and is not well-formed (its
    quote was "closed" by a quote of a later record, followed by more text)."""
    pos = 0
    n = len(physical)
    while pos < n:
        reader = csv.reader(itertools.islice(physical, pos, None), delimiter=",", quotechar='"', strict=False)
        start = pos
        for row in reader:
            end = pos + reader.line_num
            if end - start > 1 or end >= n:
                text = "".join(physical[start:end])
                if (end >= n and _open_quote(text)) or (end - start > 1 and not _well_formed(text)):
                    yield start + 1, row, True
                    pos = start + 1
                    break
            yield start + 1, row, False
            start = end
        else:
            return


def _well_formed(record: str) -> bool:
    """Whether a record's text parses under RFC 4180's rules (a closing quote followed by
    a comma or the line end)."""
    try:
        for _ in csv.reader(io.StringIO(record, newline=""), delimiter=",", quotechar='"', strict=True):
            pass
    except csv.Error:
        return False
    return True


_SEPARATOR = re.compile(r"[,\r\n]")


def _open_quote(record: str) -> bool:
    """Whether a record's text ends inside a quoted field (the csv module's non-strict
    reading: a quote opens a field only at its start; `""` inside is a quote)."""
    i, n = 0, len(record)
    field_start = True
    while i < n:
        if field_start and record[i] == '"':
            i += 1
            while True:
                j = record.find('"', i)
                if j < 0:
                    return True
                if j + 1 < n and record[j + 1] == '"':
                    i = j + 2
                    continue
                i = j + 1
                break
            field_start = False
            continue
        m = _SEPARATOR.search(record, i)
        if m is None:
            return False
        i = m.end()
        field_start = True
    return False


def _read_parquet(con, path: Path) -> list[str]:
    """The Parquet file as the temp view raw_file, read in place: copying it into a temp
    table first cost 0.3 CPU s per 1 M call legs, and the staging reads its typed
    columns straight from the file. DuckDB's reader is registered as the temp view
    `raw_parquet` (the path a Python argument: a view cannot take a parameter); its
    footer is read now, its pages when the records are staged (`_stage`)."""
    try:
        con.register("raw_parquet", con.read_parquet(str(path), file_row_number=True))
        sqlfiles.run(con, "staging/raw_file_parquet")
        return _raw_file_columns(con)
    except Exception as exc:
        raise UnreadableFile(f"not a readable Parquet file: {str(exc).splitlines()[0]}") from None


def _raw_file_columns(con) -> list[str]:
    """The columns of the file just read (temp view raw_file), in file order."""
    return [name for name, _ in sqlfiles.rows(con, "staging/raw_file_columns") if name != "_line"]


# Columns a Parquet file may already hold typed, with the values the text checks accept:
# an instant (TIMESTAMP WITH TIME ZONE; naive timestamps keep the text path, which rejects
# them for want of an offset) or a whole number within the digits the text rule allows.
TYPED_INSTANTS = ("started_at", "answered_at", "ended_at")
TYPED_COUNTS = {"talk_s": 999_999_999_999, "handle_s": 999_999_999_999, "minutes": 999_999_999}
INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
                 "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}


def _typed_instant_accepted(column: str) -> str:
    """The condition under which a typed Parquet instant is taken as it is (the text path
    only accepts four-digit years, its shape gate). A range of instants, not `year()`:
    the same years in UTC (the session time zone of metering.db.connect, in which the
    instant's text is written) at a tenth of the cost (0.12 → 0.01 CPU s for three
    columns of 1 M call legs). Identifiers come from code."""
    return (f"\"{column}\" between timestamptz '1000-01-01 00:00:00+00' "
            f"and timestamptz '9999-12-31 23:59:59.999999+00'")


def _typed_companion(column: str, raw_type: str | None) -> str:
    """The `_typed_<column>` expression of raw_staging: the file's own typed value where
    it is one the text checks would accept unchanged, else null (the staging SQL then
    parses the text, and rejects with the usual rule). Identifiers come from code."""
    if column in TYPED_INSTANTS:
        if raw_type == "TIMESTAMP WITH TIME ZONE":
            return f'case when {_typed_instant_accepted(column)} then "{column}" end as "_typed_{column}"'
        return f'cast(null as timestamptz) as "_typed_{column}"'
    if raw_type in INTEGER_TYPES:
        return (f'case when "{column}" between 0 and {TYPED_COUNTS[column]} then cast("{column}" as bigint) end '
                f'as "_typed_{column}"')
    return f'cast(null as bigint) as "_typed_{column}"'


def _staging_text(column: str, raw_type: str | None) -> str:
    """A column's text in raw_staging. A typed instant the checks take as it is needs no
    text: no rule that reads the text can fire then (they test the typed value's absence),
    and formatting an instant as text costs about as much as the rest of the checks
    (measured per 1 M-row calls file). The quarantined record (raw_records) keeps it all."""
    if column in TYPED_INSTANTS and raw_type == "TIMESTAMP WITH TIME ZONE":
        return (f'case when {_typed_instant_accepted(column)} then null else cast("{column}" as varchar) end '
                f'as "{column}"')
    return f'cast("{column}" as varchar) as "{column}"'


def _raw_records(con, feed: Feed, present: list[str]) -> None:
    """raw_records: the feed's columns as text (absent optional columns as null), the
    record as it is quarantined. raw_staging: the same plus, for timestamp and count
    columns, `_typed_<column>` from a typed Parquet column, so the checks need not
    format an instant as text and parse it back (null for CSV); the text of an instant
    taken typed is null there (`_staging_text`)."""
    parts = []
    for c in feed.columns:
        if c in present:
            parts.append(f'cast("{c}" as varchar) as "{c}"')
        else:
            parts.append(f'cast(null as varchar) as "{c}"')
    # Column names come from the feed definition in code, never from a file.
    con.execute(sqlfiles.fill("staging/raw_records", columns=", ".join(parts)))
    types = dict(sqlfiles.rows(con, "staging/raw_file_columns"))
    texts = [_staging_text(c, types.get(c)) if c in present else f'cast(null as varchar) as "{c}"'
             for c in feed.columns]
    typed = [_typed_companion(c, types.get(c) if c in present else None)
             for c in feed.columns if c in TYPED_INSTANTS or c in TYPED_COUNTS]
    con.execute(sqlfiles.fill("staging/raw_staging", columns=", ".join(texts + typed)))


# --- loading -----------------------------------------------------------------------

def ingest_file(con, ws: Workspace, feed: Feed, path: Path, limits: Limits | None = None) -> FileResult:
    rel = f"{feed.name}/{path.name}"
    try:
        st = path.stat()
        digest = sha256_of(path)
    except FileNotFoundError:
        return FileResult(feed.name, rel, "skipped")  # gone since the listing: nothing to account for
    except OSError as exc:  # unreadable since the listing (permission, I/O error)
        entry = classify_entry(ws, feed.name, path)
        if entry is None:
            return FileResult(feed.name, rel, "skipped")
        if entry.rule is None:
            entry = InboxEntry(feed.name, path, entry.size, entry.mtime_ns, "file.unreadable",
                               f"the file cannot be read: {exc.strerror or exc}",
                               f"entry:{entry.size}:{entry.mtime_ns}")
        return reject_entry(con, entry)
    size, mtime_ns = st.st_size, st.st_mtime_ns
    # The same bytes again are a no-op. For subscriptions the file name also counts: it
    # orders the versions, so the same rows in a later-named file are the current state.
    if sqlfiles.value(con, "ledger/same_bytes_loaded",
                      {"feed": feed.name, "sha": digest, "path": rel, "any_name": feed.id_column is not None}):
        sqlfiles.run(con, "ledger/loaded_files_seen", {"feed": feed.name, "path": rel, "sha": digest,
                                                       "size": size, "mtime_ns": mtime_ns})
        return FileResult(feed.name, rel, "skipped")
    file_id = sqlfiles.value(con, "ledger/next_file_id")
    read: tuple[list[str], list] | UnreadableFile
    staged = (0, 0)
    try:
        read = _read(con, feed, path)
        staged = _stage(con, feed, path, read[0], limits or Limits.from_env())
    except UnreadableFile as exc:
        read = exc
    except OSError as exc:  # lost or unreadable between hashing and reading
        read = UnreadableFile(f"the file cannot be read: {exc.strerror or exc}")
    con.execute("begin transaction")
    try:
        result = _load(con, feed, rel, file_id, read, staged)
        _ledger(con, file_id, feed.name, rel, size, digest, result, mtime_ns)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return result


def _ledger(con, file_id: int, feed: str, rel: str, size: int, sha: str, result: FileResult,
            mtime_ns: int) -> None:
    sqlfiles.run(con, "ledger/loaded_files_row", {
        "id": file_id, "feed": feed, "path": rel, "size": size, "sha": sha,
        "status": result.status, "reason": result.reason,
        "unknown": ",".join(result.unknown_columns) or None, "read": result.read,
        "loaded": result.loaded, "q": result.quarantined, "d": result.duplicates, "mtime_ns": mtime_ns})


def reject_entry(con, entry: InboxEntry) -> FileResult:
    """Quarantines an inbox entry that is not a readable regular file, once: the ledger
    holds it by path and identity, and the same entry on a later run is skipped."""
    if sqlfiles.value(con, "ledger/entry_rejected_before",
                      {"feed": entry.feed, "path": entry.rel, "identity": entry.identity}):
        return FileResult(entry.feed, entry.rel, "skipped")
    file_id = sqlfiles.value(con, "ledger/next_file_id")
    result = FileResult(entry.feed, entry.rel, "rejected", reason=entry.reason, rule=entry.rule)
    con.execute("begin transaction")
    try:
        sqlfiles.run(con, "ledger/quarantine_whole_file", {"feed": entry.feed, "file": entry.rel,
                                                           "rule": entry.rule, "reason": entry.reason})
        _ledger(con, file_id, entry.feed, entry.rel, entry.size, entry.identity, result, entry.mtime_ns)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return result


def _quarantine_file(con, feed: Feed, rel: str, reason: str, records: int) -> FileResult:
    sqlfiles.run(con, "ledger/quarantine_whole_file", {"feed": feed.name, "file": rel,
                                                       "rule": "file.unreadable", "reason": reason})
    return FileResult(feed.name, rel, "unreadable", read=records, quarantined=records, reason=reason,
                      rule="file.unreadable")


def _read(con, feed: Feed, path: Path) -> tuple[list[str], list]:
    """Reads a file as the temp view raw_file (outside any transaction: a failed fast
    read must not abort the load). Raises UnreadableFile."""
    rejects: list = []
    if path.suffix.lower() == ".parquet" and ".parquet" in feed.formats:
        present = _read_parquet(con, path)
    elif path.suffix.lower() == ".csv":
        fast = _read_csv_fast(con, path)
        if fast is None:
            present, rejects = _read_csv_careful(con, path, feed)
        else:
            present = fast
    else:
        raise UnreadableFile(f"not a {' or '.join(feed.formats)} file")
    missing = [c for c in feed.required if c not in present]
    if missing:
        records = sqlfiles.value(con, "staging/raw_file_rows") + len(rejects)
        raise UnreadableFile(f"missing required column(s): {', '.join(missing)} "
                             f"(found: {', '.join(present) or 'none'}; comma-separated UTF-8 expected)",
                             records)
    return present, rejects


def _ingest_parameters(con, limits: Limits) -> None:
    """The checks' parameters as the one-row temp table `ingest_parameters` (data bound as
    parameters, never SQL text), which the staging SQL reads with a cross join."""
    sqlfiles.run(con, "staging/ingest_parameters", {
        "max_duration_s": limits.max_duration_s, "max_utc_offset_s": limits.max_utc_offset_s,
        "max_id_length": limits.max_id_length, "reserved_ids": list(RESERVED_IDS),
        "product_codes": sorted(PRODUCT_CODES)})


def _stage(con, feed: Feed, path: Path, present: list[str], limits: Limits) -> tuple[int, int]:
    """Types and checks the records of the file just read (temp table `staged`) and keeps
    the quarantined ones as text (`quarantined_records`), before the load's transaction:
    a Parquet file is read in place here (sql/staging/raw_file_parquet.sql), so a file
    that fails now (a corrupt page) is quarantined whole like one that cannot be opened.
    Returns (records that break a rule, records staged). Raises UnreadableFile."""
    try:
        _raw_records(con, feed, present)
        _ingest_parameters(con, limits)
        sqlfiles.run(con, f"staging/staging_{feed.name}")
        ((bad, total),) = sqlfiles.rows(con, "staging/staged_counts")
        if bad:  # the join reads the file again (0.1 CPU s per 1 M Parquet rows) even when none is bad
            sqlfiles.run(con, "staging/quarantined_records")
        return bad, total
    except duckdb.Error as exc:
        if path.suffix.lower() != ".parquet":
            raise
        raise UnreadableFile(f"not a readable Parquet file: {str(exc).splitlines()[0]}") from None


def _load(con, feed: Feed, rel: str, file_id: int, read, staged: tuple[int, int]) -> FileResult:
    if isinstance(read, UnreadableFile):
        return _quarantine_file(con, feed, rel, read.reason, read.records)
    present, rejects = read
    unknown = [c for c in present if c not in feed.columns]
    for line, rule, reason, record in rejects:
        sqlfiles.run(con, "ledger/quarantine_csv_rejects",
                     {"feed": feed.name, "file": rel, "line": line, "rule": rule, "reason": reason,
                      "record": record})
    bad, total = staged
    if bad:
        sqlfiles.run(con, "ledger/quarantine_staged", {"feed": feed.name, "file": rel})
    loaded, dups, conflicts = _dedupe_and_insert(con, feed, rel, file_id, total - bad)
    read = total + len(rejects)
    return FileResult(feed.name, rel, "loaded", read=read, loaded=loaded,
                      quarantined=bad + len(rejects) + conflicts, duplicates=dups,
                      unknown_columns=unknown)


def _dedupe_and_insert(con, feed: Feed, rel: str, file_id: int, valid: int) -> tuple[int, int, int]:
    """Loads the `valid` records of the file that are neither duplicates nor conflicts;
    returns (loaded, duplicates, conflicts)."""
    if feed.id_column is None:
        sqlfiles.run(con, "staging/classified_subscriptions")
    else:
        con.execute(_for_feed("staging/classified_records", feed))
    counts = dict(sqlfiles.rows(con, "staging/classified_counts"))
    dups, conflicts = counts.get("duplicate", 0), counts.get("conflict", 0)
    if conflicts:  # the join reads the file again, even when no record conflicts
        sqlfiles.run(con, "ledger/quarantine_conflicts", {"feed": feed.name, "file": rel})
    if feed.id_column is None:
        sqlfiles.run(con, "staging/load_subscription_versions", {"file": rel, "file_id": file_id})
        return counts.get("load", 0), dups, conflicts
    # classified_records holds only the records that do not load
    con.execute(_for_feed("staging/load_records", feed), {"file": rel})
    return valid - dups - conflicts, dups, conflicts


def _for_feed(name: str, feed: Feed) -> str:
    """Statement `name` with its table, id-column and content-column identifiers from the
    feed definition (code, not data: identifiers cannot be bound as parameters)."""
    parts = {"table": feed.table}
    text = sqlfiles.sql(name)
    if "__id__" in text:
        parts["id"] = feed.id_column or ""
    if "__content__" in text:
        parts["content"] = ", ".join(f'"{c}"' for c in feed.columns)
    return sqlfiles.fill(name, **parts)


def ingest(con, ws: Workspace, progress=None, limits: Limits | None = None) -> list[FileResult]:
    """Load every new inbox file, feeds in dependency order, files in name order; an
    entry that is not a readable regular file is quarantined whole (once) and the run
    goes on."""
    create_tables(con)
    limits = limits or Limits.from_env()
    results = []
    for name in ORDER:
        feed = FEEDS[name]
        for entry in inbox_entries(ws, feed):
            if entry.rule is not None:
                r = reject_entry(con, entry)
            else:
                r = ingest_file(con, ws, feed, entry.path, limits)
            if progress and r.status != "skipped":
                progress(r)
            results.append(r)
    sqlfiles.apply_descriptions(con)
    return results


def feed_status(con) -> dict:
    """Per feed: files read (rejected inbox entries not counted), records read, loaded,
    quarantined, duplicates."""
    create_tables(con)
    rows_ = sqlfiles.rows(con, "status/feed_status")
    out = {name: {"files": 0, "read": 0, "loaded": 0, "quarantined": 0, "duplicates": 0} for name in ORDER}
    for feed, files, read, loaded, q, d in rows_:
        out[feed] = {"files": int(files), "read": int(read), "loaded": int(loaded),
                     "quarantined": int(q), "duplicates": int(d)}
    return out


def rejected_entries(con, feed: str | None = None) -> list[dict]:
    """Inbox entries whose latest ledger row is a rejection: feed, path, reason."""
    create_tables(con)
    return [{"feed": f, "path": p, "reason": r}
            for f, p, r in sqlfiles.run(con, "status/rejected_entries", {"feed": feed}).fetchall()]
