-- Clears the AHT evaluations of the given quarters before they are written again.
delete from aht_evaluations where list_contains($quarters, quarter)
