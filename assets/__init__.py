"""The Dagster asset graph, thin: each asset reads its inputs, calls `metering`, writes
its table or files and returns metadata; its checks sit beside it."""
from assets import aht, billing, ingestion
from assets.aht import quarterly_aht
from assets.billing import monthly_specifications
from assets.ingestion import raw_feeds

all_assets = [raw_feeds, monthly_specifications, quarterly_aht]
all_checks = [*ingestion.checks, *billing.checks]

__all__ = ["all_assets", "all_checks", "raw_feeds", "monthly_specifications", "quarterly_aht", "aht", "billing",
           "ingestion"]
