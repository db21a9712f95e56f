"""The landing zone: append-only files, one folder per day (`landing/YYYY-MM-DD/<source>/<file>`)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

from orchestration.ingestion.layouts import day_of, source_of

__all__ = [
    "day_of",
    "event_files",
    "is_event_file",
    "land_files",
    "landed_days",
    "partition_folder",
    "source_of",
]

EVENT_FILE_SUFFIXES = (".jsonl", ".ndjson", ".json", ".jsonl.gz", ".ndjson.gz", ".json.gz", ".gz", ".parquet")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def is_event_file(path: Path) -> bool:
    # Folders and files starting with "_" or "." (ground truth, temp files) are never events.
    if any(part.startswith(("_", ".")) for part in path.parts[-3:]):
        return False
    return path.is_file() and path.name.endswith(EVENT_FILE_SUFFIXES)


def event_files(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in sorted(path.rglob("*")) if is_event_file(p))
        elif is_event_file(path):
            found.append(path)
        else:
            raise FileNotFoundError(f"not an event file or folder: {path}")
    return found


def partition_folder(landing: Path, day: dt.date) -> Path:
    return landing / day.isoformat()


def land_files(
    paths: Iterable[Path], landing: Path, today: dt.date | None = None
) -> dict[dt.date, list[Path]]:
    """Copy event files into the landing zone, keeping day and source, and return them by day.

    The day and source come from the file's folders (landing layout or a Segment/RudderStack export
    layout, see `layouts`); files outside any dated folder land on `today`.

    Copies go through a temporary name and an atomic rename, so a half-copied file is never loaded.
    A file already landed with the same name and size is not copied again.
    """
    today = today or dt.datetime.now(dt.UTC).date()
    landed: dict[dt.date, list[Path]] = {}
    for path in event_files(paths):
        day = day_of(path, today)
        target_dir = partition_folder(landing, day) / source_of(path)
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / path.name
        if target.exists() and target.samefile(path):
            pass  # already in the landing zone (e.g. `cdp ingest` of a landed folder)
        elif not (target.exists() and target.stat().st_size == path.stat().st_size):
            tmp = target_dir / f".{path.name}.tmp"
            shutil.copyfile(path, tmp)
            tmp.replace(target)
        landed.setdefault(day, []).append(target)
    return landed


def landed_days(landing: Path) -> list[dt.date]:
    return sorted(
        dt.date.fromisoformat(p.name) for p in landing.iterdir() if p.is_dir() and _DAY.match(p.name)
    )
