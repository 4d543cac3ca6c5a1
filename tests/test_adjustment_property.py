"""X3 as an invariant: whatever part of a month's data arrives late (records, subscribers,
a contract change), the month's issued lines plus the adjustments the next issue carries
for it equal the lines of a clean run that had everything on time, per subscriber and
line code, to the cent."""
from __future__ import annotations

import csv
import io
import os
import random
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metering.billing import bill_month
from metering.catalog import load_catalog
from metering.db import connect
from metering.ingest import ingest
from metering.issuing import issue_month
from metering.periods import Month
from metering.workspace import Workspace
from synthetic import generate_workspace

EXAMPLES = int(os.environ.get("CCMETER_EXAMPLES", "6"))
OCT, NOV = Month(2026, 10), Month(2026, 11)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("template")
    generate_workspace(root, months=["2026-09", "2026-10"], size="tiny", bad_files=False)
    return root


def _amounts(pairs) -> dict[tuple[str, str], Decimal]:
    out: dict[tuple[str, str], Decimal] = {}
    for sid, ln in pairs:
        key = (sid, ln["code"])
        out[key] = out.get(key, Decimal("0")) + Decimal(ln["amount"])
    return {k: v for k, v in out.items() if v != 0}


@pytest.fixture(scope="module")
def clean(template, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("clean")
    shutil.copytree(template, root, dirs_exist_ok=True)
    ws = Workspace.from_env(root).ensure()
    con = connect(ws.warehouse)
    try:
        ingest(con, ws)
        bill = bill_month(con, OCT, load_catalog())
    finally:
        con.close()
    assert not bill.errors
    return _amounts((s["subscriber_id"], ln) for s in bill.specs for ln in s["lines"])


def _split(path: Path, late_dir: Path, rng: random.Random, share: float, late_name: str) -> int:
    text = path.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, body = rows[0], rows[1:]
    late = [r for r in body if rng.random() < share]
    keep = [r for r in body if r not in late]

    def write(p: Path, records):
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header)
        w.writerows(records)
        p.write_text(buf.getvalue(), encoding="utf-8")
    write(path, keep)
    write(late_dir / late_name, late)
    return len(late)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), share=st.sampled_from([0.05, 0.2, 0.5, 0.9]),
       late_changes=st.booleans(), late_subscribers=st.booleans())
def test_issued_lines_plus_adjustments_equal_a_clean_run(template, clean, tmp_path_factory, monkeypatch,
                                                         seed, share, late_changes, late_subscribers):
    monkeypatch.setenv("CCMETER_TODAY", "2026-12-04")
    rng = random.Random(seed)
    root = tmp_path_factory.mktemp("split")
    shutil.copytree(template, root, dirs_exist_ok=True)
    ws = Workspace.from_env(root).ensure()
    held = root / "held-back"
    for feed in ("calls", "interactions", "worklogs"):
        (held / feed).mkdir(parents=True)
        _split(ws.feed_dir(feed) / f"{feed}-2026-10.csv", held / feed, rng, share, f"{feed}-z-late.csv")
    if late_subscribers:
        (held / "subscribers").mkdir(parents=True)
        _split(ws.feed_dir("subscribers") / "subscribers.csv", held / "subscribers", rng, 0.2,
               "subscribers-z-late.csv")
    if late_changes:
        (held / "subscriptions").mkdir(parents=True)
        change = "subscriptions-b-changes-2026-10.csv"
        shutil.move(ws.feed_dir("subscriptions") / change, held / "subscriptions" / change)
    catalog = load_catalog()
    con = connect(ws.warehouse)
    try:
        ingest(con, ws)
        october = issue_month(con, ws, OCT, catalog, pdf=False).bill
        for feed_dir in held.iterdir():
            for p in feed_dir.iterdir():
                shutil.move(p, ws.feed_dir(feed_dir.name) / p.name)
        ingest(con, ws)
        november = issue_month(con, ws, NOV, catalog, pdf=False).bill
    finally:
        con.close()
    issued = [(s["subscriber_id"], ln) for s in october.specs for ln in s["lines"]]
    adjusted = [(s["subscriber_id"], a) for s in november.specs for a in s["adjustments"] if a["period"] == "2026-10"]
    assert not [a for a in november.anomalies if a.kind.startswith("adjustment.")]
    assert _amounts(issued + adjusted) == clean
    for s in november.specs:
        assert all(a["adjusts"] == next((o["spec_number"] for o in october.specs
                                         if o["subscriber_id"] == s["subscriber_id"]), None)
                   for a in s["adjustments"])
