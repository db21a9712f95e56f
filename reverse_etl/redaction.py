"""Keeps PII and secrets out of logs, error text and sync_failures."""

from __future__ import annotations

import re
from typing import Any

_PATTERNS = (
    # user:password@ in URLs
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), r"\1<redacted>@"),
    # Authorization schemes and key=value / "key": "value" secrets, in headers, JSON or query strings
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 <redacted>"),
    (
        re.compile(
            r"(?i)([\"']?(?:access_token|refresh_token|token|api[_-]?key|write[_-]?key|secret|"
            r"client_secret|password|passwd|authorization|signature)[\"']?\s*[=:]\s*[\"']?)[^\s\"',&}]+"
        ),
        r"\1<redacted>",
    ),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "<email>"),
    # long hex strings: hashed identifiers (Meta) and signatures
    (re.compile(r"\b[0-9a-fA-F]{32,}\b"), "<hash>"),
    (re.compile(r"\+?\d[\d ().-]{7,}\d"), "<phone>"),
)


def redact(text: str) -> str:
    """Replace emails, phone numbers, hashes, credentials and tokens in free text."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_value(value: Any) -> Any:
    """Redact every string inside a JSON-like value, keeping its structure (for previews and samples)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    return value
