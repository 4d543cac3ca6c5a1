"""Names `vulture` cannot see used, one group per reason (`make test` runs vulture with
this file; pydantic's `@field_validator` / `@model_validator` methods are skipped by the
`ignore_decorators` setting in pyproject.toml). Each line is a bare name: vulture counts
it as a use. Add a name here only with the reason it is called from outside our code."""
# ruff: noqa: F821

# pydantic reads `model_config` from the class body
model_config

# catalog: `price_valid_from` is read from the raw file by the `_prices` before-validator
# (every plain price is versioned from it) and shown by `ccmeter tariffs show`
price_valid_from

# catalog: fixed tariff settings (`catalog.FIXED_SETTINGS`): validated to the only value
# pricing.md gives, never read, so that a changed file fails instead of doing nothing
aht_reestablish
training_increment
overflow_at_full_rate
early_termination_default
increment
all_activities_at_rate
outside_hours_same_rate

# reportlab: `rl_config.useA85` is read by reportlab at save time; `Flowable.wrap/split`
# are called by reportlab with (availWidth, availHeight), whether we use both or not
useA85
availWidth

# reportlab: font files and page streams take their Flate filter from the module global
# `pdfdoc.PDFZCompress` at save time (metering.render.pdf replaces it by one that deflates a
# cached font subset once); `_ccm_width` is read back through the paragraph's __dict__
PDFZCompress
_ccm_width

# pytest hooks, called by pytest by name
pytest_sessionfinish
pytest_unconfigure
