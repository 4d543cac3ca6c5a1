-- A record the careful CSV reader rejected (wrong field count, an open quote, a partial
-- last line): its line, rule, reason and the fields as JSON; it has no record id.
insert into quarantine values ($feed, $file, $line, null, $rule, $reason, $record)
