create table if not exists loaded_files (
    file_id bigint primary key,
    feed varchar not null,
    path varchar not null,
    size_bytes bigint not null,
    sha256 varchar not null,
    status varchar not null,
    reason varchar,
    unknown_columns varchar,
    read bigint not null,
    loaded bigint not null,
    quarantined bigint not null,
    duplicates bigint not null
)
