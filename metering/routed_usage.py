"""The routed `usage` table is built once per state of its inputs. The Dagster graph
builds it as a step of its own (asset `usage`, with its check) and the issuing step
after it must not pay for it again; a later run with nothing new loaded reuses it too.

Its inputs are the five loaded tables and the code that routes them, so the state is
a fingerprint of exactly those: a content hash of every row of every input table (a
test or an operator changing a row in place is seen, not only a new file) and of the
routing SQL and module. When in doubt — no fingerprint, no persistent `usage` table
(an older version kept it per connection) — it is rebuilt."""
from __future__ import annotations

import hashlib
from pathlib import Path

from metering import sqlfiles
from metering.contracts import Row, Subscriber
from metering.db import rows, scalar
from metering.routing import build_usage

_CODE = (Path(__file__).with_name("routing.py"), sqlfiles.SQL_DIR / "tables" / "usage.sql",
         sqlfiles.SQL_DIR / "marts" / "usage.sql")


def input_fingerprint(con) -> str:
    h = hashlib.sha256()
    for path in _CODE:
        h.update(path.read_bytes())
    for table, n, digest in rows(con, sqlfiles.sql("status/usage_inputs")):
        h.update(f"{table}:{n}:{digest}\0".encode())
    return h.hexdigest()


def ensure_usage(con, subscribers: dict[str, Subscriber], contracts: dict[str, list[Row]]) -> bool:
    """Builds `usage` unless the one in the warehouse was built from these very inputs.
    Returns whether it was built."""
    fingerprint = input_fingerprint(con)
    sqlfiles.run(con, "tables/usage_state")
    sqlfiles.apply_descriptions(con, ("usage_state",))
    if scalar(con, sqlfiles.sql("status/usage_built_from"), {"fingerprint": fingerprint}):
        return False
    build_usage(con, subscribers, contracts)
    sqlfiles.run(con, "ledger/usage_state_cleared")
    sqlfiles.run(con, "ledger/usage_state_row", {"fingerprint": fingerprint})
    return True
