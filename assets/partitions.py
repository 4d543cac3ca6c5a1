"""Billing periods as Dagster partitions (architecture.md): months, and quarters for the
AHT evaluation. Keys: months "2026-10" (as `ccmeter bill 2026-10`), quarters by their
first day "2026-10-01". Boundaries are in Europe/Amsterdam; a period becomes a partition
once it has ended (end_offset=0), so "the last partition" is the month just closed."""
from __future__ import annotations

from datetime import datetime

from dagster import MonthlyPartitionsDefinition, TimeWindowPartitionsDefinition

from metering.periods import Month, Quarter

TIMEZONE = "Europe/Amsterdam"

monthly = MonthlyPartitionsDefinition(start_date="2025-01", fmt="%Y-%m", timezone=TIMEZONE, end_offset=0)

# Dagster has no quarterly class: a cron time window on the first day of Jan/Apr/Jul/Oct.
quarterly = TimeWindowPartitionsDefinition(cron_schedule="0 0 1 */3 *", fmt="%Y-%m-%d", start="2025-01-01",
                                           timezone=TIMEZONE, end_offset=0)


def month_of(partition_key: str) -> Month:
    return Month.parse(partition_key)


def quarter_of(partition_key: str) -> Quarter:
    return Quarter.of(datetime.strptime(partition_key, "%Y-%m-%d").date())


def quarter_key(quarter: Quarter) -> str:
    return quarter.first.strftime("%Y-%m-%d")
