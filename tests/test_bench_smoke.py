"""Smoke test of the benchmark: a small synthetic month through the same stage runner
`ccmeter bench` uses. It checks what the figures are computed from (counts, totals), not
how fast anything is: the benchmark asserts no time."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from benchmarks.bench import expected_counts, parse_stages, run_stages
from metering.workspace import Workspace
from synthetic import bench_month

SMALL = bench_month.SynthSpec(calls=20_000, subscribers=200, interactions=4_000, worklogs=2_000, chunk_rows=8_000)
REQUIRED = ("end_to_end_seconds", "rating_seconds", "floor_seconds", "ingest_floor_seconds", "peak_rss_mib",
            "per_spec_ms", "stages")
STAGE_KEYS = ("name", "seconds", "rows", "rows_per_s", "peak_rss_mib", "ratio_to_floor")


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    ws = Workspace.from_env(root).ensure()
    manifest, generated = bench_month.ensure(ws.root, SMALL)
    assert generated
    report = run_stages(ws, SMALL.month, pdf=True, workers=(1,), floor_repeats=1, say=lambda m: None)
    return ws, manifest, report


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((root / "inbox").rglob("*")) if p.is_file()}


def test_generator_is_deterministic_and_reused(tmp_path):
    spec = bench_month.SynthSpec(calls=3_000, subscribers=40, worklogs=300, chunk_rows=1_000)
    a, b = tmp_path / "a", tmp_path / "b"
    bench_month.generate(a, spec)
    bench_month.generate(b, spec)
    assert _digest(a) == _digest(b)
    assert len(list((a / "inbox" / "calls").glob("*.parquet"))) == 3
    _, generated = bench_month.ensure(a, spec)
    assert not generated  # same arguments: the files are reused


def test_generated_calls_follow_the_contract(bench_run):
    ws, manifest, _ = bench_run
    con = duckdb.connect(":memory:")
    calls = str(ws.feed_dir("calls") / "*.parquet")
    n, bad_talk, unanswered_talk, orphan_legs, types = con.execute("""
        select count(*),
               count(*) filter (where answered_at is not null
                                and talk_s <> epoch(ended_at) - epoch(answered_at)),
               count(*) filter (where answered_at is null and talk_s <> 0),
               count(*) filter (where call_type <> 'inbound' and parent_call_id not in
                                (select call_id from read_parquet($calls) where call_type = 'inbound')),
               count(distinct call_type)
        from read_parquet($calls)""", {"calls": calls}).fetchall()[0]
    assert n == SMALL.calls == manifest["counts"]["calls"]
    assert (bad_talk, unanswered_talk, orphan_legs, types) == (0, 0, 0, 3)
    # every family of the catalog has subscribers and subscription rows
    products = {r[0].split(":")[0] for r in con.execute(
        "select distinct product from read_csv($glob)", {"glob": str(ws.feed_dir("subscriptions") / "*.csv")}
    ).fetchall()}
    assert {"phone", "messaging", "servicepack", "klippekort", "interact", "remote"} <= products


def test_ingest_loads_every_record(bench_run):
    _, manifest, report = bench_run
    ingest = next(s for s in report["stages"] if s["name"] == "ingest")
    assert ingest["error"] is None
    counts = manifest["counts"]
    assert ingest["rows"] == counts["calls"] + counts["interactions"] + counts["worklogs"]
    assert ingest["detail"]["quarantined"] == 0 and ingest["detail"]["duplicates"] == 0
    assert ingest["detail"]["all_reconcile"]


def test_rating_counts_every_answered_inbound_call(bench_run):
    ws, _, report = bench_run
    expected = expected_counts(ws, SMALL.month)
    assert expected["answered_inbound_answering"] > 10_000
    checks = report["checks"]
    assert checks["answering_calls_rated"] == expected["answered_inbound_answering"]
    assert checks["rated_records_calls"] == expected["answered_inbound_answering"]


def test_specification_totals_are_the_sum_of_lines(bench_run):
    ws, _, report = bench_run
    checks = report["checks"]
    assert checks["specs"] >= 150 and checks["lines"] > checks["specs"]
    assert checks["subtotal_mismatches"] == [] and checks["total_mismatches"] == []
    assert checks["spec_header_line_mismatches"] == 0
    month_dir = ws.month_dir(SMALL.month)
    assert len(list(month_dir.glob("*.pdf"))) == checks["specs"]
    assert len([p for p in month_dir.glob("*.json") if p.name != "manifest.json"]) == checks["specs"]


def test_report_has_the_figures(bench_run):
    _, _, report = bench_run
    assert report["failed_stages"] == []
    for key in REQUIRED:
        assert report.get(key) is not None, key
    names = [s["name"] for s in report["stages"]]
    assert names == ["ingest", "usage", "answering", "rating", "files_no_pdf", "publish_w1", "snapshot"]
    snapshot = next(s for s in report["stages"] if s["name"] == "snapshot")
    assert snapshot["floor"] == "file_copy" and snapshot["detail"]["bytes"] > 0
    for s in report["stages"]:
        assert all(k in s for k in STAGE_KEYS)
        assert s["rows"] and s["seconds"] > 0 and s["peak_rss_mib"] > 0
    assert all(s["ratio_to_floor"] for s in report["stages"])


def test_stage_names_are_checked():
    assert parse_stages(None) == ("usage", "answering", "files", "publish", "snapshot")
    assert parse_stages("") == ()
    assert parse_stages(" publish ,usage") == ("publish", "usage")
    with pytest.raises(ValueError, match="unknown stage pdf"):
        parse_stages("usage,pdf")


def test_ingest_and_rating_alone_give_the_same_totals(bench_run, tmp_path):
    """The 100 M run times ingest and rating only (`--stages ''`): the same month must
    bill to the same specifications as the full run."""
    _, _, full = bench_run
    ws = Workspace.from_env(tmp_path).ensure()
    bench_month.ensure(ws.root, SMALL)
    report = run_stages(ws, SMALL.month, pdf=False, floors=False, stages=(), say=lambda m: None)
    assert [s["name"] for s in report["stages"]] == ["ingest", "rating"]
    assert report["failed_stages"] == [] and report["rating_seconds"] > 0
    for key in ("specs", "lines", "subtotal_mismatches", "total_mismatches"):
        assert report["checks"][key] == full["checks"][key], key
    assert report["checks"]["totals"] == full["checks"]["totals"]


def test_rating_benchmark_rebills_the_ingested_workspace(bench_run, tmp_path, monkeypatch, capsys):
    from benchmarks import rating

    ws, _, full = bench_run
    monkeypatch.setenv("CCMETER_HOME", str(ws.root))
    out = tmp_path / "rating.json"
    assert rating.main(["--month", SMALL.month, "--repeat", "2", "--tables", "--json", str(out)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert len(report["runs"]) == 2 and report["same_totals_every_run"]
    assert report["runs"][0]["checks"]["totals"] == full["checks"]["totals"]
    assert set(report["runs"][0]["split_seconds"]) >= {"build_usage", "rate.answering", "rate.service_pack"}
    assert all(r["write_tables_seconds"] > 0 for r in report["runs"])
    assert "best/floor" in capsys.readouterr().out


def test_rating_benchmark_needs_an_ingested_workspace(tmp_path, monkeypatch, capsys):
    from benchmarks import rating

    monkeypatch.setenv("CCMETER_HOME", str(tmp_path / "nothing"))
    assert rating.main([]) == 2
    assert "has ingested" in capsys.readouterr().err


def test_the_installed_command_runs_the_benchmark_and_rejects_an_unknown_stage(tmp_path):
    """`ccmeter bench` from the venv's console script (not `python -m`): the benchmarks
    package must be installed, and a bad --stages ends with exit code 2 before any data
    is generated."""
    import os
    import subprocess
    import sys

    ccmeter = Path(sys.executable).parent / "ccmeter"
    home = tmp_path / "bench"
    done = subprocess.run([str(ccmeter), "bench", "--calls", "10", "--stages", "pdf"], cwd=tmp_path,
                          env={**os.environ, "CCMETER_HOME": str(home)}, capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert "unknown stage pdf" in done.stderr and "Traceback" not in done.stderr
    assert not (home / "inbox").exists()
