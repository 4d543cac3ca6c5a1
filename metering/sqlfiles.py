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
def descriptions() -> dict[str, str]:
    return yaml.safe_load((SQL_DIR / "descriptions.yaml").read_text(encoding="utf-8"))


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def apply_descriptions(con) -> None:
    """COMMENT ON every table and view from sql/descriptions.yaml (static text of the
    repository, quoted; COMMENT ON takes no parameters)."""
    existing = {r[0]: r[1] for r in con.execute(
        "select table_name, table_type from information_schema.tables where table_schema = 'main'").fetchall()}
    for name, text in descriptions().items():
        if name in existing:
            kind = "VIEW" if existing[name] == "VIEW" else "TABLE"
            con.execute(f"COMMENT ON {kind} {name} IS {_quote(text)}")
