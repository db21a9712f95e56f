"""Sensors: new landing files request a load of their day's partition."""

import json

import dagster as dg

from orchestration.ingestion.landing import event_files, landed_days, partition_folder
from orchestration.settings import landing_dir


def build_sensors(job) -> list[dg.SensorDefinition]:

    @dg.sensor(job=job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.STOPPED)
    def new_landing_files(context: dg.SensorEvaluationContext):
        """Requests one run per day folder whose set of files changed since the last evaluation."""
        seen: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
        landing = landing_dir()
        for day in landed_days(landing):
            files = event_files([partition_folder(landing, day)])
            fingerprint = sum(f.stat().st_size for f in files) + len(files)
            key = day.isoformat()
            if files and seen.get(key) != fingerprint:
                seen[key] = fingerprint
                yield dg.RunRequest(run_key=f"{key}:{fingerprint}", partition_key=key)
        context.update_cursor(json.dumps(seen))

    return [new_landing_files]
