"""The `interact` tariff family — being written."""
from metering.context import BillingInput
from metering.lines import FamilyResult


def rate(inp: BillingInput) -> dict[str, FamilyResult]:
    return {}
