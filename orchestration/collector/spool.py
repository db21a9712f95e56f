"""Durable, append-only landing files for the collector.

Each source writes to one open segment, `landing/YYYY-MM-DD/<source>/.collector-<start>-<pid>-<n>.jsonl.open`
(hidden, so the loader never reads a file still growing). `append` returns only once the bytes are
fsynced, so an acknowledged event survives a kill -9 (and a power cut). Concurrent requests share
fsyncs (group commit): one fsync covers every write made before it.

A segment is sealed (fsynced, renamed to `collector-....jsonl`, directory fsynced) when it reaches
`max_bytes`, is `max_age` seconds old, or the UTC day changes. On start, segments left open by a dead
collector are recovered: cut back to their last complete line (an unfinished write was never
acknowledged) and sealed.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
import time
from pathlib import Path

_OPEN_SUFFIX = ".jsonl.open"
_OPEN_NAME = re.compile(r"^\.collector-(?P<stem>\d{8}T\d{6}-(?P<pid>\d+)-\d+)\.jsonl\.open$")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sealed_name(open_path: Path) -> Path:
    return open_path.with_name(open_path.name[1:].removesuffix(".open"))


class Segment:
    """One open landing file of one source."""

    def __init__(self, folder: Path, name_stem: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f".collector-{name_stem}{_OPEN_SUFFIX}"
        self.opened_at = time.monotonic()
        self.day = dt.datetime.now(dt.UTC).date()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        _fsync_dir(folder)  # the new file's name must survive too
        self._write_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self.written = 0
        self._synced = 0
        self.sealed = False

    def write(self, data: bytes) -> int:
        """Append `data` (whole lines) and return the offset a caller must see synced."""
        with self._write_lock:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            self.written += len(data)
            return self.written

    def sync(self, upto: int) -> None:
        """Block until every byte before `upto` is on disk."""
        with self._sync_lock:
            if self._synced >= upto:
                return  # another request's fsync already covered ours
            target = self.written
            os.fdatasync(self._fd)  # data and size; the name was made durable when the file was created
            self._synced = target

    def discard(self) -> None:
        """Close and remove a segment nothing was written to."""
        with self._write_lock, self._sync_lock:
            os.close(self._fd)
            self.sealed = True
            self.path.unlink(missing_ok=True)

    def seal(self) -> Path:
        """Make the file final and visible to the loader."""
        with self._write_lock, self._sync_lock:
            os.fsync(self._fd)
            self._synced = self.written
            os.close(self._fd)
            self.sealed = True
            final = _sealed_name(self.path)
            os.replace(self.path, final)
            _fsync_dir(self.path.parent)
            return final


class LandingSpool:
    """Routes appends to the current segment of each source, and rotates segments."""

    def __init__(self, landing: Path, max_bytes: int = 64 * 1024 * 1024, max_age: float = 60.0) -> None:
        self.landing = landing
        self.max_bytes = max_bytes
        self.max_age = max_age
        self._segments: dict[str, Segment] = {}
        self._lock = threading.Lock()
        self._counter = 0
        self._stop = threading.Event()
        self._rotator: threading.Thread | None = None

    def _stem(self) -> str:
        self._counter += 1
        return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{os.getpid()}-{self._counter}"

    def _needs_rotation(self, segment: Segment) -> bool:
        if segment.written == 0:
            return segment.day != dt.datetime.now(dt.UTC).date()
        return (
            segment.written >= self.max_bytes
            or time.monotonic() - segment.opened_at >= self.max_age
            or segment.day != dt.datetime.now(dt.UTC).date()
        )

    def _current(self, source: str) -> Segment:
        """The open segment for `source`, rotated if due. Caller holds `self._lock`."""
        segment = self._segments.get(source)
        if segment is not None and self._needs_rotation(segment):
            self._close(segment)
            segment = None
        if segment is None:
            day = dt.datetime.now(dt.UTC).date().isoformat()
            segment = Segment(self.landing / day / source, self._stem())
            self._segments[source] = segment
        return segment

    @staticmethod
    def _close(segment: Segment) -> None:
        if segment.written:
            segment.seal()
        else:  # nothing in it: leave no empty file behind
            segment.discard()

    def append(self, source: str, data: bytes) -> None:
        """Durably append whole lines for `source`; returns once they are fsynced."""
        with self._lock:
            segment = self._current(source)
            upto = segment.write(data)
        segment.sync(upto)

    def rotate_due(self) -> None:
        with self._lock:
            for source, segment in list(self._segments.items()):
                if self._needs_rotation(segment):
                    self._close(segment)
                    del self._segments[source]

    def start(self) -> None:
        """Recover segments left open by a dead collector, then rotate by age in the background."""
        recover_open_segments(self.landing)

        def rotate_forever() -> None:
            while not self._stop.wait(min(1.0, self.max_age / 4)):
                self.rotate_due()

        self._rotator = threading.Thread(target=rotate_forever, name="landing-rotator", daemon=True)
        self._rotator.start()

    def close(self) -> None:
        """Seal every open segment (on shutdown)."""
        self._stop.set()
        if self._rotator:
            self._rotator.join(timeout=5)
        with self._lock:
            for segment in self._segments.values():
                self._close(segment)
            self._segments.clear()


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_open_segments(landing: Path) -> list[Path]:
    """Seal segments whose collector process is gone, cut back to their last complete line."""
    recovered = []
    for path in sorted(landing.glob(f"*/*/.collector-*{_OPEN_SUFFIX}")):
        match = _OPEN_NAME.match(path.name)
        if not match or _pid_alive(int(match["pid"])):
            continue
        data = path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        if not complete:
            path.unlink()
            continue
        with path.open("r+b") as handle:
            handle.truncate(len(complete))
            handle.flush()
            os.fsync(handle.fileno())
        final = _sealed_name(path)
        os.replace(path, final)
        _fsync_dir(path.parent)
        recovered.append(final)
    return recovered
