"""Braze: `POST /users/track` with user attributes, keyed by `external_id`.

Membership is a boolean custom attribute (default: the audience's name), true on enter and false on exit;
mapped fields become custom attributes. At most 75 attribute objects per request; Bearer REST API key.
A request with some bad objects still succeeds (201) and lists them in `errors[]` by `index`; when no
object was valid it fails with 400 and the same `errors[]`: then every listed object is rejected by name.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from reverse_etl.destinations.base import (
    Batch,
    BatchRejected,
    BatchResult,
    DeliverySettings,
    Operation,
    Record,
)
from reverse_etl.destinations.http_api import HttpDestination


class BrazeSettings(DeliverySettings):
    api_key: str = Field(repr=False)
    rest_endpoint: str  # e.g. https://rest.iad-01.braze.com
    external_id_field: str = "user_id"
    attribute: str | None = None  # default: the audience's name


class BrazeDestination(HttpDestination):
    type_name: ClassVar[str] = "braze"
    Settings: ClassVar[type[DeliverySettings]] = BrazeSettings
    max_batch_size: ClassVar[int] = 75
    default_rate_limit_per_second: ClassVar[float | None] = 900.0  # 3,000 requests per 3 s on /users/track
    settings: BrazeSettings

    @property
    def base_url(self) -> str:
        return self.settings.rest_endpoint.rstrip("/")

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.api_key}"}

    def validate_record(self, record: Record, operation: Operation) -> str | None:
        if record.payload.get(self.settings.external_id_field) in (None, ""):
            return f"no {self.settings.external_id_field!r}: Braze identifies users by external_id"
        return None

    def _attributes(self, batch: Batch) -> list[tuple[str, dict[str, Any]]]:
        """(record key, attribute object); a member whose external_id changed also clears the old user."""
        attribute = self.settings.attribute or batch.audience
        inside = batch.operation != "remove"
        id_field = self.settings.external_id_field
        found = []
        for record in batch.records:
            fields = {k: v for k, v in record.payload.items() if k != id_field} if inside else {}
            found.append(
                (record.key, {**fields, "external_id": str(record.payload[id_field]), attribute: inside})
            )
            old = record.moved(id_field) if batch.operation == "change" else None
            if old is not None:
                found.append((record.key, {"external_id": str(old), attribute: False}))
        return found

    def preview(self, batch: Batch) -> Any:
        return {"attributes": [item for _, item in self._attributes(batch)]}

    def _track(self, batch: Batch) -> BatchResult:
        attributes = self._attributes(batch)
        result = BatchResult()
        for start in range(0, len(attributes), self.max_batch_size):  # moved users add objects: stay <= 75
            chunk = attributes[start : start + self.max_batch_size]
            try:
                response = self.request(
                    "POST", f"{self.base_url}/users/track", body={"attributes": [item for _, item in chunk]}
                )
            except BatchRejected as error:
                named = _errors_by_key(error.body, chunk)
                if not named:
                    raise
                # Nothing in this request was processed: the named objects are the cause; the sender
                # sends the rest again.
                raise BatchRejected(str(error), rejected=named) from error
            body = response.json() if response.content else {}
            result.rejected.update(_errors_by_key(body, chunk))
        result.accepted = [r.key for r in batch.records if r.key not in result.rejected]
        return result

    upsert = _track
    remove = _track


def _errors_by_key(body: Any, chunk: list[tuple[str, dict[str, Any]]]) -> dict[str, str]:
    """Braze's `errors[]` entries for `attributes` objects, by the record key behind each index."""
    found: dict[str, str] = {}
    for error in (body.get("errors") if isinstance(body, dict) else None) or []:
        if not isinstance(error, dict):
            continue
        index = error.get("index")
        if error.get("input_array") == "attributes" and isinstance(index, int) and 0 <= index < len(chunk):
            found[chunk[index][0]] = str(error.get("type", "rejected by Braze"))[:300]
    return found
