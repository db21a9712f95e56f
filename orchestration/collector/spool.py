"""Durable, append-only landing files for the collector.

Each source writes to one open segment, `landing/YYYY-MM-DD/<source>/.collector-<start>-<pid>-<n>-<tag>.jsonl.open`
(hidden, so the loader never reads a file still growing). `append` returns only once the bytes are
fsynced, so an acknowledged event survives a kill -9 (and a power cut). Concurrent requests share
fsyncs (group commit): one fsync covers every write made before it.

A segment is sealed (fsynced, renamed to `collector-....jsonl`, directory fsynced) when it reaches
`max_bytes`, is `max_age` seconds old, or the UTC day changes.

The collector holds an exclusive `flock` on every segment it has open, and the kernel drops it when the
process dies, however it dies. So whoever can take that lock knows the writer is gone and may seal the
file: a restarted collector, `cdp run`, `cdp ingest`, the `raw_events` asset and the landing sensor all
do (`recover_open_segments`), so what a dead collector acknowledged is loaded without waiting for it to
restart. PIDs prove nothing here: in a container the restarted collector often has the dead one's PID.
A last line cut short by the crash was never acknowledged (an answer comes only after the whole batch
is fsynced); it is kept as a line of its own so the loader quarantines it in `rejected_events`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import secrets
import threading
import time
from pathlib import Path

log = logging.getLogger("cdp.collector")

_OPEN_SUFFIX = ".jsonl.open"
_OPEN_GLOB = f"*/*/.collector-*{_OPEN_SUFFIX}"


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
        self._fd = _create_locked(self.path)
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
            self.sealed = True
            final = _sealed_name(self.path)
            os.replace(self.path, final)
            _fsync_dir(self.path.parent)
            os.close(self._fd)  # releases the lock only once the file has its final name
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
        # The random tag keeps names unique when a restarted collector gets the dead one's PID in the
        # same second (containers): a sealed file must never be replaced by another.
        self._counter += 1
        now = dt.datetime.now(dt.UTC)
        return f"{now:%Y%m%dT%H%M%S}-{os.getpid()}-{self._counter}-{secrets.token_hex(4)}"

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
            try:
                segment = Segment(self.landing / day / source, self._stem())
            except FileNotFoundError:  # a recoverer removed it as we created it (see _create_locked)
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


def _create_locked(path: Path) -> int:
    """Create `path` and take its writer's lock; the descriptor is returned only once both hold.

    A recoverer may lock the brand-new, empty file before we do and remove it; then our lock would be on
    a file no longer in the folder, so that is checked after locking.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.fstat(fd).st_nlink == 0:
            raise FileNotFoundError(f"{path} was removed while being created")
    except OSError:
        os.close(fd)
        raise
    return fd


def _seal_abandoned(path: Path) -> Path | None:
    """Seal one open segment if no live collector holds it; its sealed path, or None if left alone."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None  # sealed by its writer (or another recoverer) since it was listed
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # a live collector (or another recoverer) holds it
        try:
            if os.stat(path).st_ino != os.fstat(fd).st_ino:
                return None  # the name now belongs to another file
        except FileNotFoundError:
            return None
        size = os.fstat(fd).st_size
        if size == 0:
            path.unlink()
            return None
        if os.pread(fd, 1, size - 1) != b"\n":
            # A write cut short by the crash, never acknowledged: ended with a newline so that it is a
            # line of its own, which the loader quarantines (not valid JSON) while the rest loads.
            os.pwrite(fd, b"\n", size)
            log.warning("%s: its last line was cut short by a crash; it will be quarantined", path.name)
        os.fsync(fd)
        final = _sealed_name(path)
        os.replace(path, final)
        _fsync_dir(path.parent)
        return final
    finally:
        os.close(fd)


def recover_open_segments(landing: Path) -> list[Path]:
    """Seal every open segment whose collector is gone (nobody holds its lock); the sealed paths.

    Safe to call at any time from any process, beside a live collector: its own files stay locked.
    """
    recovered = []
    with contextlib.suppress(FileNotFoundError):  # no landing zone yet
        for path in sorted(landing.glob(_OPEN_GLOB)):
            sealed = _seal_abandoned(path)
            if sealed is not None:
                log.info("sealed %s, left open by a collector that is gone", sealed.name)
                recovered.append(sealed)
    return recovered
