"""kill -9 of `ccmeter bill` at many moments (SIGKILL to its process group), then a
re-run: the month ends exactly as an uninterrupted run leaves it, with no temporary
file, no staging folder and no process left behind; and PDF workers die with their
parent when only the parent is killed."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psutil
import pytest
from helpers import write_feed

from metering.workspace import Workspace

AMS = ZoneInfo("Europe/Amsterdam")
CCMETER = str(Path(sys.executable).with_name("ccmeter"))


def _workspace(root: Path, subscribers: int) -> Workspace:
    ws = Workspace.from_env(root).ensure()
    ids = [f"S{i:04d}" for i in range(subscribers)]
    write_feed(ws, "subscribers", "subscribers.csv", [{"subscriber_id": s, "name": f"Name {s}", "country": "NL"}
                                                      for s in ids])
    write_feed(ws, "subscriptions", "a.csv", [{"subscriber_id": s, "product": "phone:BASIC",
                                               "valid_from": "2026-10-01"} for s in ids])
    calls = []
    for n, s in enumerate(ids):
        for k in range(3):
            start = datetime(2026, 10, 1 + (n + k) % 28, 9 + k, 0, tzinfo=AMS)
            calls.append({"call_id": f"{s}-{k}", "subscriber_id": s, "call_type": "inbound",
                          "started_at": start.isoformat(), "answered_at": start.isoformat(),
                          "ended_at": (start + timedelta(seconds=100 + k)).isoformat(), "talk_s": 100 + k})
    write_feed(ws, "calls", "calls.csv", calls)
    return ws


def _env(ws: Workspace) -> dict:
    env = dict(os.environ, CCMETER_HOME=str(ws.root), DAGSTER_HOME=str(ws.root / ".dagster"),
               CCMETER_TODAY="2026-12-04")
    return env


def _bill(ws: Workspace, *extra) -> subprocess.Popen:
    return subprocess.Popen([CCMETER, "bill", "2026-10", "--skip-checks", *extra], env=_env(ws),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _result(ws: Workspace) -> dict[str, bytes]:
    """Every file of the month; the manifest without its real issue instant."""
    month_dir = ws.month_dir("2026-10")
    out = {}
    for p in sorted(month_dir.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            if p.name == "manifest.json":
                m = json.loads(data)
                data = json.dumps(m["files"]).encode()
            out[str(p.relative_to(month_dir))] = data
    return out


def _leftovers(ws: Workspace) -> list[str]:
    return [str(p) for p in ws.specifications.rglob("*") if ".ccmeter-" in p.name or ".staging" in p.parts]


def _group_gone(pgid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    ws = _workspace(tmp_path_factory.mktemp("reference"), 60)
    t0 = time.monotonic()
    p = _bill(ws, "--workers", "2")
    assert p.wait(timeout=300) == 0
    return _result(ws), time.monotonic() - t0


# moments as fractions of an uninterrupted run: start-up, ingest, rating, staging
# (files, PDFs in two workers, checks) and the commit all get hit
@pytest.mark.parametrize("fraction", [0.15, 0.35, 0.5, 0.6, 0.7, 0.78, 0.85, 0.9, 0.95, 0.99])
def test_kill_9_at_any_moment_then_rerun_gives_the_uninterrupted_result(tmp_path, reference, fraction):
    expected, duration = reference
    ws = _workspace(tmp_path / "ws", 60)
    p = _bill(ws, "--workers", "2")
    try:
        p.wait(timeout=fraction * duration)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    assert _group_gone(p.pid)
    month_dir = ws.month_dir("2026-10")
    if (month_dir / "manifest.json").exists():
        assert _result(ws) == expected  # issued completely ...
    else:  # ... or not at all: nothing of the month is visible
        assert not month_dir.exists() or not any(month_dir.iterdir())
    again = _bill(ws, "--workers", "2")
    assert again.wait(timeout=300) == 0
    assert _result(ws) == expected
    assert _leftovers(ws) == []


def test_pdf_workers_die_with_their_parent(tmp_path):
    ws = _workspace(tmp_path / "ws", 400)
    p = _bill(ws, "--workers", "2")
    parent = psutil.Process(p.pid)
    deadline = time.monotonic() + 120
    workers = []
    while time.monotonic() < deadline and p.poll() is None:
        workers = [c for c in parent.children(recursive=True) if "multiprocessing" in " ".join(c.cmdline())]
        if len(workers) >= 2:
            break
        time.sleep(0.05)
    assert len(workers) >= 2, "the run ended before its PDF workers could be seen"
    os.kill(p.pid, signal.SIGKILL)  # the parent only, not its group
    p.wait()
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert alive == []
    assert not (ws.month_dir("2026-10") / "manifest.json").exists()
    assert _bill(ws, "--workers", "2").wait(timeout=300) == 0
    assert (ws.month_dir("2026-10") / "manifest.json").exists() and _leftovers(ws) == []
