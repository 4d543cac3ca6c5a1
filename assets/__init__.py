"""The Dagster asset graph, thin: each asset reads its inputs, calls `metering`, writes
its table or files and returns metadata; its checks sit beside it.

    raw_feeds ─▶ usage ─┬▶ rated_records ─┬▶ specifications ─▶ e_invoices
     (checks)  (check)  ├▶ prepaid_ledgers ┴▶ anomalies
                        ├▶ quarterly_aht
                        └▶ draft_specifications
    usage, specifications, quarterly_aht ─▶ analytics_warehouse
"""
from assets import aht, billing, drafts, ingestion, snapshot, usage
from assets.aht import quarterly_aht
from assets.billing import issue_month_assets
from assets.drafts import draft_specifications
from assets.ingestion import raw_feeds
from assets.snapshot import analytics_warehouse
from assets.usage import usage as routed_usage

all_assets = [raw_feeds, routed_usage, issue_month_assets, quarterly_aht, draft_specifications, analytics_warehouse]
all_checks = [*ingestion.checks, *usage.checks, *billing.checks]

__all__ = ["all_assets", "all_checks", "raw_feeds", "routed_usage", "issue_month_assets", "quarterly_aht",
           "draft_specifications", "analytics_warehouse", "aht", "billing", "drafts", "ingestion", "snapshot",
           "usage"]
