"""The landing zone: append-only files, one folder per day (`landing/YYYY-MM-DD/<source>/<file>`).

A landed file is identified by its content (SHA-256), never by its name alone: landing never overwrites.
A file whose content is already in its day/source folder is not copied again; a different file under a
name that is taken lands as `<name>.<hash prefix><suffix>` (e.g. `events-0000.3f9a…c1.jsonl.gz`).

Only event data lands: input is recognised by content as well as by name (see `holds_events`), so a
folder of man pages or configuration files is refused before anything is copied.
"""

from __future__ import annotations

import datetime as dt
import errno
import gzip
import hashlib
import os
import re
import shutil
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.ingestion.layouts import day_of, source_of

__all__ = [
    "Landed",
    "NotEventData",
    "content_hash",
    "day_of",
    "event_files",
    "find_event_files",
    "holds_events",
    "is_event_file",
    "land",
    "land_files",
    "landed_days",
    "partition_folder",
    "source_of",
]

EVENT_FILE_SUFFIXES = (".jsonl", ".ndjson", ".json", ".jsonl.gz", ".ndjson.gz", ".json.gz", ".gz", ".parquet")
# Names that say "events, one per line" (or Parquet rows): landed even when damaged beyond recognition,
# so the loader can quarantine them. `.json` and `.gz` say nothing about the content.
_EVENT_NAMES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz", ".parquet")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HEAD_BYTES = 64 * 1024
# What Segment-spec data shows within its first bytes, pretty-printed or not, whole or damaged.
_SEGMENT_SIGNS = re.compile(
    rb'"(?:messageId|anonymousId)"\s*:|"type"\s*:\s*"(?:track|identify|page|screen|group|alias)"|"batch"\s*:\s*\[',
    re.IGNORECASE,
)
_HASH_CHARS = 16  # of the SHA-256 in a landed name: enough to never meet another file in one folder


class NotEventData(ValueError):
    """The input holds no event data (nothing is landed)."""


def is_event_file(path: Path) -> bool:
    """An event file in the landing zone (by name; what lands there was recognised on the way in)."""
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


def _head(path: Path) -> bytes:
    """The first bytes of the content, decompressed if gzipped; b"" when they cannot be read."""
    try:
        with path.open("rb") as handle:
            start = handle.read(_HEAD_BYTES)
        if start[:2] != b"\x1f\x8b":
            return start
        with gzip.open(path, "rb") as handle:
            return handle.read(_HEAD_BYTES)
    except (EOFError, zlib.error, gzip.BadGzipFile):
        return b""  # damaged: the name decides


def holds_events(path: Path) -> bool:
    """Whether a file is event data: Parquet, a Segment-looking record in its first 64 KB, or a damaged
    or empty file with an events name (`.jsonl`, `.ndjson`, `.parquet`, gzipped or not)."""
    if path.name.endswith(".parquet"):
        return True
    head = _head(path)
    if head[:4] == b"PAR1" or _SEGMENT_SIGNS.search(head):
        return True
    return not head.strip() and path.name.endswith(_EVENT_NAMES)


@dataclass(frozen=True)
class FoundFiles:
    files: list[Path]
    skipped: list[Path]  # files in the given folders with an event suffix that hold no event data


def find_event_files(paths: Iterable[Path]) -> FoundFiles:
    """The event files among `paths` (files and folders), recognised by name and content.

    Raises `NotEventData` for a named file that is not event data or a folder that holds none, and
    `FileNotFoundError` for a path that is neither a file nor a folder.
    """
    files: list[Path] = []
    skipped: list[Path] = []
    for path in paths:
        if path.is_dir():
            named = [p for p in sorted(path.rglob("*")) if is_event_file(p)]
            held = [p for p in named if _readable_events(p)]
            if not held:
                looked = f" ({len(named)} files named like events hold none)" if named else ""
                raise NotEventData(f"no event files in {path}{looked}: nothing was landed")
            files.extend(held)
            kept = set(held)
            skipped.extend(p for p in named if p not in kept)
        elif path.is_file():
            if not (is_event_file(path) and _readable_events(path)):
                raise NotEventData(f"not an event file: {path} (nothing was landed)")
            files.append(path)
        else:
            raise FileNotFoundError(f"not an event file or folder: {path}")
    return FoundFiles(files=list(dict.fromkeys(files)), skipped=skipped)


def _readable_events(path: Path) -> bool:
    try:
        return holds_events(path)
    except OSError:
        return False  # unreadable (permissions): not ours to land


def content_hash(path: Path) -> str:
    """SHA-256 of the file's bytes, read in chunks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def partition_folder(landing: Path, day: dt.date) -> Path:
    return landing / day.isoformat()


def _hashed_name(name: str, digest: str) -> str:
    """`name` with the content hash before its event suffix, so the suffix still tells the format."""
    suffix = max((s for s in EVENT_FILE_SUFFIXES if name.endswith(s)), key=len, default="")
    return f"{name[: len(name) - len(suffix)]}.{digest}{suffix}"


def _place(source: Path, target: Path) -> bool:
    """Copy `source` to `target` through a temporary name; False if `target` appeared meanwhile.

    A hard link publishes the copy atomically and fails rather than replace what is there.
    """
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.copyfile(source, tmp)
    try:
        os.link(tmp, target)
    except FileExistsError:
        return False
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        if target.exists():  # no hard links here: checked, then renamed
            return False
        tmp.rename(target)
        return True
    finally:
        tmp.unlink(missing_ok=True)
    return True


class _Folder:
    """One day/source folder of the landing zone; content hashes are computed when sizes meet."""

    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._by_size: dict[int, list[Path]] = {}
        for existing in path.iterdir():
            if is_event_file(existing):
                self._by_size.setdefault(existing.stat().st_size, []).append(existing)
        self._hashes: dict[Path, str] = {}

    def hash_of(self, path: Path) -> str:
        if path not in self._hashes:
            self._hashes[path] = content_hash(path)
        return self._hashes[path]

    def holding(self, source: Path, size: int) -> Path | None:
        """The file of this folder with the content of `source`, if any (only same-size files are hashed)."""
        same_size = self._by_size.get(size, [])
        if not same_size:
            return None
        digest = self.hash_of(source)
        return next((p for p in same_size if self.hash_of(p) == digest), None)

    def add(self, path: Path, size: int) -> None:
        self._by_size.setdefault(size, []).append(path)


@dataclass
class Landed:
    """What `land` did: the landed files by day, and how each input was handled."""

    by_day: dict[dt.date, list[Path]] = field(default_factory=dict)
    copied: int = 0
    already_landed: int = 0  # inputs whose content was in the landing zone already
    renamed: list[Path] = field(default_factory=list)  # landed under a hashed name: the name was taken
    skipped: list[Path] = field(default_factory=list)  # not event data, in a folder given

    @property
    def files(self) -> list[Path]:
        return [path for paths in self.by_day.values() for path in paths]


def land(paths: Iterable[Path], landing: Path, today: dt.date | None = None) -> Landed:
    """Copy event files into the landing zone, keeping day and source; nothing is ever overwritten.

    The day and source come from the file's folders (landing layout or a Segment/RudderStack export
    layout, see `layouts`); files outside any dated folder land on `today`. Every input is checked
    before anything is copied (`find_event_files`), and copies go through a temporary name, so a
    half-copied file is never loaded.
    """
    today = today or dt.datetime.now(dt.UTC).date()
    found = find_event_files(paths)
    result = Landed(skipped=found.skipped)
    folders: dict[Path, _Folder] = {}
    for path in found.files:
        day = day_of(path, today)
        target_dir = partition_folder(landing, day) / source_of(path)
        folder = folders.get(target_dir) or folders.setdefault(target_dir, _Folder(target_dir))
        target = target_dir / path.name
        size = path.stat().st_size
        if target.exists() and target.samefile(path):
            landed = target  # already in the landing zone (e.g. `cdp ingest` of a landed folder)
            result.already_landed += 1
        elif (landed := folder.holding(path, size)) is not None:
            result.already_landed += 1
        else:
            landed = _land_new(path, target, folder, size)
            result.copied += 1
            if landed.name != path.name:
                result.renamed.append(landed)
        result.by_day.setdefault(day, []).append(landed)
    return result


def _land_new(path: Path, target: Path, folder: _Folder, size: int) -> Path:
    """Land content the folder does not hold: under its own name if free, else under a hashed name."""
    if _place(path, target):
        folder.add(target, size)
        return target
    digest = folder.hash_of(path)
    for name in (_hashed_name(path.name, digest[:_HASH_CHARS]), _hashed_name(path.name, digest)):
        candidate = target.with_name(name)
        if _place(path, candidate):
            folder.add(candidate, size)
            return candidate
        if folder.hash_of(candidate) == digest:  # the same content got there first
            return candidate
    raise FileExistsError(f"cannot land {path}: {target.parent} holds other files under all its names")


def land_files(
    paths: Iterable[Path], landing: Path, today: dt.date | None = None
) -> dict[dt.date, list[Path]]:
    """`land`, returning only the landed files by day."""
    return land(paths, landing, today).by_day


def landed_days(landing: Path) -> list[dt.date]:
    return sorted(
        dt.date.fromisoformat(p.name) for p in landing.iterdir() if p.is_dir() and _DAY.match(p.name)
    )
