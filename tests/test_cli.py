"""The command line as a tool: version, helps naming the environment, choices, the
anomaly summary a reviewer reads first, a warning for a month with nothing to bill."""
from __future__ import annotations

import csv
import io
import json

import pytest
from helpers import write_feed

from metering.render.summary import anomaly_summary_rows
from metering.workspace import Workspace
from pipelines.cli import main


@pytest.fixture
def ws(tmp_path, monkeypatch) -> Workspace:
    monkeypatch.setenv("CCMETER_HOME", str(tmp_path / "ws"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.setenv("CCMETER_TODAY", "2026-12-04")
    return Workspace.from_env().ensure()


def test_version_and_help_name_the_environment(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("ccmeter ")
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in ("CCMETER_HOME", "CCMETER_TARIFFS", "CCMETER_TODAY", "CCMETER_LOOKBACK_MONTHS",
                 "CCMETER_MEMORY_LIMIT", "CCMETER_WORKERS", "CCMETER_LOCK_TIMEOUT", "exit codes"):
        assert name in out


def test_an_unknown_feed_is_a_clear_error(ws, capsys):
    with pytest.raises(SystemExit) as done:
        main(["quarantine", "--feed", "nope"])
    assert done.value.code == 2 and "invalid choice: 'nope'" in capsys.readouterr().err


def test_anomaly_summary_counts_per_kind_rule_and_subscriber():
    anomalies = ([{"kind": "outside_hours", "rule": "A1", "subscriber_id": "S1", "record": f"calls/c{i}",
                   "message": "outside BASIC hours"} for i in range(5)]
                 + [{"kind": "no_subscription", "rule": "G9", "subscriber_id": "S2", "record": "calls/x",
                     "message": "no subscription"}]
                 + [{"kind": "outside_hours", "rule": "A1", "subscriber_id": "S3", "record": "calls/y",
                     "message": "outside"}] * 2)
    rows = anomaly_summary_rows(anomalies)
    assert [(r["kind"], r["subscriber_id"], r["count"], r["first_record"]) for r in rows] == [
        ("outside_hours", "S1", 5, "calls/c0"), ("outside_hours", "S3", 2, "calls/y"),
        ("no_subscription", "S2", 1, "calls/x")]


def test_an_issued_month_has_its_anomaly_summary_and_an_empty_month_warns(ws, capsys):
    write_feed(ws, "subscribers", "s.csv", [{"subscriber_id": "S1", "name": "Acme", "country": "NL"}])
    write_feed(ws, "subscriptions", "a.csv", [{"subscriber_id": "S1", "product": "phone:BASIC",
                                               "valid_from": "2026-10-01"}])
    write_feed(ws, "calls", "c.csv", [{
        "call_id": f"n{i}", "subscriber_id": "S1", "call_type": "inbound", "started_at": "2026-10-05T22:00:00+02:00",
        "answered_at": "2026-10-05T22:00:05+02:00", "ended_at": "2026-10-05T22:01:05+02:00", "talk_s": 60}
        for i in range(3)])
    assert main(["bill", "2026-10", "--no-pdf", "--skip-checks"]) == 0
    month_dir = ws.month_dir("2026-10")
    rows = list(csv.DictReader(io.StringIO((month_dir / "anomalies-summary.csv").read_text())))
    assert [(r["kind"], r["subscriber_id"], r["count"]) for r in rows] == [("outside_hours", "S1", "3")]
    manifest = json.loads((month_dir / "manifest.json").read_text())
    assert "anomalies-summary.csv" in {f["name"] for f in manifest["files"]}
    capsys.readouterr()
    assert main(["bill", "2026-09", "--no-pdf", "--skip-checks"]) == 0
    assert "warning: nothing was billed for 2026-09" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["quarantine", "--limit", "-5"], ["bill", "2026-10", "--workers", "0"],
                                  ["bench", "--calls", "-1"], ["bill", "2026-10", "--workers", "many"]])
def test_counts_must_be_positive_whole_numbers(ws, capsys, argv):
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2 and "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("month", ["2026-1", "26-10", "2026-10-01", "2026-00", " ", "2026-13"])
def test_a_month_is_strictly_yyyy_mm(ws, capsys, month):
    assert main(["bill", month]) == 2
    assert "expected YYYY-MM" in capsys.readouterr().err
