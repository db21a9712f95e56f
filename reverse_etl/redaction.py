"""Keeps PII and secrets out of logs and error text."""

from __future__ import annotations

import re

_PATTERNS = (
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "<email>"),
    (
        re.compile(r"(?i)(bearer|basic|token|key|secret|password|authorization)([\"'=: ]+)[^\s\"',&]+"),
        r"\1\2<redacted>",
    ),
    (re.compile(r"\+?\d[\d ().-]{7,}\d"), "<phone>"),
)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
