"""What both profiles of the generator share: the inbox columns of data-contract.md,
months, ids, typed UTC instants, label columns and atomic file writes (an inbox sensor
never sees half a file)."""
from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

# The inbox columns of each feed, in file order (data-contract.md).
COLUMNS = {
    "subscribers": ["subscriber_id", "name", "country", "address", "vat_id", "email",
                    "street", "city", "postcode", "company_id", "peppol_id", "buyer_reference"],
    "subscriptions": ["subscriber_id", "product", "quantity", "valid_from", "valid_to", "params"],
    "calls": ["call_id", "subscriber_id", "call_type", "parent_call_id", "started_at", "answered_at",
              "ended_at", "talk_s", "caller_number", "destination_country", "report"],
    "interactions": ["interaction_id", "subscriber_id", "channel", "started_at", "ended_at", "handle_s",
                     "agent_id"],
    "worklogs": ["worklog_id", "subscriber_id", "activity", "started_at", "minutes", "km", "consultant",
                 "description"],
}


# --- months ----------------------------------------------------------------------------

def parse_month(text: str) -> date:
    """`YYYY-MM` → its first day; anything else is a ValueError that says what is expected."""
    if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}", text.strip()):
        raise ValueError(f"not a month {text!r}: expected YYYY-MM, e.g. 2026-10")
    y, m = map(int, text.strip().split("-"))
    if not 1 <= m <= 12 or not 1970 < y < 3000:
        raise ValueError(f"not a month {text!r}: expected YYYY-MM, e.g. 2026-10")
    return date(y, m, 1)


def add_months(first: date, k: int) -> date:
    """The first day of the month k months after (k < 0: before) the month of `first`."""
    m = first.year * 12 + first.month - 1 + k
    return date(m // 12, m % 12 + 1, 1)


def days_in(first: date) -> int:
    return (add_months(first, 1) - first).days


# --- columns -----------------------------------------------------------------------------

def numbered_ids(prefix: str, numbers: np.ndarray, width: int) -> pl.Series:
    """`prefix` + each number zero-padded to `width` digits (C2026100-000000001, S000042)."""
    return pl.select(pl.lit(prefix) + pl.Series(numbers.astype(np.int64)).cast(pl.String).str.zfill(width)
                     ).to_series()


def labels(names: tuple[str | None, ...] | list[str | None], codes: np.ndarray) -> pl.Series:
    """Text column from integer codes into a small list of names (a gather, no loop)."""
    return pl.Series(list(names), dtype=pl.String).gather(pl.Series(np.asarray(codes).astype(np.int64)))


def utc_instants(epoch_s: np.ndarray, valid: np.ndarray | None = None) -> pl.Series:
    """Epoch seconds → Datetime(us, UTC), as Parquet stores a typed instant; null where
    `valid` is False."""
    s = pl.Series(np.asarray(epoch_s).astype(np.int64) * 1_000_000).cast(pl.Datetime("us")) \
        .dt.replace_time_zone("UTC")
    if valid is not None:
        s = pl.select(pl.when(pl.Series(valid)).then(s).otherwise(None)).to_series()
    return s


# --- files -------------------------------------------------------------------------------

def temporary_name(path: Path) -> Path:
    """Where a file is written before it is renamed into place: a hidden name beside it,
    which ingestion skips (a leading dot)."""
    return path.with_name(f".{path.name}.tmp")


def write_atomically(path: Path, write: Callable[[Path], None]) -> Path:
    """`write(tmp)` writes the file's bytes to a temporary name, then one rename makes it
    appear whole. Returns `path`."""
    tmp = temporary_name(path)
    write(tmp)
    os.replace(tmp, path)
    return path
