-- The staging checks' parameters as one row of typed columns (metering.limits: the
-- plausibility limits, the reserved subscriber ids; metering.catalog: the product codes),
-- read by sql/staging/staging_*.sql through a cross join. The id pattern is not here: a
-- regular expression read from a table is compiled again for every row (measured: 5 CPU s
-- per 1 M call legs), so it is a constant of the macro sql/macros/file_safe_id.sql.
create or replace temp table ingest_parameters as
select
    cast($max_duration_s as bigint) as max_duration_s,
    cast($max_utc_offset_s as bigint) as max_utc_offset_s,
    cast($max_id_length as bigint) as max_id_length,
    cast($reserved_ids as varchar[]) as reserved_ids,
    cast($product_codes as varchar[]) as product_codes
