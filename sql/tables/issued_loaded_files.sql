-- The inbox files that were loaded when a month was issued: a record of that month from
-- any other file arrived late (pricing.md X1 "late": by load order, never by dates).
create table if not exists issued_loaded_files (
    month varchar not null check (regexp_full_match(month, '[0-9]{4}-(0[1-9]|1[0-2])')),
    path varchar not null,
    sha256 varchar not null
)
