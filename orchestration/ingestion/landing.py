"""The landing zone: append-only files, one folder per day (`landing/YYYY-MM-DD/<source>/<file>`)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

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


def day_of(path: Path, default: dt.date) -> dt.date:
    """The landing day of a file: the nearest `YYYY-MM-DD` folder above it, else `default`."""
    for part in reversed(path.parent.parts):
        if _DAY.match(part):
            return dt.date.fromisoformat(part)
    return default


def source_of(path: Path) -> str:
    """The source a file belongs to: the folder right below its day folder, else its parent folder."""
    parts = path.parent.parts
    for i, part in enumerate(parts):
        if _DAY.match(part) and i + 1 < len(parts):
            return parts[i + 1]
    return path.parent.name or "default"


def partition_folder(landing: Path, day: dt.date) -> Path:
    return landing / day.isoformat()


def land_files(
    paths: Iterable[Path], landing: Path, today: dt.date | None = None
) -> dict[dt.date, list[Path]]:
    """Copy event files into the landing zone, keeping day and source, and return them by day.

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
        if not (target.exists() and target.stat().st_size == path.stat().st_size):
            tmp = target_dir / f".{path.name}.tmp"
            shutil.copyfile(path, tmp)
            tmp.replace(target)
        landed.setdefault(day, []).append(target)
    return landed


def landed_days(landing: Path) -> list[dt.date]:
    return sorted(
        dt.date.fromisoformat(p.name) for p in landing.iterdir() if p.is_dir() and _DAY.match(p.name)
    )
