"""Trace check over a billed month in the warehouse (a Dagster asset check): each
line's quantity = the sum of the quantities of the records traced to it. (Totals =
sum of lines is `metering.validation.specification_totals`.)"""
from __future__ import annotations

from metering import sqlfiles
from metering.db import rows


def trace_mismatches(con, month: str) -> list[tuple]:
    return rows(con, sqlfiles.sql("checks/trace_mismatches"), {"month": month})
