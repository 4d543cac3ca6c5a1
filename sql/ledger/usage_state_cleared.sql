-- Forgets the fingerprint `usage` was built from (it is rebuilt now).
delete from usage_state
