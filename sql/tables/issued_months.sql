-- Issued months (pricing.md X1): one row per manifest, with the sha256 of the manifest
-- the issued tables were loaded from.
create table if not exists issued_months (
    month varchar primary key,
    issued_at varchar not null,
    manifest_sha256 varchar not null,
    specifications integer not null,
    adopted boolean not null
)
