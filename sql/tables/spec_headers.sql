-- Issued specifications (one row per document), as the manifested JSON files say.
create table if not exists spec_headers (
    month varchar not null check (regexp_full_match(month, '[0-9]{4}-(0[1-9]|1[0-2])')),
    spec_number varchar not null,
    subscriber_id varchar not null,
    name varchar,
    currency varchar not null,
    document_type varchar not null,
    subtotal decimal(18, 2) not null,
    adjustments decimal(18, 2) not null,
    vat decimal(18, 2) not null,
    total decimal(18, 2) not null,
    issue_date date not null,
    due_date date not null,
    aht varchar
)
