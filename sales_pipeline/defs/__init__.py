"""The Dagster wiring: resources, assets, checks, jobs, schedules, sensors, the IO manager and
:mod:`.definitions`, which puts them together."""
