"""Keeps PII and secrets out of logs, error text, CLI output and the sync state tables.

Two layers, both applied by `redact`:

- **By value**: every secret the configuration resolved (each value that came from a `${VAR}` reference,
  and every credential setting of a destination: tokens, passwords, header values) is registered here
  and masked wherever it appears, also in the forms it takes on the wire: percent-encoded (upper or lower
  case hex, `+` for spaces) and JSON-escaped. A secret URL also registers its parts (password, path and
  query, query values, token-like path segments), because errors quote those rather than the whole URL.
- **By shape**: emails, phone numbers, long hex hashes, `Bearer`/`Basic` credentials, `key=value` secrets.

Registration is process-wide on purpose: the text that must be masked is produced in many places
(HTTP clients, retry loops, exception chains) that never see the configuration.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

SECRET_MASK = "<secret>"
MIN_SECRET_LENGTH = 4  # shorter values ("1", "on") would mask ordinary words and numbers everywhere
# What requests leaves unencoded when it re-quotes a URL (requests.utils.requote_uri).
_REQUOTE_SAFE = "!#$%&'()*+,/:;=?@[]~"
_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")
_LOOPBACK = re.compile(r"127(?:\.\d{1,3}){3}")

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
    # phone numbers, but not loopback addresses (127.0.0.1 in a connection error is nobody's data;
    # other IP addresses may be a person's, so they stay masked)
    (
        re.compile(r"\+?\d[\d ().-]{7,}\d"),
        lambda m: m.group(0) if _LOOPBACK.fullmatch(m.group(0)) else "<phone>",
    ),
)

_lock = threading.Lock()
_secrets: set[str] = set()
_secret_pattern: re.Pattern[str] | None = None


def _wire_forms(value: str) -> set[str]:
    """The value as it may appear in a URL, a form body, a JSON text or an echo of any of them."""
    forms = {value, json.dumps(value)[1:-1]}
    for encoded in (quote(value, safe=""), quote(value, safe="/"), quote(value, safe=_REQUOTE_SAFE)):
        forms.add(encoded)
        forms.add(_PERCENT_ESCAPE.sub(lambda m: m.group(0).lower(), encoded))
    forms.add(quote_plus(value))
    return forms


def _token_like(segment: str) -> bool:
    """A URL path segment that looks like a credential (not a word such as `hooks` or `v1`)."""
    return len(segment) >= 16 or (len(segment) >= 8 and any(c.isdigit() for c in segment))


def _parts(value: str) -> set[str]:
    """The secret itself plus the pieces of it that error messages quote on their own."""
    parts = {value}
    if "://" in value:
        try:
            url = urlsplit(value)
        except ValueError:
            return parts
        if url.password:
            parts.add(url.password)
        tokens = [segment for segment in url.path.split("/") if _token_like(segment)]
        parts.update(tokens)
        if tokens or url.query:  # a plain path such as /hook carries nothing secret on its own
            parts.add(url.path + (f"?{url.query}" if url.query else ""))
        if url.query:
            parts.add(url.query)
            parts.update(v for _, v in parse_qsl(url.query, keep_blank_values=True))
    # libpq key=value connection strings
    parts.update(re.findall(r"(?i)\bpassword\s*=\s*'?([^\s']+)", value))
    return parts


def register_secret(value: Any) -> None:
    """Mask `value` (every string in it, for dicts and lists) in all text redacted from now on."""
    global _secret_pattern
    fresh = {form for text in _strings(value) for part in _parts(text) for form in _wire_forms(part)}
    fresh = {form for form in fresh if len(form) >= MIN_SECRET_LENGTH}
    with _lock:
        if fresh <= _secrets:
            return
        _secrets.update(fresh)
        # Longest first, so a secret that contains another is masked whole.
        alternatives = sorted(_secrets, key=len, reverse=True)
        _secret_pattern = re.compile("|".join(re.escape(s) for s in alternatives))


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from _strings(item)


def redact(text: str) -> str:
    """Mask registered secrets, then emails, phone numbers, hashes, credentials and tokens in free text."""
    pattern = _secret_pattern
    if pattern is not None:
        text = pattern.sub(SECRET_MASK, text)
    for shape, replacement in _PATTERNS:
        text = shape.sub(replacement, text)
    return text


def redact_excerpt(text: str, limit: int) -> str:
    """The first `limit` characters of `text`, redacted. Redacting after cutting would leak the prefix of a
    secret that straddles the cut, so a much wider window is redacted first and then cut."""
    return redact(text[: limit * 8 + 4096])[:limit]


def redact_value(value: Any) -> Any:
    """Redact every string inside a JSON-like value, keeping its structure (for previews and samples)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """Redacts a log record's final message and traceback, so no logger call can leak a secret or PII."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when set: the traceback's exception messages are redacted too.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


# The package's own loggers, and the HTTP client's, which logs each request line (URL path and query).
LOGGERS_TO_REDACT = ("reverse_etl", "urllib3")


def install_log_redaction(prefixes: Iterable[str] = LOGGERS_TO_REDACT) -> None:
    """Attach the filter to these loggers and their existing children (idempotent). A logger's filters
    only see records logged on that logger, not on its children, so each module logger gets one."""
    existing = list(logging.Logger.manager.loggerDict)
    for prefix in prefixes:
        for name in [prefix, *(n for n in existing if n.startswith(prefix + "."))]:
            logger = logging.getLogger(name)
            if not any(isinstance(f, RedactingFilter) for f in logger.filters):
                logger.addFilter(RedactingFilter())
