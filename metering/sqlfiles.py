"""Loads the SQL statements kept in `sql/` (one statement per file, named after the
table or result it makes). Data always goes in as parameters, never into the SQL text.

Every statement that reads or writes the warehouse's tables, and every look-up in its
catalog, lives in a file here. Inline in Python stay only statements that are not
queries: transaction control (`begin transaction`, `commit`, `rollback`), `checkpoint`,
the session setting `set timezone` (metering.db.connect), and `COMMENT ON` (built by
`apply_descriptions` from sql/descriptions.yaml: it takes no parameters, so the quoted
text is part of the statement). No session variables: parameters that several
statements read are one row of a temp table made from bound parameters
(sql/staging/ingest_parameters.sql, sql/marts/answering_parameters.sql). Identifiers
cannot be parameters either: a file then holds `__name__` placeholders that `fill`
replaces with text from code (a table name of the feed definition, a column list), never
with data. Outside `metering/` the
GX expectations' own queries (gx/*.json, wrapped by metering.validation._sample) and
the benchmark's floors (benchmarks/) are SQL of their own tools, not of this package."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


@lru_cache(maxsize=None)
def sql(name: str) -> str:
    path = SQL_DIR / f"{name}.sql"
    return path.read_text(encoding="utf-8")


def run(con, name: str, params: dict | list | None = None):
    return con.execute(sql(name), params) if params is not None else con.execute(sql(name))


def fill(name: str, **parts: str) -> str:
    """The statement `name` with each `__key__` placeholder replaced by `parts[key]`:
    identifiers or column lists made in code, never data (data goes in as parameters).
    Every placeholder must be filled and every part must be used."""
    text = sql(name)
    for key, value in parts.items():
        placeholder = f"__{key}__"
        if placeholder not in text:
            raise ValueError(f"sql/{name}.sql has no placeholder {placeholder}")
        text = text.replace(placeholder, value)
    left = re.findall(r"__[a-z_]+__", text)
    if left:
        raise ValueError(f"sql/{name}.sql: placeholders not filled: {sorted(set(left))}")
    return text


def value(con, name: str, params: dict | list | None = None):
    """The single value of the one-row, one-column result of statement `name`."""
    found = run(con, name, params).fetchall()  # fetched to the end: DuckDB holds the connection till then
    return found[0][0] if found else None


def rows(con, name: str, params: dict | list | None = None) -> list[tuple]:
    return run(con, name, params).fetchall()


@lru_cache(maxsize=1)
def dictionary() -> dict[str, dict]:
    """sql/descriptions.yaml: per table or view, {description, made_by, columns:
    {column: {type, description}}} (the warehouse's data dictionary)."""
    data = yaml.safe_load((SQL_DIR / "descriptions.yaml").read_text(encoding="utf-8"))
    for table, entry in data.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("description"), str):
            raise ValueError(f"sql/descriptions.yaml: {table}: a description is required")
        entry.setdefault("made_by", [])
        entry.setdefault("columns", {})
    return data


def descriptions() -> dict[str, str]:
    """Table or view name → its description (the one-line form older callers use)."""
    return {name: " ".join(entry["description"].split()) for name, entry in dictionary().items()}


def column_descriptions(table: str) -> dict[str, str]:
    return {col: " ".join(str(c["description"]).split())
            for col, c in (dictionary().get(table, {}).get("columns") or {}).items()}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def apply_descriptions(con, tables=None) -> None:
    """COMMENT ON every table, view and column present in schema main from
    sql/descriptions.yaml (static text of the repository, quoted; COMMENT ON takes no
    parameters). `tables`: only these. A comment that already says the same is not
    rewritten, so calling this after every step that (re)creates a table is cheap."""
    present = {r[0]: (r[1], r[2]) for r in rows(con, "catalog/described_objects")}
    columns: dict[tuple[str, str], str | None] = {(t, c): m for t, c, m in rows(con, "catalog/column_comments")}
    for name, text in descriptions().items():
        if name not in present or (tables is not None and name not in tables):
            continue
        kind, current = present[name]
        if current != text:
            con.execute(f"COMMENT ON {kind} {_ident(name)} IS {_quote(text)}")
        for col, col_text in column_descriptions(name).items():
            if (name, col) in columns and columns[(name, col)] != col_text:
                con.execute(f"COMMENT ON COLUMN {_ident(name)}.{_ident(col)} IS {_quote(col_text)}")
