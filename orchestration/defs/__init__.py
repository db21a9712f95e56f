"""Everything Dagster: definitions, assets, resources, partitions, schedules, sensors, checks and the in-process runner."""
