"""Identifier values the messages carry, and how the ground truth spells them (normalised).

Occurrences are kept as integer (source, code, person) keys, each source a table of values the codes index,
so a million events reduce to distinct (identifier, person) pairs without touching strings.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Sources, in the order MessageEncoder lists them.
(
    USER_ID,
    JUNK_USER_ID,
    LEGACY_USER_ID,
    DEVICE_ANONYMOUS_ID,
    ONE_OFF_ANONYMOUS_ID,
    DEVICE_ID,
    ADVERTISING_ID,
    EMAIL,
    JUNK_EMAIL,
    PHONE,
    SALESFORCE_ID,
    STRIPE_ID,
) = range(12)


class IdentifierSources:
    """The identifier values events can carry, by source, and packing of (source, code, person) keys."""

    def __init__(self, sources: list[tuple[str, pa.Array]], persons: int) -> None:
        self.id_types = [id_type for id_type, _ in sources]
        self.values = [values for _, values in sources]
        self.persons = persons
        self.span = max(len(values) for values in self.values) + 1

    def pack(self, source: int, code: np.ndarray, person: np.ndarray) -> np.ndarray:
        return (source * self.span + code.astype(np.int64)) * self.persons + person

    def table(self, keys: np.ndarray) -> pa.Table:
        """One row per key: id_type, id_value (as normalised in the ground truth), person (index)."""
        person = keys % self.persons
        source, code = np.divmod(keys // self.persons, self.span)
        order = np.argsort(source, kind="stable")
        bounds = np.searchsorted(source[order], np.arange(len(self.values) + 1))
        parts = [
            self.values[i].take(pa.array(code[order[bounds[i] : bounds[i + 1]]]))
            for i in range(len(self.values))
        ]
        return pa.table(
            {
                "id_type": pa.array(self.id_types).take(pa.array(source[order])),
                "id_value": pa.concat_arrays(parts),
                "person": person[order],
            }
        )


def check_normalised(actual: pa.Array, expected: pa.Array, what: str) -> None:
    if len(actual) and not pc.all(pc.equal(actual, expected)).as_py():
        raise RuntimeError(f"a generated {what} does not normalise to the value in the ground truth")


def normalised_emails(raw: pa.Array) -> pa.Array:
    """Trimmed and lower-cased: how the ground truth (and the identity graph) spells an email."""
    return pc.utf8_lower(pc.utf8_trim_whitespace(raw))


def normalised_phones(raw: pa.Array) -> pa.Array:
    """E.164 (`+14155550100`) from any of the formats people type; US numbers only."""
    digits = pc.replace_substring_regex(raw, "[^0-9]", "")
    national = pc.if_else(pc.equal(pc.utf8_length(digits), 11), pc.utf8_slice_codeunits(digits, 1), digits)
    return pc.binary_join_element_wise("+1", national, "")
