"""One pricing module per tariff family; each `rate(inp)` returns, per subscriber, a
FamilyResult whose lines carry the rule id that made them."""
