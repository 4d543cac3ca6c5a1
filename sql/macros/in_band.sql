-- in_band(rank, lo, hi): whether a month rank falls in a graduated band [lo, hi] of the
-- charge-code registry (answering_bands; hi null = open-ended). The one place the tier
-- of a call or interaction (pricing.md A3, M1) is decided: for a day's first and last
-- rank (answering_days.sql) and for each record of a day that crosses a band edge
-- (answering_charges.sql).
create or replace temp macro in_band(rank, lo, hi) as rank >= lo and (hi is null or rank <= hi)
