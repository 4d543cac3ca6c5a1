"""Reconciliation checks over a billed month in the warehouse (used by the Dagster
asset checks and the tests): specification totals = sum of lines, and each line's
quantity = the sum of the quantities of the records traced to it."""
from __future__ import annotations

from metering import sqlfiles
from metering.db import rows


def total_mismatches(con, month: str) -> list[tuple]:
    return rows(con, sqlfiles.sql("checks/total_mismatches"), {"month": month})


def trace_mismatches(con, month: str) -> list[tuple]:
    return rows(con, sqlfiles.sql("checks/trace_mismatches"), {"month": month})
