"""Generic webhook: JSON batches of add/change/remove records, signed like Segment's webhooks.

Body: `{"audience", "destination", "operation", "batch_id", "records": [{"type", "key", "id", "fields"}]}`.
Headers: `X-Signature` = hex HMAC-SHA1 of the body with the shared secret (Segment-compatible),
`X-Signature-256` = `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (replay-resistant), and a
stable `Idempotency-Key` (the batch id, derived from the batch's content: a retry after a timeout and a
re-send after a crash carry the same key). Each record's `id` is its own idempotency key, for receivers
that dedupe per record (a re-send after a crash may group records into other batches).

Answers: 2xx = every record applied, except those listed as
`{"rejected": [{"key": ..., "error": ...}]}` (refused, the rest applied: one request settles the batch).
A 4xx with that list = nothing applied, the listed records are the cause: the rest is sent again at once.
A 4xx without it: the engine isolates the bad records by re-sending parts of the batch.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any, ClassVar

import orjson
from pydantic import Field

from reverse_etl.destinations.base import Batch, BatchRejected, BatchResult, DeliverySettings
from reverse_etl.destinations.http_api import HttpDestination


class WebhookSettings(DeliverySettings):
    url: str
    secret: str | None = Field(default=None, repr=False)
    headers: dict[str, str] = Field(default_factory=dict, repr=False)


def signature_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    key = secret.encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signed = hmac.new(key, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {
        "X-Signature": hmac.new(key, body, hashlib.sha1).hexdigest(),
        "X-Signature-256": f"t={stamp},v1={signed}",
    }


class WebhookDestination(HttpDestination):
    type_name: ClassVar[str] = "webhook"
    Settings: ClassVar[type[DeliverySettings]] = WebhookSettings
    max_batch_size: ClassVar[int] = 1000
    settings: WebhookSettings

    @property
    def base_url(self) -> str:
        return self.settings.url

    def body(self, batch: Batch) -> dict[str, Any]:
        return {
            "audience": batch.audience,
            "destination": batch.destination,
            "operation": batch.operation,
            "batch_id": batch.batch_id,
            "records": [
                {
                    "type": batch.operation,
                    "key": r.key,
                    "id": r.idempotency_key(batch.audience, batch.destination, batch.operation),
                    "fields": r.payload,
                }
                for r in batch.records
            ],
        }

    def preview(self, batch: Batch) -> Any:
        return self.body(batch)

    def _post(self, batch: Batch) -> BatchResult:
        body = orjson.dumps(self.body(batch))
        headers = {**self.settings.headers, "Idempotency-Key": batch.batch_id}
        if self.settings.secret:
            headers.update(signature_headers(self.settings.secret, body))
        keys = {r.key for r in batch.records}
        try:
            response = self.request("POST", self.settings.url, body=body, headers=headers)
        except BatchRejected as error:
            named = _named_rejections(error.body, keys)
            if named:
                raise BatchRejected(str(error), rejected=named) from error
            raise
        try:
            answer = response.json() if response.content else None
        except ValueError:
            answer = None
        rejected = _named_rejections(answer, keys)
        return BatchResult(
            accepted=[r.key for r in batch.records if r.key not in rejected], rejected=rejected
        )

    upsert = _post
    remove = _post


def _named_rejections(answer: Any, keys: set[str]) -> dict[str, str]:
    """`{"rejected": [{"key", "error"}]}` from the receiver's answer, limited to this batch's keys."""
    items = answer.get("rejected") if isinstance(answer, dict) else None
    if not isinstance(items, list):
        return {}
    found = {}
    for item in items:
        if isinstance(item, dict) and str(item.get("key")) in keys:
            found[str(item["key"])] = str(item.get("error") or "rejected by the receiver")[:300]
    return found
