create table if not exists subscribers (
    subscriber_id varchar not null,
    name varchar not null,
    country varchar not null,
    address varchar,
    vat_id varchar,
    email varchar,
    street varchar,
    city varchar,
    postcode varchar,
    company_id varchar,
    peppol_id varchar,
    buyer_reference varchar,
    _file varchar not null,
    _line bigint not null
)
