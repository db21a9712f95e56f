"""Sensors: new landing files request a load of their day's partition."""

import json

import dagster as dg

from orchestration.collector.spool import recover_open_segments
from orchestration.ingestion.landing import event_files, landed_days, partition_folder
from orchestration.settings import landing_dir


def landing_fingerprints() -> dict[str, str]:
    """Per landing day, a fingerprint of its sealed event files (names, sizes, modification times)."""
    landing = landing_dir()
    fingerprints: dict[str, str] = {}
    for day in landed_days(landing):
        files = event_files([partition_folder(landing, day)])
        if files:
            stats = [f.stat() for f in files]
            newest = max(s.st_mtime_ns for s in stats)
            fingerprints[day.isoformat()] = f"{len(files)}-{sum(s.st_size for s in stats)}-{newest}"
    return fingerprints


def build_sensors(job) -> list[dg.SensorDefinition]:  # job: the unresolved `load_raw_events` asset job
    @dg.sensor(job=job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
    def new_landing_files(context: dg.SensorEvaluationContext):
        """Requests a load of each day folder whose files changed since the last evaluation.

        The collector seals files by size and age, and `cdp ingest` or an export sync drop files in;
        either way the day's partition is loaded again, and the loader skips files already loaded.
        """
        seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        recover_open_segments(landing_dir())  # a dead collector's files, so they count as new below
        current = landing_fingerprints()
        for day, fingerprint in sorted(current.items()):
            if seen.get(day) != fingerprint:
                yield dg.RunRequest(run_key=f"{day}:{fingerprint}", partition_key=day)
        context.update_cursor(json.dumps(current))

    return [new_landing_files]
