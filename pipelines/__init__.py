"""The code location (Definitions, jobs, schedules, sensors) and the `ccmeter` command line."""
