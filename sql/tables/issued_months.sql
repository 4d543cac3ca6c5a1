-- Issued months (pricing.md X1): one row per manifest, with the sha256 of the manifest
-- the issued tables were loaded from.
create table if not exists issued_months (
    month varchar primary key check (regexp_full_match(month, '[0-9]{4}-(0[1-9]|1[0-2])')),
    issued_at varchar not null,
    manifest_sha256 varchar not null,
    specifications integer not null,
    adopted boolean not null
)
