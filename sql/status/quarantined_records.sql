-- Records in the quarantine, all time.
select count(*) as records from quarantine
