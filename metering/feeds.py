"""The five input feeds of data-contract.md: their columns, which are required, and
the id that makes a record unique."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feed:
    name: str
    columns: tuple[str, ...]
    required: tuple[str, ...]
    id_column: str | None  # None: identity is composite (subscriptions keep versions)
    table: str
    formats: tuple[str, ...] = (".csv", ".parquet")


# Optional e-invoice columns of the subscribers feed (data-contract.md). Malformed values
# still load: they only keep the subscriber's e-invoice back (an `einvoice.skipped` anomaly).
EINVOICE_COLUMNS = ("street", "city", "postcode", "company_id", "peppol_id", "buyer_reference")

FEEDS: dict[str, Feed] = {
    "subscribers": Feed(
        "subscribers", ("subscriber_id", "name", "country", "address", "vat_id", "email") + EINVOICE_COLUMNS,
        ("subscriber_id", "name", "country"), "subscriber_id", "subscribers", (".csv",)),
    "subscriptions": Feed(
        "subscriptions", ("subscriber_id", "product", "quantity", "valid_from", "valid_to", "params"),
        ("subscriber_id", "product", "valid_from"), None, "subscription_versions", (".csv",)),
    "calls": Feed(
        "calls", ("call_id", "subscriber_id", "call_type", "parent_call_id", "started_at", "answered_at",
                  "ended_at", "talk_s", "caller_number", "destination_country", "report"),
        ("call_id", "subscriber_id", "call_type", "started_at", "ended_at", "talk_s"), "call_id", "calls"),
    "interactions": Feed(
        "interactions", ("interaction_id", "subscriber_id", "channel", "started_at", "ended_at",
                         "handle_s", "agent_id"),
        ("interaction_id", "subscriber_id", "channel", "started_at", "ended_at", "handle_s"),
        "interaction_id", "interactions"),
    "worklogs": Feed(
        "worklogs", ("worklog_id", "subscriber_id", "activity", "started_at", "minutes", "km",
                     "consultant", "description"),
        ("worklog_id", "subscriber_id", "activity", "started_at", "minutes"), "worklog_id", "worklogs"),
}

ORDER = ("subscribers", "subscriptions", "calls", "interactions", "worklogs")
