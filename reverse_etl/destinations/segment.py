"""Segment-compatible HTTP tracking API (Segment, RudderStack, our own collector): `POST /v1/batch`.

Audience membership the way Segment Engage sends it: on enter an `identify` with trait
`<audience_key>: true` (plus the mapped traits) and a `track` "Audience Entered"; on exit the same with
`false` and "Audience Exited"; a changed member gets an `identify` with the new traits. Every message has a
deterministic `messageId`, so the API's de-duplication makes repeats harmless. Limits: 500 KB per batch
request, 32 KB per message (Segment HTTP API documentation). Auth: HTTP basic with the write key as user.
"""

from __future__ import annotations

import base64
from typing import Any, ClassVar

import orjson
from pydantic import Field

from reverse_etl.destinations.base import Batch, BatchResult, DeliverySettings, Operation, Record
from reverse_etl.destinations.http_api import HttpDestination

ENTERED, EXITED = "Audience Entered", "Audience Exited"


class SegmentSettings(DeliverySettings):
    write_key: str = Field(repr=False)
    base_url: str = "https://api.segment.io"
    audience_key: str | None = None  # trait name; default: the audience's name
    user_id_field: str = "user_id"  # payload field holding the userId; anonymousId = record key otherwise


class SegmentDestination(HttpDestination):
    type_name: ClassVar[str] = "segment"
    Settings: ClassVar[type[DeliverySettings]] = SegmentSettings
    max_batch_size: ClassVar[int] = 2500  # no count limit documented; the byte limits below bind first
    max_batch_bytes: ClassVar[int | None] = 500_000
    max_message_bytes: ClassVar[int] = 32_000
    settings: SegmentSettings

    @property
    def base_url(self) -> str:
        return self.settings.base_url.rstrip("/")

    def auth_headers(self) -> dict[str, str]:
        token = base64.b64encode(f"{self.settings.write_key}:".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def messages(self, record: Record, operation: Operation, audience: str) -> list[dict[str, Any]]:
        key = self.settings.audience_key or audience
        identity: dict[str, Any] = {}
        user_id = record.payload.get(self.settings.user_id_field)
        if user_id is not None:
            identity["userId"] = str(user_id)
        else:
            identity["anonymousId"] = record.key
        inside = operation != "remove"
        traits = {**record.payload, key: True} if inside else {key: False}
        context = {
            "personas": {"computation_key": key, "computation_class": "audience"},
            "profile_id": record.key,
        }
        message_id = record.idempotency_key(audience, self.name, operation)
        found = [
            {
                "type": "identify",
                "messageId": f"{message_id}-i",
                "traits": traits,
                "context": context,
                **identity,
            }
        ]
        old_user = record.moved(self.settings.user_id_field) if operation == "change" else None
        if old_user is not None:
            # The member now has another userId: the old identity leaves the audience.
            for kind, extra in (("identify", {"traits": {key: False}}), ("track", {"event": EXITED})):
                found.append(
                    {
                        "type": kind,
                        "messageId": f"{message_id}-moved-{kind[0]}",
                        "userId": str(old_user),
                        "context": context,
                        **extra,
                        **({"properties": {"audience_key": key, key: False}} if kind == "track" else {}),
                    }
                )
        if operation != "change":
            found.append(
                {
                    "type": "track",
                    "event": ENTERED if inside else EXITED,
                    "messageId": f"{message_id}-t",
                    "properties": {"audience_key": key, key: inside},
                    "context": context,
                    **identity,
                }
            )
        return found

    def record_size(self, record: Record, operation: Operation) -> int:
        return sum(len(orjson.dumps(m)) + 1 for m in self.messages(record, operation, "audience"))

    def validate_record(self, record: Record, operation: Operation) -> str | None:
        largest = max(len(orjson.dumps(m)) for m in self.messages(record, operation, "audience"))
        if largest > self.max_message_bytes:
            return f"message is {largest} bytes; the Segment API accepts at most {self.max_message_bytes}"
        return None

    def _payload(self, batch: Batch) -> dict[str, Any]:
        return {
            "batch": [m for r in batch.records for m in self.messages(r, batch.operation, batch.audience)]
        }

    def preview(self, batch: Batch) -> Any:
        return self._payload(batch)

    def _post(self, batch: Batch) -> BatchResult:
        self.request("POST", f"{self.base_url}/v1/batch", body=self._payload(batch))
        return BatchResult.all_accepted(batch)

    upsert = _post
    remove = _post
