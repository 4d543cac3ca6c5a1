"""The warehouse model across versions: a table made by an older ccmeter (a VARCHAR
where a DECIMAL is now, a month without its CHECK, a column missing) is brought to the
shape its `sql/tables/<name>.sql` gives when a run opens the warehouse. `create table if
not exists` alone would leave it as it is.

- Tables derived from the issued files (spec_headers, spec_lines, issued_months,
  issued_loaded_files) are dropped and reloaded from the manifests (metering.issued),
  so every value goes through the same exact conversion as at issue.
- The other analytic tables (anomalies, contract_errors, rated_records, prepaid_ledger,
  aht_evaluations) are not derivable from files: their rows are copied into the new
  shape (common columns by name; a new column is null on old rows).

Table and column names reach the SQL only from the repository's DDL and DuckDB's own
catalog (identifiers cannot be parameters), quoted."""
from __future__ import annotations

from metering import sqlfiles

# analytic tables written at issue that no file can give back: migrated by copying rows
ANALYTIC_TABLES = ("anomalies", "contract_errors", "rated_records", "prepaid_ledger", "aht_evaluations")
MIGRATING = "__migrating"
PROBE = "model_probe_"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ddl(name: str, as_name: str, temp: bool = False) -> str:
    """The repository's `create table if not exists <name> (` statement for another name."""
    text = sqlfiles.sql(f"tables/{name}")
    head = f"create table if not exists {name} ("
    if text.count(head) != 1:
        raise ValueError(f"sql/tables/{name}.sql does not create table {name} in one statement")
    return text.replace(head, f"create {'temp ' if temp else ''}table {_ident(as_name)} (", 1)


def exists(con, name: str) -> bool:
    return bool(sqlfiles.value(con, "catalog/main_table_exists", {"t": name}))


def _shape(con, database: str, name: str) -> tuple[list, list]:
    columns = sqlfiles.rows(con, "catalog/table_shape_columns", {"d": database, "t": name})
    checks = sorted(r[0] for r in sqlfiles.rows(con, "catalog/table_shape_checks", {"d": database, "t": name}))
    return columns, checks


def outdated(con, name: str) -> bool:
    """Whether table `name` exists and differs from its DDL in columns, types or CHECKs
    (compared with the DDL made as an empty temp table)."""
    if not exists(con, name):
        return False
    probe = PROBE + name
    con.execute(_ddl(name, probe, temp=True))
    try:
        database = sqlfiles.value(con, "catalog/current_database")
        return _shape(con, database, name) != _shape(con, "temp", probe)
    finally:
        con.execute(_statement("drop_table", table="temp.main." + _ident(probe)))


def _statement(name: str, **identifiers: str) -> str:
    """A statement of sql/migrations with its `__placeholders__` filled by identifiers."""
    text = sqlfiles.sql(f"migrations/{name}")
    for key, value in identifiers.items():
        text = text.replace(f"__{key}__", value)
    return text


def rebuild(con, name: str) -> None:
    """Copies the rows of an outdated table into its current shape, in one transaction
    (a value that does not fit the new type fails the run: nothing is changed then)."""
    new = name + MIGRATING
    database = sqlfiles.value(con, "catalog/current_database")
    con.execute("begin transaction")
    try:
        con.execute(_statement("drop_table", table=_ident(new)))
        con.execute(_ddl(name, new))
        old_columns = [c for c, _ in _shape(con, database, name)[0]]
        new_columns = {c for c, _ in _shape(con, database, new)[0]}
        common = ", ".join(_ident(c) for c in old_columns if c in new_columns)
        con.execute(_statement("copy_rows", target=_ident(new), source=_ident(name), columns=common))
        con.execute(_statement("drop_table", table=_ident(name)))
        con.execute(_statement("rename_table", source=_ident(new), target=_ident(name)))
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def drop(con, names) -> None:
    for name in names:
        con.execute(_statement("drop_table", table=_ident(name)))


def migrate(con, tables=ANALYTIC_TABLES) -> list[str]:
    """Rebuilds every outdated table of `tables` (their rows kept) and describes it again
    (a new table has no comments); returns their names."""
    done = []
    for name in tables:
        if outdated(con, name):
            rebuild(con, name)
            done.append(name)
    if done:
        sqlfiles.apply_descriptions(con, done)
    return done


def create_trace_view(con) -> None:
    """The view line_records (the records behind each issued line), once both tables it
    joins exist; replaced every time so an older definition never stays."""
    if exists(con, "rated_records") and exists(con, "spec_lines"):
        sqlfiles.run(con, "tables/line_records")
        sqlfiles.apply_descriptions(con, ("line_records",))
