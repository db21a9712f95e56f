"""The Segment HTTP tracking API, as pure functions: request body in, landing lines out.

Follows https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/: `POST /v1/batch`
(`{"batch": [...], "sentAt", "context"}`) and one endpoint per call type; the write key comes by HTTP
basic auth (key as user name, empty password) or as `writeKey` in the body; bodies may be gzipped;
at most 500 KB a batch and 32 KB an event.

The collector checks only what it must to answer the client truthfully (the body is JSON, the shape is
right, the limits hold, the key is known). The Segment-spec rules (ids, event names, timestamps) are
checked once, by the loader, which quarantines what fails with a reason.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import orjson

MAX_BATCH_BYTES = 500 * 1024
MAX_EVENT_BYTES = 32 * 1024
CALL_TYPES = ("track", "identify", "page", "screen", "group", "alias")
BATCH_PATHS = ("/v1/batch", "/v1/import")


class RequestError(Exception):
    """A request the collector refuses, with the HTTP status and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Accepted:
    source: str
    lines: bytes  # NDJSON, one event a line, ready to append
    count: int


def decode_body(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """The request body, gunzipped if needed, refusing anything over `limit` bytes once decoded."""
    if (content_encoding or "").strip().lower() in ("gzip", "x-gzip"):
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            # max_length stops a small gzip bomb from inflating to gigabytes in memory.
            decoded = inflater.decompress(body, limit + 1)
        except zlib.error as error:
            raise RequestError(400, f"the body is not valid gzip ({error})") from error
        if len(decoded) > limit or inflater.unconsumed_tail:
            raise RequestError(400, f"the body is over the {limit // 1024} KB limit once decompressed")
        return decoded
    if len(body) > limit:
        raise RequestError(400, f"the body is over the {limit // 1024} KB limit")
    return body


def write_key_of(authorization: str | None, body: Mapping[str, object]) -> str | None:
    """The write key from basic auth (user name), else from `writeKey` in the body."""
    if authorization and authorization.lower().startswith("basic "):
        try:
            user, _, _ = base64.b64decode(authorization[6:].strip()).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user = ""
        if user:
            return user
    key = body.get("writeKey")
    return key if isinstance(key, str) and key else None


def _iso_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def accept(
    path: str,
    body: bytes,
    *,
    content_encoding: str | None,
    authorization: str | None,
    write_keys: Mapping[str, str],
    suppressed: Callable[[Mapping[str, object]], bool] | None = None,
) -> Accepted:
    """Check one request and turn it into landing lines, or raise `RequestError`.

    Events `suppressed` says are of a person on the suppression list are acknowledged but not landed.
    """
    call = path.rstrip("/")
    is_batch = call in BATCH_PATHS
    if not is_batch and call.removeprefix("/v1/") not in CALL_TYPES:
        raise RequestError(404, f"unknown endpoint {path}; use /v1/batch or /v1/<call type>")
    decoded = decode_body(body, content_encoding, MAX_BATCH_BYTES if is_batch else MAX_EVENT_BYTES)
    try:
        payload = orjson.loads(decoded)
    except orjson.JSONDecodeError as error:
        raise RequestError(400, f"the body is not valid JSON ({error})") from error
    if not isinstance(payload, dict):
        raise RequestError(400, "the body must be a JSON object")

    key = write_key_of(authorization, payload)
    if key is None:
        raise RequestError(401, "missing write key: send it as the basic-auth user name or as writeKey")
    source = write_keys.get(key)
    if source is None:
        raise RequestError(401, "unknown write key")

    if is_batch:
        events = payload.get("batch")
        if not isinstance(events, list):
            raise RequestError(400, "a batch body needs a 'batch' array")
    else:
        events = [payload]
    received_at = _iso_now()
    batch_sent_at = payload.get("sentAt") if is_batch else None
    batch_context = payload.get("context") if is_batch else None
    lines = []
    for position, event in enumerate(events):
        if not isinstance(event, dict):
            raise RequestError(400, f"event {position} is not a JSON object")
        size = len(orjson.dumps(event))
        if size > MAX_EVENT_BYTES:
            raise RequestError(400, f"event {position} is {size} bytes, over the 32 KB limit")
        event.pop("writeKey", None)  # a secret: never written to disk
        if not is_batch:
            event.setdefault("type", call.removeprefix("/v1/"))
        if batch_sent_at is not None:
            event.setdefault("sentAt", batch_sent_at)
        if isinstance(batch_context, dict) and "context" not in event:
            event["context"] = batch_context
        if not event.get("messageId"):
            event["messageId"] = f"cdp-{uuid.uuid4()}"
        event["receivedAt"] = received_at  # the server's clock, as Segment sets it
        # Dropped here rather than landed for the loader to drop: their data never reaches the disk.
        # A few hashes per event, and only while the list is not empty, so the collector stays fast.
        if suppressed is not None and suppressed(event):
            continue
        lines.append(orjson.dumps(event))
    return Accepted(source=source, lines=b"\n".join(lines) + b"\n" if lines else b"", count=len(lines))
