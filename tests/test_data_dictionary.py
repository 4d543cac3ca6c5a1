"""A documented model (issue 13): every table, view and column of a billed warehouse has
its description (COMMENT ON, from sql/descriptions.yaml), the YAML names nothing the
warehouse lacks, `ccmeter docs` writes the data dictionary, and the README's example
queries (docs/queries/*.sql) run on a billed demo workspace."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from metering import sqlfiles
from metering.db import connect
from metering.docs import render
from pipelines.cli import main
from synthetic import generate_workspace

REPO = Path(__file__).resolve().parent.parent
QUERIES = REPO / "docs" / "queries"


@pytest.fixture(scope="module")
def billed(tmp_path_factory):
    """A tiny demo workspace (bad files included: quarantine rows) with 2026-10 and
    2026-11 issued, the blocking checks run (validation_results)."""
    root = tmp_path_factory.mktemp("dictionary") / "workspace"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CCMETER_HOME", str(root))
        mp.setenv("CCMETER_TODAY", "2026-12-04")
        generate_workspace(root, months=["2026-08", "2026-09", "2026-10"], size="tiny", bad_files=True)
        assert main(["bill", "2026-10", "--no-pdf"]) == 0
        assert main(["bill", "2026-11", "--no-pdf", "--skip-checks"]) == 0
        # an issued month billed again rebuilds the routing tables (create or replace)
        assert main(["bill", "2026-10", "--no-pdf", "--skip-checks"]) == 0
        yield root


@pytest.fixture
def warehouse(billed):
    con = connect(billed / "warehouse.duckdb", read_only=True)
    yield con
    con.close()


def _objects(con) -> dict[str, str | None]:
    return dict(con.execute(
        "select table_name, comment from duckdb_tables() where database_name = current_database() "
        "and schema_name = 'main' union all select view_name, comment from duckdb_views() "
        "where database_name = current_database() and schema_name = 'main' and not internal").fetchall())


def _columns(con) -> list[tuple[str, str, str, str | None]]:
    return con.execute(
        "select table_name, column_name, data_type, comment from duckdb_columns() "
        "where database_name = current_database() and schema_name = 'main' "
        "order by table_name, column_index").fetchall()


def test_every_table_view_and_column_is_described(warehouse):
    objects = _objects(warehouse)
    assert len(objects) >= 20  # the loaded feeds, routing facts, issued and analytic tables
    undescribed = sorted(name for name, comment in objects.items() if not (comment or "").strip())
    assert undescribed == [], f"tables/views without a description (sql/descriptions.yaml): {undescribed}"
    columns = _columns(warehouse)
    missing = [f"{t}.{c}" for t, c, _, comment in columns if not (comment or "").strip()]
    assert missing == [], f"columns without a description (sql/descriptions.yaml): {missing}"
    # the comments are the YAML's text
    assert objects["spec_lines"] == sqlfiles.descriptions()["spec_lines"]
    by_column = {(t, c): comment for t, c, _, comment in columns}
    assert by_column[("spec_lines", "period")] == sqlfiles.column_descriptions("spec_lines")["period"]


def test_descriptions_name_nothing_the_warehouse_lacks_and_say_its_types(warehouse):
    objects = _objects(warehouse)
    kinds = dict(warehouse.execute(
        "select view_name, 'view' from duckdb_views() where database_name = current_database() "
        "and schema_name = 'main' and not internal").fetchall())
    found = {(t, c): data_type for t, c, data_type, _ in _columns(warehouse)}
    stale, wrong_type, wrong_kind = [], [], []
    for table, entry in sqlfiles.dictionary().items():
        if table not in objects:
            stale.append(table)
            continue
        if entry.get("kind", "table") != kinds.get(table, "table"):
            wrong_kind.append(table)
        for column, spec in entry["columns"].items():
            if (table, column) not in found:
                stale.append(f"{table}.{column}")
            elif str(spec.get("type")) != found[(table, column)]:
                wrong_type.append(f"{table}.{column}: YAML {spec.get('type')}, warehouse {found[(table, column)]}")
    assert stale == [], f"sql/descriptions.yaml describes what the warehouse does not have: {stale}"
    assert wrong_type == [], f"sql/descriptions.yaml types differ from the warehouse: {wrong_type}"
    assert wrong_kind == [], f"sql/descriptions.yaml kind (table/view) differs: {wrong_kind}"


def test_dictionary_entries_are_complete_and_lineage_exists():
    for table, entry in sqlfiles.dictionary().items():
        assert entry["description"].strip(), table
        assert entry["made_by"], f"{table}: made_by names no file"
        for path in entry["made_by"]:
            assert (REPO / path).is_file(), f"{table}: made_by {path} does not exist"
        assert entry["columns"], table
        for column, spec in entry["columns"].items():
            assert isinstance(spec, dict) and str(spec.get("description", "")).strip(), f"{table}.{column}"
            assert spec.get("type"), f"{table}.{column}: no type"


def _undescribed(con) -> list[str]:
    return sorted([name for name, comment in _objects(con).items() if not (comment or "").strip()]
                  + [f"{t}.{c}" for t, c, _, comment in _columns(con) if not (comment or "").strip()])


def test_a_draft_or_an_ingest_alone_leaves_no_table_undescribed(tmp_path, monkeypatch):
    """Runs that do not issue (a draft, `ccmeter ingest`) describe what they create too."""
    root = tmp_path / "workspace"
    monkeypatch.setenv("CCMETER_HOME", str(root))
    monkeypatch.setenv("CCMETER_TODAY", "2026-12-04")
    generate_workspace(root, months=["2026-10"], size="tiny", bad_files=False)
    assert main(["ingest"]) == 0
    con = connect(root / "warehouse.duckdb", read_only=True)
    try:
        assert "calls" in _objects(con) and _undescribed(con) == []
    finally:
        con.close()
    assert main(["bill", "2026-10", "--draft", "--no-pdf", "--skip-checks"]) == 0
    con = connect(root / "warehouse.duckdb", read_only=True)
    try:
        assert "plan_segments" in _objects(con) and _undescribed(con) == []
    finally:
        con.close()


def test_a_new_undescribed_column_is_caught(tmp_path):
    """The check above is not vacuous: a column added without a description is found."""
    con = connect(tmp_path / "w.duckdb")
    try:
        con.execute("create table calls (call_id varchar, secret_column varchar)")
        sqlfiles.apply_descriptions(con)
        missing = [f"{t}.{c}" for t, c, _, comment in _columns(con) if not (comment or "").strip()]
        assert missing == ["calls.secret_column"]
        assert _objects(con)["calls"] == sqlfiles.descriptions()["calls"]
    finally:
        con.close()


def test_apply_descriptions_survives_a_recreated_routing_table(billed, tmp_path):
    """Routing tables are `create or replace`d every run (comments dropped): building
    them describes them again."""
    import shutil

    from metering.contracts import load_contracts, load_subscribers
    from metering.routing import build_usage
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(billed / "warehouse.duckdb", copy)
    con = connect(copy)
    try:
        build_usage(con, load_subscribers(con), load_contracts(con))
        comments = {(t, c): m for t, c, _, m in _columns(con) if t in ("subscriber_zones", "plan_segments")}
        assert comments and all(comments.values())
    finally:
        con.close()


def test_docs_command_writes_a_deterministic_data_dictionary(billed, monkeypatch, capsys):
    monkeypatch.setenv("CCMETER_HOME", str(billed))
    assert main(["docs"]) == 0
    default = billed / "data-dictionary.md"
    text = default.read_text(encoding="utf-8")
    assert "written to" in capsys.readouterr().out
    out = billed / "elsewhere" / "dictionary.md"
    assert main(["docs", "--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == text  # deterministic: no date, no path
    for table, entry in sqlfiles.dictionary().items():
        assert f"\n## {table}\n" in text
        for path in entry["made_by"]:
            assert f"`{path}`" in text
    # columns with the warehouse's types and their descriptions
    assert "| `amount` | DECIMAL(18,2) | Rounded amount of the line" in text
    assert "| `started_at` | TIMESTAMP WITH TIME ZONE | Start of the leg, UTC instant." in text
    assert "(not described)" not in text
    # without a warehouse the types come from the YAML and say the same
    empty = billed.parent / "no-warehouse"
    monkeypatch.setenv("CCMETER_HOME", str(empty))
    assert main(["docs", "--output", str(empty / "d.md")]) == 0
    yaml_only = (empty / "d.md").read_text(encoding="utf-8")
    assert yaml_only.split("\n", 3)[3] == text.split("\n", 3)[3]


def test_docs_command_reports_an_unwritable_output_in_one_line(billed, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("CCMETER_HOME", str(billed))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["docs", "--output", str(blocker / "sub" / "d.md")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ccmeter: cannot write") and "Traceback" not in err


def test_docs_command_on_a_damaged_warehouse_falls_back_to_the_yaml(tmp_path, monkeypatch, capsys):
    root = tmp_path / "workspace"
    root.mkdir()
    (root / "warehouse.duckdb").write_bytes(b"not a database" * 100)
    monkeypatch.setenv("CCMETER_HOME", str(root))
    assert main(["docs"]) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("ccmeter: cannot read") and "Traceback" not in captured.err
    assert "types from sql/descriptions.yaml" in captured.out
    assert "| `amount` | DECIMAL(18,2) |" in (root / "data-dictionary.md").read_text(encoding="utf-8")


def test_committed_data_dictionary_is_current():
    """docs/data-dictionary.md is `ccmeter docs --links-to ../` output; regenerate it
    after changing sql/descriptions.yaml."""
    committed = (REPO / "docs" / "data-dictionary.md").read_text(encoding="utf-8")
    assert committed.split("\n", 3)[3] == render(None, links_to="../").split("\n", 3)[3], (
        "docs/data-dictionary.md is stale: run `ccmeter docs --links-to ../ --output docs/data-dictionary.md`")


def _documented_columns(sql_text: str) -> list[str]:
    match = re.search(r"Columns: (.*?)\.\n", sql_text.replace("\n-- ", " "), re.S)
    assert match, "each query says its columns in its header comment"
    return [c.strip() for c in match.group(1).split(",")]


QUERY_FILES = sorted(p.name for p in QUERIES.glob("*.sql"))


def test_five_example_queries_are_in_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(QUERY_FILES) == 5
    for name in QUERY_FILES:
        assert f"docs/queries/{name}" in readme


@pytest.mark.parametrize("name", QUERY_FILES)
def test_example_query_runs_on_the_billed_demo(warehouse, name):
    text = (QUERIES / name).read_text(encoding="utf-8")
    cur = warehouse.execute(text)
    rows = cur.fetchall()
    assert rows, f"{name} returned no rows on the billed demo"
    assert [d[0] for d in cur.description] == _documented_columns(text)


def test_records_behind_a_chosen_line_add_up_to_its_quantity(warehouse):
    from decimal import Decimal
    month, spec, line_no, quantity = warehouse.execute(
        "select month, spec_number, line_no, quantity from spec_lines where kind = 'line' "
        "and code = 'phone.talk_over_90s' order by spec_number limit 1").fetchone()
    warehouse.execute("set variable spec_number = $s", {"s": spec})
    warehouse.execute("set variable line_no = $n", {"n": line_no})
    rows = warehouse.execute((QUERIES / "records_behind_a_line.sql").read_text(encoding="utf-8")).fetchall()
    warehouse.execute("reset variable spec_number")
    warehouse.execute("reset variable line_no")
    assert rows and {(r[0], r[1], r[2]) for r in rows} == {(month, spec, line_no)}
    assert sum(r[9] for r in rows) == Decimal(quantity) == rows[0][5]
    assert all(r[11] is not None for r in rows)  # every record found in its feed (started_at)
