"""Small DuckDB helpers. DuckDB 2.0 keeps a half-read result open on the connection
(`fetchone()` leaves it unfinished and blocks `register`), so results are always read
to the end here."""
from __future__ import annotations

import errno
import os
import re
import time
from pathlib import Path

import duckdb

from metering import sqlfiles


def rows(con, query: str, params=None) -> list[tuple]:
    return con.execute(query, params).fetchall() if params is not None else con.execute(query).fetchall()


def first(con, query: str, params=None):
    r = rows(con, query, params)
    return r[0] if r else None


def scalar(con, query: str, params=None):
    r = first(con, query, params)
    return r[0] if r else None


def connect(path: Path | str, read_only: bool = False, memory_limit: str | None = None,
            temp_directory: str | None = None, threads: int | None = None):
    config: dict[str, str | bool | int | float | list[str]] = {}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if temp_directory:
        config["temp_directory"] = temp_directory
    if threads:
        config["threads"] = threads
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    con.execute("set timezone = 'UTC'")
    return con


_IDENTIFIER = __import__("re").compile(r"[a-z_][a-z0-9_]*")


def materialise(con, name: str, table, temp: bool = False) -> None:
    """Stores an Arrow table as a DuckDB table. `name` is a table name from code (an
    identifier cannot be a bound parameter), checked here so no data reaches the SQL."""
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a table name: {name!r}")
    view = f"{name}_arrow"
    con.register(view, table)
    try:
        con.execute(sqlfiles.fill("catalog/materialise_temp_table" if temp else "catalog/materialise_table",
                                  table=name, source=view))
    finally:
        con.unregister(view)


# --- opening the warehouse: a lock held by another process, a damaged file ------------

DEFAULT_LOCK_TIMEOUT_S = 300.0
# DuckDB's words for a file lock another process holds (matched exactly: "lock" alone
# also occurs in "block", e.g. in a checksum error of a damaged file)
LOCK_MESSAGES = ("Could not set lock on file", "Conflicting lock is held")
# DuckDB's words for a file that is not a (whole) DuckDB database
DAMAGE_MESSAGES = ("not a valid DuckDB database file", "Corrupt database file", "Could not read enough bytes",
                   "database file is corrupt", "The database file is not a valid", "computed checksum")
# a full disk, a read-only file system, no permission: the operating system's words
STORAGE_ERRNOS = {errno.ENOSPC: "the disk is full", errno.EROFS: "the file system is read-only",
                  errno.EACCES: "permission denied", errno.EPERM: "operation not permitted",
                  errno.EDQUOT: "the disk quota is exceeded"}
STORAGE_MESSAGES = {"No space left on device": "the disk is full",
                    "Read-only file system": "the file system is read-only",
                    "Permission denied": "permission denied", "Disk quota exceeded": "the disk quota is exceeded",
                    "Operation not permitted": "operation not permitted"}


class WarehouseError(Exception):
    """A warehouse that cannot be used now; `str()` is the one line for the user."""
    exit_code = 3


class WarehouseBusy(WarehouseError):
    exit_code = 4


class WarehouseDamaged(WarehouseError):
    exit_code = 3


def is_lock_error(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.Error) and any(m in str(exc) for m in LOCK_MESSAGES)


def is_damage_error(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.Error) and any(m in str(exc) for m in DAMAGE_MESSAGES)


def storage_problem(exc: BaseException) -> str | None:
    """What an OSError or a DuckDB I/O error says about the storage (full, read-only, no
    permission), or None when it is something else."""
    if isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS:
        return STORAGE_ERRNOS[exc.errno]
    if isinstance(exc, duckdb.Error):
        text = str(exc)
        return next((what for m, what in STORAGE_MESSAGES.items() if m in text), None)
    return None


def lock_holder(exc: BaseException) -> str | None:
    """The PID DuckDB names in its lock error ("… is held in /usr/bin/python (PID 4763)")."""
    m = re.search(r"\(PID (\d+)\)", str(exc))
    return m.group(1) if m else None


def lock_timeout() -> float:
    """Seconds a writer waits for a warehouse another process holds: CCMETER_LOCK_TIMEOUT
    (default 300)."""
    text = os.environ.get("CCMETER_LOCK_TIMEOUT", "").strip()
    if not text:
        return DEFAULT_LOCK_TIMEOUT_S
    try:
        value = float(text)
        if value < 0 or value != value or value == float("inf"):
            raise ValueError
    except ValueError:
        raise ValueError(f"CCMETER_LOCK_TIMEOUT={text!r}: expected a number of seconds ≥ 0") from None
    return value


def damaged_message(path: Path | str) -> str:
    return (f"the warehouse {path} is damaged (not a readable DuckDB database); "
            f"run `ccmeter rebuild` to rebuild it from the inbox and the issued files")


def connect_waiting(path: Path | str, read_only: bool = False, timeout: float | None = None,
                    on_wait=None, poll: float = 0.5, **config):
    """`connect`, waiting while another process holds the warehouse's lock: `on_wait`
    gets one message naming the holder's PID, then up to `timeout` seconds (default
    `lock_timeout()`) pass before WarehouseBusy. Nothing is written before the lock is
    had. A file that is not a DuckDB database (or a corrupt one) raises WarehouseDamaged."""
    timeout = lock_timeout() if timeout is None else timeout
    deadline = time.monotonic() + timeout
    told = False
    while True:
        try:
            return connect(path, read_only=read_only, **config)
        except duckdb.Error as exc:
            if is_damage_error(exc):
                raise WarehouseDamaged(damaged_message(path)) from exc
            if not is_lock_error(exc):
                raise
            pid = lock_holder(exc)
            holder = f"held by PID {pid}" if pid else "held by another process"
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WarehouseBusy(f"the warehouse {path} is in use ({holder}); gave up after {timeout:g} s "
                                    f"(CCMETER_LOCK_TIMEOUT); nothing was changed") from exc
            if not told and on_wait is not None:
                on_wait(f"waiting for the warehouse {path} ({holder}), up to {timeout:g} s")
                told = True
            time.sleep(min(poll, max(remaining, 0.01)))
