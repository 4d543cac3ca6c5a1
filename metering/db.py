"""Small DuckDB helpers. DuckDB 2.0 keeps a half-read result open on the connection
(`fetchone()` leaves it unfinished and blocks `register`), so results are always read
to the end here."""
from __future__ import annotations

from pathlib import Path

import duckdb


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
    config = {}
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
        con.execute(("create or replace temp table " if temp else "create or replace table ")
                    + name + " as select * from " + view)
    finally:
        con.unregister(view)
