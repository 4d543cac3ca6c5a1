"""Resources of the code location: the workspace (data-contract.md) and its DuckDB
warehouse. Both resolve `CCMETER_HOME` when a run starts, not when the code loads, so
one loaded code location follows the environment it runs in (and tests can point it at
a temporary workspace). Set `home` / `database` to pin them instead."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from dagster import ConfigurableResource
from dagster_duckdb import DuckDBResource
from pydantic import Field

from metering.workspace import Workspace

# Every op that opens the warehouse is in this concurrency pool. Unlimited on one
# machine (the run queue already runs one run at a time); limited to 1 in
# deploy/dagster.distributed.yaml, where several runs execute at once.
WAREHOUSE_POOL = "warehouse"


class WorkspaceResource(ConfigurableResource):
    """The deployment's workspace: inbox, warehouse, specifications."""

    home: str = Field(default="", description="Workspace directory; empty: $CCMETER_HOME, else ./workspace")

    def get(self) -> Workspace:
        return Workspace.from_env(self.home or None).ensure()


class WarehouseResource(DuckDBResource):
    """dagster-duckdb's resource on the workspace's work database. Connections come from
    `metering.db.connect_waiting` (UTC, and a logged wait for a lock another run holds)
    and are closed even when the step fails, so the file is free for the next writer
    (DuckDB has one)."""

    database: str = Field(default="", description="DuckDB file runs work in; empty: <workspace>/.ccmeter/work.duckdb "
                                                  "(published as warehouse.duckdb for analysts after each step)")

    def path(self) -> Path:
        return Path(self.database) if self.database else Workspace.from_env().work_db

    @contextmanager
    def get_connection(self):
        path = self.path()
        if not self.database:
            from metering.snapshot import adopt_published
            adopt_published(Workspace.from_env())  # a workspace from before the work database
        import os

        from assets.progress import warn
        from metering.db import connect_waiting
        # ccmeter's own wait for a lock another run holds: one log line naming the holder,
        # then up to CCMETER_LOCK_TIMEOUT (dagster-duckdb's retry loop says nothing)
        con = connect_waiting(path, on_wait=warn,
                              memory_limit=os.environ.get("CCMETER_MEMORY_LIMIT"),
                              temp_directory=os.environ.get("CCMETER_TEMP_DIR"))
        try:
            yield con
        finally:
            con.close()


def build_resources(home: str = "") -> dict:
    """The resources of `pipelines.definitions`; `home` pins both to one workspace."""
    database = str(Workspace.from_env(home).work_db) if home else ""
    return {"workspace": WorkspaceResource(home=home), "warehouse": WarehouseResource(database=database)}
