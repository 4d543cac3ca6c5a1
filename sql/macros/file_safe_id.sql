-- file_safe_id(text): whether an id may name a file (data-contract.md): letters, digits,
-- `-`, `_` and `.` only, and not dots alone (`.`, `..`). The leading-dot and length rules
-- are separate checks of the staging SQL (they have their own rule names). A constant
-- pattern, so DuckDB compiles it once per statement (a pattern from a table column is
-- compiled per row). metering.workspace.safe_subscriber_id guards paths the same way.
create or replace temp macro file_safe_id(t) as
    regexp_full_match(t, '[A-Za-z0-9_.-]*[A-Za-z0-9_-][A-Za-z0-9_.-]*')
