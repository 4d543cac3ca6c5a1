"""Loads the SQL statements kept in `sql/` (one statement per file, named after the
table it makes). SQL is never inlined in Python and data always goes in as parameters."""
from __future__ import annotations

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
    present = {r[0]: (r[1], r[2]) for r in con.execute(
        "select table_name, 'TABLE', comment from duckdb_tables() "
        "where database_name = current_database() and schema_name = 'main' and not temporary "
        "union all select view_name, 'VIEW', comment from duckdb_views() "
        "where database_name = current_database() and schema_name = 'main' and not temporary and not internal"
    ).fetchall()}
    columns: dict[tuple[str, str], str | None] = {(t, c): m for t, c, m in con.execute(
        "select table_name, column_name, comment from duckdb_columns() "
        "where database_name = current_database() and schema_name = 'main'").fetchall()}
    for name, text in descriptions().items():
        if name not in present or (tables is not None and name not in tables):
            continue
        kind, current = present[name]
        if current != text:
            con.execute(f"COMMENT ON {kind} {_ident(name)} IS {_quote(text)}")
        for col, col_text in column_descriptions(name).items():
            if (name, col) in columns and columns[(name, col)] != col_text:
                con.execute(f"COMMENT ON COLUMN {_ident(name)}.{_ident(col)} IS {_quote(col_text)}")
