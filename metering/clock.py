"""Today's date for issuing (pricing.md X1): the current date in Europe/Amsterdam, or
`CCMETER_TODAY=YYYY-MM-DD` for tests and backfills."""
from __future__ import annotations

import os
from datetime import date, datetime
from zoneinfo import ZoneInfo

from metering.periods import Month

OPERATOR_ZONE = ZoneInfo("Europe/Amsterdam")


class ClockError(ValueError):
    pass


def today() -> date:
    text = os.environ.get("CCMETER_TODAY")
    if text:
        try:
            return date.fromisoformat(text.strip())
        except ValueError:
            raise ClockError(f"CCMETER_TODAY={text!r} is not a date (expected YYYY-MM-DD)") from None
    return datetime.now(OPERATOR_ZONE).date()


def check_ended(month: Month) -> None:
    """A month can be issued only once it has ended: today must be after its last day."""
    now = today()
    if now <= month.last:
        state = "has not ended yet" if now >= month.first else "is in the future"
        raise ClockError(f"{month} {state} (today is {now.isoformat()}): a month can be issued from "
                         f"{month.end.isoformat()} on; use `ccmeter bill {month} --draft` to see it now")
