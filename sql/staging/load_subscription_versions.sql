-- Appends the subscription row versions of one file classified as `load`.
insert into subscription_versions by name
select
    * exclude (_rule, _reason, _record_id, _previous_hash, _latest_hash, disposition),
    $file as _file,
    $file_id as _file_id
from classified
where disposition = 'load'
