-- Clears a feed's stored validation results before its new ones are written.
delete from validation_results where feed = $f
