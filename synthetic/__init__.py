"""Synthetic inbox data for ccmeter: one generator, outside the domain package, with two
profiles that share its columns, months, ids, typed instants and atomic file writes
(`synthetic.common`):

- `synthetic.workspace.generate_workspace`: the demo workspace (`ccmeter demo`,
  `ccmeter demo-data`, the tests, benchmarks/ingest_csv.py) — named subscribers whose
  contracts exercise every pricing rule, local-time CSV or Parquet, bad files on request.
- `synthetic.bench_month.generate` / `ensure` with a `SynthSpec`: the benchmark month
  (`ccmeter bench`) — N subscribers of a fixed family mix, typed Parquet, every record
  valid, reused when the arguments are the same.

Both are seeded: the same arguments give the same bytes (the demo's totals in the
README and the tests, and the benchmark months of benchmarks/RESULTS.md, depend on it).
"""
from synthetic.bench_month import SynthSpec, ensure, generate
from synthetic.workspace import generate_workspace

__all__ = ["SynthSpec", "ensure", "generate", "generate_workspace"]
