"""Vectorised string formatting: ids, timestamps and amounts for a million rows without a Python loop.

Every function builds an (n, width) array of ASCII bytes with numpy and hands it to Arrow in one piece:
formatting a million values one by one in Python would cost more than the rest of the generator.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HEX_LOWER = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
HEX_UPPER = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)
BASE36 = np.frombuffer(b"0123456789abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
BASE62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)

DAY_MS = 86_400_000
ZERO_UUID = "00000000-0000-0000-0000-000000000000"


def ascii_rows(buf: np.ndarray) -> pa.StringArray:
    """An (n, width) uint8 array of ASCII characters as an Arrow string array, one string per row."""
    buf = np.ascontiguousarray(buf, dtype=np.uint8)
    n, width = buf.shape
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), n, [None, pa.py_buffer(buf)])
    return fixed.cast(pa.binary()).cast(pa.string())


def uuid4_strings(rng: np.random.Generator, n: int, *, upper: bool = False) -> pa.StringArray:
    """Random version-4 UUIDs (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`), deterministic for the generator state."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    alphabet = HEX_UPPER if upper else HEX_LOWER
    nibbles = np.empty((n, 32), dtype=np.uint8)
    nibbles[:, 0::2] = alphabet[raw >> 4]
    nibbles[:, 1::2] = alphabet[raw & 0x0F]
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    for start, stop, at in ((0, 8, 0), (8, 12, 9), (12, 16, 14), (16, 20, 19), (20, 32, 24)):
        out[:, at : at + stop - start] = nibbles[:, start:stop]
    return ascii_rows(out)


def random_tokens(
    rng: np.random.Generator, n: int, length: int, *, prefix: str = "", alphabet: np.ndarray = BASE62
) -> pa.StringArray:
    """`prefix` followed by `length` random characters of `alphabet` (Stripe- and Salesforce-style ids)."""
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    out = np.empty((n, len(head) + length), dtype=np.uint8)
    out[:, : len(head)] = head
    out[:, len(head) :] = alphabet[rng.integers(0, len(alphabet), size=(n, length))]
    return ascii_rows(out)


# "00" … "99" and "000" … "999" as ASCII rows: one lookup writes two or three digits.
_TWO_DIGITS = np.array([list(f"{i:02d}".encode()) for i in range(100)], dtype=np.uint8)
_THREE_DIGITS = np.array([list(f"{i:03d}".encode()) for i in range(1000)], dtype=np.uint8)


def _put_digits(out: np.ndarray, column: int, values: np.ndarray, width: int) -> None:
    values = values.copy()
    for k in range(width - 1, -1, -1):
        out[:, column + k] = DIGITS[values % 10]
        values //= 10


def zero_padded(values: np.ndarray, width: int, *, prefix: str = "") -> pa.StringArray:
    """Non-negative integers as fixed-width decimal strings, e.g. `person-0000042`."""
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    out = np.empty((len(values), len(head) + width), dtype=np.uint8)
    out[:, : len(head)] = head
    _put_digits(out, len(head), np.asarray(values, dtype=np.int64), width)
    return ascii_rows(out)


def iso_timestamps(epoch_ms: np.ndarray, *, quoted: bool = False) -> pa.StringArray:
    """Epoch milliseconds as ISO-8601 UTC with milliseconds and `Z` (`2024-05-01T13:45:12.345Z`).

    `quoted` adds the double quotes of a JSON string in the same pass.
    """
    epoch_ms = np.asarray(epoch_ms, dtype=np.int64)
    n = len(epoch_ms)
    q = 1 if quoted else 0
    out = np.full((n, 24 + 2 * q), ord('"'), dtype=np.uint8)
    if n == 0:
        return pa.array([], type=pa.string())
    days = epoch_ms // DAY_MS
    first = int(days.min())
    calendar = np.arange(first, int(days.max()) + 1).astype("datetime64[D]")
    # Only a few hundred distinct dates: format those once and index into them.
    date_bytes = np.datetime_as_string(calendar).astype("S10").view(np.uint8).reshape(-1, 10)
    out[:, q : q + 10] = date_bytes[days - first]
    in_day = epoch_ms - days * DAY_MS
    out[:, q + 10] = ord("T")
    out[:, q + 13] = out[:, q + 16] = ord(":")
    out[:, q + 19] = ord(".")
    out[:, q + 23] = ord("Z")
    out[:, q + 11 : q + 13] = _TWO_DIGITS[in_day // 3_600_000]
    out[:, q + 14 : q + 16] = _TWO_DIGITS[in_day // 60_000 % 60]
    out[:, q + 17 : q + 19] = _TWO_DIGITS[in_day // 1000 % 60]
    out[:, q + 20 : q + 23] = _THREE_DIGITS[in_day % 1000]
    return ascii_rows(out)


def decimal_amounts(cents: np.ndarray) -> pa.StringArray:
    """Integer cents as JSON numbers with exactly two decimals (`129.90`), exact unlike float formatting."""
    cents = np.asarray(cents, dtype=np.int64)
    units = pc.cast(pa.array(cents // 100), pa.string())
    fraction = zero_padded(cents % 100, 2)
    return pc.binary_join_element_wise(units, fraction, ".")
