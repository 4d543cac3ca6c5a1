-- One expectation's outcome for a feed.
insert into validation_results values ($feed, $e, $s, $n, $m, $sev, $t)
