"""Gzipped NDJSON files in the landing layout: `OUT/YYYY-MM-DD/<source>/events-NNNN.jsonl.gz`.

Lines arrive already in file order, as Arrow string arrays ending in newlines, so a run of lines for one
file is a single slice of the array's data buffer: it goes to zlib without being split into Python strings.
Compression runs on two worker threads (zlib releases the GIL), files alternating between them, while the
caller encodes the next chunk. The
gzip header carries no file name and a zero mtime, so equal input gives byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa

GZIP_WBITS = 31  # zlib format code for a gzip wrapper
COMPRESSORS = 2  # one per core: files alternate between them, so each file is still written in order
MAX_PENDING_CHUNKS = 2  # bounds memory: the encoder may run this far ahead of the compressors


class EventFileWriter:
    def __init__(self, out: Path, sources: tuple[str, ...], max_lines_per_file: int, level: int) -> None:
        self.out = out
        self.sources = sources
        self.max_lines = max_lines_per_file
        self.files: list[Path] = []
        self._key: tuple[int, int] | None = None  # (day since epoch, source) of the file being filled
        self._file_number = 0
        self._lines_in_file = 0
        self._compressors = [_Compressor(level) for _ in range(COMPRESSORS)]
        self._pending: deque[list[Future[None]]] = deque()

    def write(self, lines: pa.StringArray, day: np.ndarray, source: np.ndarray) -> None:
        """Append lines (in file order) whose events fall on `day` (days since epoch) and come from `source`."""
        offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[
            lines.offset : lines.offset + len(lines) + 1
        ]
        data = lines.buffers()[2]
        work: list[list[tuple[Path, pa.Buffer]]] = [[] for _ in self._compressors]
        changes = np.flatnonzero((day[1:] != day[:-1]) | (source[1:] != source[:-1])) + 1
        bounds = np.concatenate([[0], changes, [len(lines)]])
        for start, stop in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            key = (int(day[start]), int(source[start]))
            if key != self._key:
                self._key, self._file_number, self._lines_in_file = key, 0, 0
                self.files.append(self._path(key, 0))
            while start < stop:
                if self._lines_in_file == self.max_lines:
                    self._file_number, self._lines_in_file = self._file_number + 1, 0
                    self.files.append(self._path(key, self._file_number))
                take = min(stop - start, self.max_lines - self._lines_in_file)
                begin, end = int(offsets[start]), int(offsets[start + take])
                worker = (len(self.files) - 1) % len(self._compressors)
                work[worker].append((self.files[-1], data.slice(begin, end - begin)))
                self._lines_in_file += take
                start += take
        while len(self._pending) >= MAX_PENDING_CHUNKS:
            for future in self._pending.popleft():
                future.result()
        self._pending.append(
            [c.submit(segments) for c, segments in zip(self._compressors, work, strict=True)]
        )

    def close(self) -> list[Path]:
        while self._pending:
            for future in self._pending.popleft():
                future.result()
        for compressor in self._compressors:
            compressor.close()
        return self.files

    def _path(self, key: tuple[int, int], number: int) -> Path:
        day = dt.date(1970, 1, 1) + dt.timedelta(days=key[0])
        return self.out / day.isoformat() / self.sources[key[1]] / f"events-{number:04d}.jsonl.gz"


class _Compressor:
    """A thread that appends gzip-compressed segments to one file at a time."""

    def __init__(self, level: int) -> None:
        self.level = level
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gzip")
        self._path: Path | None = None
        self._handle: BinaryIO | None = None
        self._deflate: zlib._Compress | None = None

    def submit(self, segments: list[tuple[Path, pa.Buffer]]) -> Future[None]:
        return self._pool.submit(self._write, segments)

    def close(self) -> None:
        self._pool.submit(self._finish_file).result()
        self._pool.shutdown()

    def _write(self, segments: list[tuple[Path, pa.Buffer]]) -> None:
        for path, data in segments:
            if path != self._path:
                self._finish_file()
                path.parent.mkdir(parents=True, exist_ok=True)
                self._handle = path.open("wb")
                self._deflate = zlib.compressobj(self.level, zlib.DEFLATED, GZIP_WBITS)
                self._path = path
            self._handle.write(self._deflate.compress(data))

    def _finish_file(self) -> None:
        if self._handle is not None:
            self._handle.write(self._deflate.flush())
            self._handle.close()
        self._handle, self._deflate, self._path = None, None, None
