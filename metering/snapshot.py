"""The analysts' warehouse (data-contract.md "warehouse.duckdb"): runs work in their own
database, `.ccmeter/work.duckdb` in the workspace, and publish `warehouse.duckdb` when
they finish — a checkpointed copy written beside it and renamed over it. A reader
connected at any moment keeps the snapshot it opened (the rename never touches an open
file), sees the last completed run on its next connection, and never blocks or is
blocked by a run."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from metering.render.files import TMP_MARK, file_mode, fsync_dir
from metering.workspace import Workspace


def adopt_published(ws: Workspace) -> bool:
    """A workspace from before the work database: its warehouse becomes the work
    database's starting point (a copy; the analysts' file stays where it is)."""
    if ws.work_db.exists() or not ws.warehouse.exists():
        return False
    ws.work_db.parent.mkdir(parents=True, exist_ok=True)
    tmp = ws.work_db.with_name(f".{ws.work_db.name}{TMP_MARK}{os.getpid()}.tmp")
    shutil.copyfile(ws.warehouse, tmp)
    os.replace(tmp, ws.work_db)
    return True


def publish(con, ws: Workspace, source: Path | None = None, target: Path | None = None) -> float:
    """Checkpoints the work database on `con` (its writer, still holding the lock, so no
    other run can change it meanwhile) and publishes it as warehouse.duckdb. Returns
    the seconds it took."""
    t0 = time.perf_counter()
    source = source or ws.work_db
    con.execute("checkpoint")
    target = target or ws.warehouse
    tmp = target.with_name(f".{target.name}{TMP_MARK}{os.getpid()}.tmp")
    try:
        shutil.copyfile(source, tmp)
        os.chmod(tmp, file_mode())
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
        fsync_dir(target.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return time.perf_counter() - t0


def clean(ws: Workspace) -> None:
    """Removes copies a crashed publish left beside the warehouse."""
    for p in ws.root.glob(f".{ws.warehouse.name}{TMP_MARK}*.tmp"):
        p.unlink(missing_ok=True)
