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
