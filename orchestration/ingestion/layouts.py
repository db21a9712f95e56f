"""Where a file's day and source come from: our landing layout and the object-storage export layouts.

- landing zone:            `landing/YYYY-MM-DD/<source>/<file>`
- Segment S3 export:       `segment-logs/<source-id>/<received-day as epoch ms>/<file>.gz`
- RudderStack S3 export:   `rudder-logs/<source-id>/<MM-DD-YYYY>/<file>.json.gz`
- nested date folders:     `.../YYYY/MM/DD/...` and Hive-style `.../dt=YYYY-MM-DD/...`
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

EXPORT_ROOTS = ("segment-logs", "rudder-logs")
_ISO_DAY = re.compile(r"^(?:dt=|date=)?(\d{4})-(\d{2})-(\d{2})$")
_US_DAY = re.compile(r"^(\d{2})-(\d{2})-(\d{4})$")
_EPOCH = re.compile(r"^\d{10}(?:\d{3})?$")


def _day_of_folder(name: str) -> dt.date | None:
    try:
        if match := _ISO_DAY.match(name):
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
        if match := _US_DAY.match(name):
            return dt.date(int(match[3]), int(match[1]), int(match[2]))
        if _EPOCH.match(name):
            seconds = int(name) / (1000 if len(name) == 13 else 1)
            return dt.datetime.fromtimestamp(seconds, dt.UTC).date()
    except ValueError:
        return None
    return None


def _nested_day(parts: tuple[str, ...], end: int) -> dt.date | None:
    """`YYYY/MM/DD` ending at parts[end]."""
    if end < 2:
        return None
    year, month, day = parts[end - 2 : end + 1]
    if len(year) == 4 and year.isdigit() and len(month) == 2 and month.isdigit() and day.isdigit():
        try:
            return dt.date(int(year), int(month), int(day))
        except ValueError:
            return None
    return None


def day_folder_span(path: Path) -> tuple[int, int, dt.date] | None:
    """First and last index in `path.parent.parts` of the nearest folder(s) naming a day, and the day."""
    parts = path.parent.parts
    for i in range(len(parts) - 1, -1, -1):
        if (day := _day_of_folder(parts[i])) is not None:
            return i, i, day
        if (day := _nested_day(parts, i)) is not None:
            return i - 2, i, day
    return None


def day_of(path: Path, default: dt.date) -> dt.date:
    """The landing day of a file: the nearest folder naming a day, else `default`."""
    found = day_folder_span(path)
    return found[2] if found else default


def source_of(path: Path) -> str:
    """The source a file belongs to.

    In an export layout, the folder after `segment-logs`/`rudder-logs` (the source id); in the landing
    layout, the folder right below the day folder; with nothing below the day, the folder above it;
    else the file's parent folder.
    """
    parts = path.parent.parts
    for root in EXPORT_ROOTS:
        if root in parts[:-1]:
            return parts[parts.index(root) + 1]
    found = day_folder_span(path)
    if found:
        first, last, _ = found
        if last + 1 < len(parts):
            return parts[last + 1]
        if first > 0 and parts[first - 1] not in ("/", ""):
            return parts[first - 1]
    return path.parent.name or "default"
