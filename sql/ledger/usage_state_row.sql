-- Records the fingerprint the `usage` table was just built from (the only row).
insert into usage_state
select $fingerprint as fingerprint, current_timestamp as built_at
