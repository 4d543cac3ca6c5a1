"""SQL lives in sql/ files (metering/sqlfiles.py states the rule and its exceptions):
no statement of the domain is inlined in metering/, placeholders are filled from code
or refused, and the timestamp parsing of the staging checks is one macro."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import duckdb
import pytest

from metering import sqlfiles
from metering.ingest import MACROS, create_macros

REPO = Path(__file__).resolve().parent.parent
SQL_START = re.compile(r"\s*(select|insert|update|delete|create|drop|alter|with|copy|attach|describe)\b", re.I)
# every statement of the domain is in sql/ (transaction control and session settings
# are not statements of the domain: sqlfiles.py says which stay inline)
KNOWN_INLINE: set[tuple[str, str]] = set()


def _executed_strings(tree: ast.AST):
    """String literals (or their f-string / concatenated parts) given as the statement of
    a call that runs SQL: con.execute, rows, scalar, and sqlalchemy's text."""
    runners = {"execute", "rows", "scalar", "text", "sql"}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name not in runners:
            continue
        # rows(con, "…"): the statement is the second argument
        statement = node.args[1] if name in ("rows", "scalar") and len(node.args) > 1 else node.args[0]
        for part in ast.walk(statement):
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                yield node.lineno, part.value
                break


def test_no_statement_of_the_domain_is_inlined_in_metering_assets_or_pipelines():
    found = []
    for path in sorted(p for d in ("metering", "assets", "pipelines") for p in (REPO / d).rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        for line, text in _executed_strings(ast.parse(path.read_text(encoding="utf-8"))):
            if SQL_START.match(text) and (rel, " ".join(text.split())) not in KNOWN_INLINE:
                found.append(f"{rel}:{line}: {text[:60]!r}")
    assert found == [], "inline SQL (move it to sql/, load it with metering.sqlfiles):\n" + "\n".join(found)


def test_the_check_finds_an_inlined_statement():
    tree = ast.parse('def f(con):\n    con.execute("select 1 from calls")\n    rows(con, f"select {x} from t")\n')
    assert [t for _, t in _executed_strings(tree) if SQL_START.match(t)] == ["select 1 from calls", "select "]


def test_fill_replaces_placeholders_and_refuses_gaps():
    text = sqlfiles.fill("validation/feed_table_rows", table="calls")
    assert "__" not in text and "from calls" in text
    with pytest.raises(ValueError, match="no placeholder __column__"):
        sqlfiles.fill("validation/feed_table_rows", table="calls", column="x")
    with pytest.raises(ValueError, match="not filled"):
        sqlfiles.fill("staging/classified_records", table="calls")  # __id__ left


TIMESTAMP_COLUMNS = {"staging_calls": ("started_at", "answered_at", "ended_at"),
                     "staging_interactions": ("started_at", "ended_at"), "staging_worklogs": ("started_at",)}


@pytest.mark.parametrize("name", sorted(TIMESTAMP_COLUMNS))
def test_staging_parses_every_timestamp_with_the_one_macro(name):
    text = sqlfiles.sql(f"staging/{name}")
    assert "timestamptz" not in text, "timestamp parsing belongs in sql/macros/iso_instant.sql"
    for column in TIMESTAMP_COLUMNS[name]:
        assert f"coalesce(_typed_{column}, iso_instant({column}_text)) as {column}," in text


@pytest.mark.parametrize("text,expected", [
    ("2026-10-05T09:13:07+02:00", "2026-10-05 07:13:07+00"),
    ("2026-10-05 09:13:07Z", "2026-10-05 09:13:07+00"),
    ("2026-10-05T09:13:07z", "2026-10-05 09:13:07+00"),          # a lower-case z is read as Z
    ("2026-10-05t09:13:07Z", None),                              # the separator is T or a space
    ("2026-10-05T09:13:07.250-01:30", "2026-10-05 10:43:07.25+00"),
    ("2026-10-05T09:13:07", None),                               # no offset: never read as UTC
    ("2026-10-05", None),
    ("05-10-2026T09:13:07+02:00", None),                         # not date first
    ("2026-13-05T09:13:07+02:00", None),                         # shape passes, the cast refuses
    ("tomorrow at nine, +01:00", None),
    (None, None),
])
def test_iso_instant(text, expected):
    con = duckdb.connect()
    con.execute("set timezone = 'UTC'")
    create_macros(con)
    got = con.execute("select cast(iso_instant($t) as varchar)", {"t": text}).fetchall()[0][0]
    assert got == expected


def test_macros_are_temporary_and_made_on_a_read_only_warehouse(tmp_path):
    from metering.db import connect
    from metering.ingest import create_tables

    path = tmp_path / "w.duckdb"
    con = connect(path)
    create_tables(con)
    con.close()
    ro = connect(path, read_only=True)
    create_tables(ro)
    made = {r[0]: r[1] for r in ro.execute(
        "select function_name, database_name from duckdb_functions() where function_type = 'macro' "
        "and list_contains($names, function_name)", {"names": list(MACROS)}).fetchall()}
    assert made == {name: "temp" for name in MACROS}
