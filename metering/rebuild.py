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


def rebuild(ws: Workspace, progress=None, connect=None) -> tuple[Path | None, list]:
    recover(ws)
    backup = None
    if ws.warehouse.exists():
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        backup = ws.warehouse.with_name(f"{ws.warehouse.name}.before-rebuild-{stamp}")
        os.rename(ws.warehouse, backup)
        wal = ws.warehouse.with_name(ws.warehouse.name + ".wal")
        if wal.exists():
            os.rename(wal, backup.with_name(backup.name + ".wal"))
    if connect is None:
        from metering.db import connect as db_connect
        con = db_connect(ws.warehouse)
    else:
        con = connect(ws)
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
    finally:
        con.close()
    return backup, results
