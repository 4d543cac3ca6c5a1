"""`ccmeter rebuild`: the way back from a damaged or lost warehouse. The inbox and the
issued files are the sources of truth (data-contract.md): a new warehouse loads every
inbox file — first those each issued month had loaded, in the order of the issues, so
an id seen twice keeps the same first version — then the issued documents from the
manifests. The old warehouse is kept beside it, renamed, never deleted."""
from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from metering import issued as issued_db
from metering.feeds import FEEDS
from metering.ingest import create_tables, ingest, ingest_file
from metering.manifest import issued_months, recover
from metering.workspace import Workspace


def rebuild(ws: Workspace, progress=None, publish=None, on_wait=None) -> tuple[Path | None, list]:
    """Rebuilds the work database (and, through `publish`, the analysts' warehouse)."""
    recover(ws)
    backup = None
    if ws.work_db.exists():
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        backup = ws.work_db.with_name(f"{ws.work_db.name}.before-rebuild-{stamp}")
        os.rename(ws.work_db, backup)
        wal = ws.work_db.with_name(ws.work_db.name + ".wal")
        if wal.exists():
            os.rename(wal, backup.with_name(backup.name + ".wal"))
    elif ws.warehouse.exists():  # no work database yet: the analysts' copy is the old state
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        backup = ws.warehouse.with_name(f"{ws.warehouse.name}.before-rebuild-{stamp}")
        os.rename(ws.warehouse, backup)
    from metering.db import connect_waiting
    # a fresh work database: never the analysts' copy adopted (that is what is rebuilt)
    con = connect_waiting(ws.work_db, on_wait=on_wait)
    try:
        create_tables(con)
        results = []
        seen: set[str] = set()
        issued = issued_months(ws)
        for month in sorted(issued, key=lambda m: issued[m].issued_at):
            for f in issued[month].manifest.get("loaded_files", []):
                rel = f["path"]
                feed, _, name = rel.partition("/")
                path = ws.feed_dir(feed) / name
                if rel in seen or feed not in FEEDS or not path.is_file():
                    continue
                seen.add(rel)
                r = ingest_file(con, ws, FEEDS[feed], path)
                if progress and r.status != "skipped":
                    progress(r)
                results.append(r)
        results += [r for r in ingest(con, ws, progress=progress) if r.status != "skipped"]
        issued_db.sync(con, ws)
    except BaseException:
        con.close()
        raise
    if publish is None:
        from metering.snapshot import publish as publish_snapshot
        publish_snapshot(con, ws)
        con.close()
    else:
        publish(con, ws)
    return backup, results
