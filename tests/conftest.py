"""Shared fixtures: a fresh workspace and its warehouse connection."""
from __future__ import annotations

import pytest

from metering.db import connect
from metering.workspace import Workspace


@pytest.fixture
def tmp_workspace(tmp_path) -> Workspace:
    return Workspace.from_env(tmp_path / "workspace").ensure()


@pytest.fixture
def warehouse(tmp_workspace):
    con = connect(tmp_workspace.warehouse)
    yield con
    con.close()


_exit_status = {"code": 0}


def pytest_sessionfinish(exitstatus):  # pytest passes only the hook arguments named
    _exit_status["code"] = int(exitstatus)


def pytest_unconfigure(config):
    """DuckDB's and pyarrow's bindings list "leaked" objects at interpreter exit
    (harmless, see stack-facts.md); that noise would bury pytest's closing line, so the
    test process ends right after pytest has reported, with pytest's own exit code."""
    import os
    import sys
    if os.environ.get("CCMETER_TEST_NORMAL_EXIT"):
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status["code"])
