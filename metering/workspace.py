"""The workspace directory of a deployment (data-contract.md: `CCMETER_HOME`)."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

FEEDS = ("subscribers", "subscriptions", "calls", "interactions", "worklogs")
SUBSCRIBER_ID = re.compile(r"^[A-Za-z0-9_.-]+$")


def safe_subscriber_id(subscriber_id: str, max_length: int | None = None) -> str:
    """A subscriber id that may name a file: letters, digits, `-`, `_`, `.`, not starting
    with a dot (a hidden file, `.` or `..`) and at most `max_length` characters (the
    ingestion limit, `CCMETER_MAX_ID_LENGTH`, 64 by default). Anything else raises, so
    an id never becomes a path unchecked."""
    if max_length is None:
        from metering.limits import Limits
        max_length = Limits.from_env().max_id_length
    if (not SUBSCRIBER_ID.fullmatch(subscriber_id or "") or subscriber_id.startswith(".")
            or len(subscriber_id) > max_length):
        raise ValueError(f"subscriber id {subscriber_id[:80]!r} may not name a file")
    return subscriber_id


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def from_env(cls, root: str | os.PathLike | None = None) -> "Workspace":
        path = Path(root or os.environ.get("CCMETER_HOME") or "workspace")
        return cls(path.resolve())

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    def feed_dir(self, feed: str) -> Path:
        return self.inbox / feed

    @property
    def warehouse(self) -> Path:
        """The analysts' copy, published at the end of every run (metering.snapshot)."""
        return self.root / "warehouse.duckdb"

    @property
    def work_db(self) -> Path:
        """The database runs work in; only ccmeter opens it."""
        return self.root / ".ccmeter" / "work.duckdb"

    @property
    def specifications(self) -> Path:
        return self.root / "specifications"

    def month_dir(self, month: str) -> Path:
        return self.specifications / month

    @property
    def dagster_home(self) -> Path:
        return self.root / ".dagster"

    def ensure(self) -> "Workspace":
        for feed in FEEDS:
            self.feed_dir(feed).mkdir(parents=True, exist_ok=True)
        self.specifications.mkdir(parents=True, exist_ok=True)
        return self
