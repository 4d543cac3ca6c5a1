"""Benchmarks: the stage timer (`bench`, run by `ccmeter bench`), CSV ingestion against
its floor (`ingest_csv`) and rating alone (`rating`); their data comes from the
generator in `synthetic/`. Figures are reported, never asserted."""
