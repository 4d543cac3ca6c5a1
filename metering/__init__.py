"""ccmeter's billing domain: money, tariffs, pricing per tariff family, ledgers and
specifications. Nothing in this package imports Dagster, so an auditor can read and
test how every cent is computed on its own."""
