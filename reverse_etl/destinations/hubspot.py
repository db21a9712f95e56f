"""HubSpot contacts: `POST /crm/v3/objects/contacts/batch/upsert` keyed by email.

Membership is a contact property (default: the audience's name) set to "true" on enter and "false" on exit;
mapped fields become contact properties. At most 100 inputs per request; Bearer token (private app);
private apps get 100-190 requests per 10 s, so the default client-side rate is 9/s. Partial failures come
back as HTTP 207 with `errors[]`, each naming the failed inputs' `objectWriteTraceId`, which we set per
record (deterministic) to map errors back to rows.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from reverse_etl.destinations.base import Batch, BatchResult, DeliverySettings, Operation, Record
from reverse_etl.destinations.http_api import HttpDestination

# Error categories that a later attempt may get past; every other per-record error is a permanent reject.
TRANSIENT_CATEGORIES = {"RATE_LIMITS", "LOCKED", "TIMEOUT", "SERVICE_UNAVAILABLE"}


class HubSpotSettings(DeliverySettings):
    access_token: str = Field(repr=False)
    base_url: str = "https://api.hubapi.com"
    email_field: str = "email"
    membership_property: str | None = None  # default: the audience's name


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class HubSpotDestination(HttpDestination):
    type_name: ClassVar[str] = "hubspot"
    Settings: ClassVar[type[DeliverySettings]] = HubSpotSettings
    max_batch_size: ClassVar[int] = 100
    default_rate_limit_per_second: ClassVar[float | None] = 9.0
    settings: HubSpotSettings

    @property
    def base_url(self) -> str:
        return self.settings.base_url.rstrip("/")

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.access_token}"}

    def validate_record(self, record: Record, operation: Operation) -> str | None:
        email = record.payload.get(self.settings.email_field)
        if not email or "@" not in str(email):
            return f"no usable {self.settings.email_field!r}: HubSpot upserts contacts by email"
        return None

    def _input(self, record: Record, batch: Batch) -> dict[str, Any]:
        membership = self.settings.membership_property or batch.audience
        if batch.operation == "remove":
            properties = {membership: "false"}
        else:
            properties = {
                k: _text(v)
                for k, v in record.payload.items()
                if k != self.settings.email_field and v is not None
            }
            properties[membership] = "true"
        return {
            "idProperty": "email",
            "id": str(record.payload[self.settings.email_field]).strip().lower(),
            "properties": properties,
            "objectWriteTraceId": record.idempotency_key(batch.audience, self.name, batch.operation),
        }

    def preview(self, batch: Batch) -> Any:
        return {"inputs": [self._input(r, batch) for r in batch.records]}

    def _upsert(self, batch: Batch) -> BatchResult:
        inputs = [self._input(r, batch) for r in batch.records]
        response = self.request(
            "POST", f"{self.base_url}/crm/v3/objects/contacts/batch/upsert", body={"inputs": inputs}
        )
        by_trace = {i["objectWriteTraceId"]: r.key for i, r in zip(inputs, batch.records, strict=True)}
        result = BatchResult()
        failed: set[str] = set()
        body = response.json() if response.content else {}
        for error in body.get("errors") or []:
            context = error.get("context") or {}
            traces = context.get("objectWriteTraceId") or []
            reason = f"{error.get('category', 'ERROR')}: {error.get('message', 'rejected')}"
            for trace in traces:
                key = by_trace.get(trace)
                if key is None:
                    continue
                failed.add(key)
                if error.get("category") in TRANSIENT_CATEGORIES:
                    result.deferred[key] = reason
                else:
                    result.rejected[key] = reason
        if body.get("errors") and not failed:
            # Errors we cannot attribute to inputs: deliver nothing as acknowledged, retry next run.
            result.deferred = {r.key: "unattributed error in HubSpot response" for r in batch.records}
            return result
        result.accepted = [r.key for r in batch.records if r.key not in failed]
        return result

    upsert = _upsert
    remove = _upsert  # an exit is an upsert of the membership property to "false"
