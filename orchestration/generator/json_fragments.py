"""Column-wise JSON: every value is an Arrow string array holding JSON text, null meaning "omit this key".

An object is assembled for all rows at once by one Arrow join over its keys and values, so no per-event dict
is ever built and each value's bytes are copied once. Values come from three places only:
 - `encoded(vocabulary)`: anything repeating (names, products, whole sub-objects), JSON-encoded once by
   orjson and then `take`n by code, which is also how a value is restricted to some rows (null elsewhere);
 - `quoted(array)`: generated ids and emails, whose alphabet needs no escaping (checked);
 - literals: a `str` holding JSON text, the same in every row.
A field's value may also be a tuple of arrays that are never non-null in the same row (say the properties of
page calls and of tracks): they are written one after the other and the null ones vanish, with no merge pass.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

Value = pa.Array | str | tuple[pa.Array, ...] | None


def literal(value: object) -> str:
    """JSON text for one value, to splice in as the same literal in every row."""
    return orjson.dumps(value).decode()


def encoded(vocabulary: Sequence[object]) -> pa.StringArray:
    """Each vocabulary item as JSON text (orjson does the escaping), to be `take`n by code."""
    return pa.array([orjson.dumps(item).decode() for item in vocabulary], type=pa.string())


def take(values: pa.Array, codes: np.ndarray, present: np.ndarray | None = None) -> pa.Array:
    """`values[code]` per row; rows where `present` is False or the code is negative become null."""
    codes = np.asarray(codes)
    mask = codes < 0 if present is None else ~np.asarray(present, dtype=bool) | (codes < 0)
    return values.take(pa.array(np.where(mask, 0, codes).astype(np.int64), mask=mask))


def expand(values: pa.Array, rows: np.ndarray, length: int, present: np.ndarray | None = None) -> pa.Array:
    """Values computed for `rows` of a longer array, back at their rows among `length` (null elsewhere)."""
    position = np.full(length, -1, dtype=np.int64)
    position[rows] = np.arange(len(rows))
    return take(values, position, present)


def quoted(values: pa.Array) -> pa.Array:
    """A JSON string literal per value; nulls stay null. Values are generated, so escaping is a bug."""
    if _needs_escaping(values):
        raise ValueError("generated value needs JSON escaping; encode it through a vocabulary instead")
    return pc.binary_join_element_wise('"', values, '"', "")


def _needs_escaping(values: pa.Array) -> bool:
    """Whether any value holds a quote, a backslash or a control character (checked on the raw bytes)."""
    _, offsets, data = values.buffers()
    if data is None or len(values) == 0:
        return False
    bounds = np.frombuffer(offsets, dtype=np.int32)[values.offset : values.offset + len(values) + 1]
    text = np.frombuffer(data, dtype=np.uint8)[bounds[0] : bounds[-1]]
    return bool(np.any((text < 0x20) | (text == ord('"')) | (text == ord("\\"))))


def unwrap(objects: pa.Array) -> pa.Array:
    """`{…}` without its braces, to splice more keys into the object later."""
    return pc.utf8_slice_codeunits(objects, 1, -1)


def json_object(fields: Sequence[tuple[str, Value]], length: int, terminator: str = "") -> pa.Array:
    """`{"k1":v1,"k2":v2}` per row, omitting keys whose value is null in that row.

    The first field must be present in every row (it carries the opening brace, and every later key its
    leading comma). `terminator` is appended to each object (a newline makes NDJSON lines).
    """
    fields = [(key, value) for key, value in fields if value is not None]
    first_key, first_value = fields[0]
    if _valid_rows(first_value, length) != length:
        raise ValueError(f"first field {first_key!r} must be present in every row")
    pieces: list[pa.Array | str] = []
    literal = "{"
    for position, (key, value) in enumerate(fields):
        name = ("," if position else "") + orjson.dumps(key).decode() + ":"
        if isinstance(value, str):
            literal += name + value
            continue
        alternatives = value if isinstance(value, tuple) else (value,)
        if _valid_rows(value, length) == length:
            literal += name
        else:
            # The key must disappear with its value: a key column that is null where the value is.
            if literal:
                pieces.append(literal)
            present = functools.reduce(pc.or_, [pc.is_valid(v) for v in alternatives])
            pieces.append(pc.if_else(present, name, pa.scalar(None, pa.string())))
            literal = ""
        if literal:
            pieces.append(literal)
        pieces.extend(alternatives)
        literal = ""
    pieces.append(literal + "}" + terminator)
    if all(isinstance(piece, str) for piece in pieces):
        return pa.array(["".join(pieces)] * length, type=pa.string())
    # "skip" leaves out null pieces. A row of nothing but nulls would be dropped from the result altogether
    # (Arrow bug, see narwhals-dev/narwhals#3965), which the literal opening brace in every row rules out.
    return pc.binary_join_element_wise(*pieces, "", null_handling="skip")


def concat(*pieces: pa.Array | str) -> pa.Array:
    """Pieces joined row by row; null if any array piece is null in that row."""
    return pc.binary_join_element_wise(*pieces, "")


def json_array(item_json: pa.Array, offsets: np.ndarray) -> pa.Array:
    """`[item, item, …]` per row, where row i owns items `offsets[i]:offsets[i+1]`."""
    lists = pa.ListArray.from_arrays(pa.array(np.asarray(offsets, dtype=np.int32)), item_json)
    return concat("[", pc.binary_join(lists, ","), "]")


def _valid_rows(value: Value, length: int) -> int:
    if isinstance(value, str):
        return length
    alternatives = value if isinstance(value, tuple) else (value,)
    return sum(len(v) - v.null_count for v in alternatives)
