"""What every pricing module gets for one billing month."""
from __future__ import annotations

from dataclasses import dataclass

import duckdb

from metering.catalog import Catalog
from metering.contracts import Row, Subscriber
from metering.periods import Month


@dataclass
class BillingInput:
    con: duckdb.DuckDBPyConnection  # with `usage` built (all history)
    month: Month
    catalog: Catalog
    subscribers: dict[str, Subscriber]
    contracts: dict[str, list[Row]]  # rows in force (not cancelled), all time

    def family_rows(self, sid: str, family: str) -> list[Row]:
        return [r for r in self.contracts.get(sid, []) if r.family == family]

    def month_rows(self, sid: str, family: str) -> list[Row]:
        return [r for r in self.family_rows(sid, family) if r.days_in(self.month)]
