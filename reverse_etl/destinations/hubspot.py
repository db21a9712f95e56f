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

    def _moved_input(self, record: Record, batch: Batch) -> dict[str, Any] | None:
        """A member whose email changed: the contact under the old email leaves the audience."""
        old = record.moved(self.settings.email_field)
        new = str(record.payload.get(self.settings.email_field) or "").strip().lower()
        if old is None or str(old).strip().lower() == new or "@" not in str(old):
            return None
        return {
            "idProperty": "email",
            "id": str(old).strip().lower(),
            "properties": {self.settings.membership_property or batch.audience: "false"},
            "objectWriteTraceId": record.idempotency_key(batch.audience, self.name, "moved"),
        }

    def _inputs(self, batch: Batch) -> list[tuple[str, dict[str, Any]]]:
        found = []
        for record in batch.records:
            found.append((record.key, self._input(record, batch)))
            moved = self._moved_input(record, batch) if batch.operation == "change" else None
            if moved:
                found.append((record.key, moved))
        return found

    def preview(self, batch: Batch) -> Any:
        return {"inputs": [item for _, item in self._inputs(batch)]}

    def _upsert(self, batch: Batch) -> BatchResult:
        inputs = self._inputs(batch)
        by_trace = {item["objectWriteTraceId"]: key for key, item in inputs}
        result = BatchResult()
        failed: set[str] = set()
        body: dict[str, Any] = {"errors": []}
        # Moved emails add inputs: keep every request within the documented 100.
        for start in range(0, len(inputs), self.max_batch_size):
            chunk = [item for _, item in inputs[start : start + self.max_batch_size]]
            response = self.request(
                "POST", f"{self.base_url}/crm/v3/objects/contacts/batch/upsert", body={"inputs": chunk}
            )
            answer = response.json() if response.content else {}
            body["errors"] += answer.get("errors") or []
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
