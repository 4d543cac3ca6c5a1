"""Billing periods as Dagster partitions (architecture.md): months "2026-10" (as
`ccmeter bill 2026-10`) and quarters by their first day "2026-10-01".

Dynamic partitions, added when a period is first run — by `ccmeter bill`, the schedule or
the launchpad: which months exist is decided by the billing clock (`CCMETER_TODAY`, months
that have ended, metering.clock) when a run starts, not by the real clock when the code
location loads, and a workspace's history may start in any year. The partition bar then
shows the months this workspace billed, not years of "missing" ones."""
from __future__ import annotations

from datetime import datetime

from dagster import DagsterInstance, DynamicPartitionsDefinition

from metering.periods import Month, Quarter

TIMEZONE = "Europe/Amsterdam"

monthly = DynamicPartitionsDefinition(name="months")
quarterly = DynamicPartitionsDefinition(name="quarters")


def month_of(partition_key: str) -> Month:
    return Month.parse(partition_key)


def quarter_of(partition_key: str) -> Quarter:
    try:
        return Quarter.of(datetime.strptime(partition_key, "%Y-%m-%d").date())
    except ValueError:
        raise ValueError(f"quarter partition {partition_key!r}: expected the quarter's first day, "
                         "e.g. 2026-10-01") from None


def quarter_key(quarter: Quarter) -> str:
    return quarter.first.strftime("%Y-%m-%d")


def ensure_partition(instance: DagsterInstance, partitions: DynamicPartitionsDefinition, key: str) -> None:
    """Adds `key` to the dynamic partitions once (validated first: a month or a quarter)."""
    if partitions is monthly:
        key = str(month_of(key))
    else:
        quarter_of(key)
    name = partitions.name
    if name is None:
        raise ValueError("a dynamic partitions definition without a name cannot be added to")
    if not instance.has_dynamic_partition(name, key):
        instance.add_dynamic_partitions(name, [key])
