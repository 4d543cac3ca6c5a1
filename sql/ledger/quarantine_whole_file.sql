-- A whole inbox file or entry in the quarantine: no line, no record, its rule and reason.
insert into quarantine values ($feed, $file, null, null, $rule, $reason, null)
