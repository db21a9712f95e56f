"""What kind of event file a path is, and how to salvage the readable part of a damaged one.

Healthy files are read by DuckDB directly (the fast path). Only a file DuckDB refuses (truncated or
corrupt gzip, invalid UTF-8, an absurdly long line) comes here, to be decoded in bulk in Python so that
its good lines still load and the damage is quarantined with a reason.
"""

from __future__ import annotations

import codecs
import enum
import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import orjson

# Each undecodable byte becomes this noncharacter, which real text never contains, so SQL can find the
# damaged lines; it is shown to people as U+FFFD.
INVALID_BYTE_MARK = "\ufdd0"
_SNIFF_BYTES = 64 * 1024
_CHUNK = 64 * 1024


def _mark_invalid_bytes(error: UnicodeDecodeError) -> tuple[str, int]:
    return INVALID_BYTE_MARK * (error.end - error.start), error.end


codecs.register_error("cdp-mark-invalid", _mark_invalid_bytes)


class FileFormat(enum.StrEnum):
    JSON_LINES = "json_lines"  # NDJSON, plain or gzipped: one event per line
    JSON_DOCUMENT = "json_document"  # one JSON value: a `{"batch": [...]}` body, an array, or one event
    PARQUET = "parquet"


def is_gzip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def _head(path: Path) -> bytes:
    """The first bytes of the file's content (decompressed if gzipped); damage here is not our concern."""
    try:
        if is_gzip(path):
            with gzip.open(path, "rb") as handle:
                return handle.read(_SNIFF_BYTES)
        with path.open("rb") as handle:
            return handle.read(_SNIFF_BYTES)
    except (OSError, EOFError, zlib.error):
        return b""


def sniff_format(path: Path) -> FileFormat:
    """Parquet by magic bytes; a JSON document if the first line is not a whole event or is a batch body."""
    with path.open("rb") as handle:
        if handle.read(4) == b"PAR1":
            return FileFormat.PARQUET
    head = _head(path).lstrip()
    if head.startswith(b"["):
        return FileFormat.JSON_DOCUMENT
    if not head.startswith(b"{"):
        return FileFormat.JSON_LINES
    first_line = head.split(b"\n", 1)[0]
    try:
        value = orjson.loads(first_line)
    except orjson.JSONDecodeError:
        # A pretty-printed document spans lines. Otherwise the name decides: a broken first line of
        # `.jsonl` stays one bad line among many; a `.json` file is one document.
        is_json_name = path.name.removesuffix(".gz").endswith(".json")
        spans_lines = first_line.rstrip() in (b"{", b"{\r")
        return FileFormat.JSON_DOCUMENT if spans_lines or is_json_name else FileFormat.JSON_LINES
    is_batch = isinstance(value, dict) and isinstance(value.get("batch"), list)
    return FileFormat.JSON_DOCUMENT if is_batch else FileFormat.JSON_LINES


@dataclass(frozen=True)
class SalvagedFile:
    """The readable lines of a damaged file, and what was wrong with the rest."""

    lines: list[str]
    damage: str | None  # why the tail of the file is unreadable (truncated/corrupt gzip), if it is
    partial_line: str | None  # the incomplete last line before the damage, kept for the record


def _decompress_prefix(data: bytes) -> tuple[bytes, str | None]:
    """Every byte of a (possibly multi-member) gzip stream up to the first damage, and the damage."""
    out: list[bytes] = []
    while data:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        pos = 0
        try:
            # Fed in chunks so the output before a corrupt block is kept.
            while not inflater.eof and pos < len(data):
                out.append(inflater.decompress(data[pos : pos + _CHUNK]))
                pos += _CHUNK
        except zlib.error as error:
            return b"".join(out), f"corrupt gzip data ({error})"
        if not inflater.eof:
            return b"".join(out), "the gzip stream ends early (file truncated)"
        data = (inflater.unused_data + data[pos:]).lstrip(b"\x00")
        if data and data[:2] != b"\x1f\x8b":
            return b"".join(out), "unexpected bytes after the gzip stream"
    return b"".join(out), None


def salvage(path: Path) -> SalvagedFile:
    """Decode a damaged file in bulk: the lines before any gzip damage, invalid bytes marked."""
    data = path.read_bytes()
    damage = None
    if data[:2] == b"\x1f\x8b":
        data, damage = _decompress_prefix(data)
    text = data.decode("utf-8", errors="cdp-mark-invalid")
    partial = None
    if damage is not None:
        # The text after the last newline is a line cut short by the damage, never a whole event.
        text, _, partial = text.rpartition("\n")
        partial = partial or None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return SalvagedFile(lines=lines, damage=damage, partial_line=partial)
