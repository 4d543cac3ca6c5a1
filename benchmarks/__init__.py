"""Benchmarks: a synthetic month generator (`synth`) and the stage timer (`bench`,
run by `ccmeter bench`). Figures are reported, never asserted."""
