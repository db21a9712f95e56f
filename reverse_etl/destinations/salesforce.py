"""Salesforce: upsert by external ID with sObject Collections.

`PATCH /services/data/vXX.X/composite/sobjects/{SObject}/{ExternalIdField}` with `allOrNone: false` and at
most 200 records; the answer lists one result per record, in order, with `success` and `errors[]`.
Mapped fields are sent as sObject fields (map them with `fields:` to API names); membership is a checkbox
field set true on enter and false on exit. Auth: OAuth access token as Bearer.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import Field, field_validator

from reverse_etl.destinations.base import Batch, BatchResult, DeliverySettings, FatalError
from reverse_etl.destinations.http_api import HttpDestination

# Per-record status codes worth another try; the rest are validation errors (permanent).
TRANSIENT_CODES = {"UNABLE_TO_LOCK_ROW", "REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE"}


class SalesforceSettings(DeliverySettings):
    instance_url: str
    access_token: str = Field(repr=False)
    api_version: str = "v62.0"
    sobject: str = "Contact"
    external_id_field: str = "CDP_Profile_Id__c"
    membership_field: str | None = None  # checkbox field; default: "<Audience>__c"

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not re.fullmatch(r"v\d+\.\d", value):
            raise ValueError("api_version looks like v62.0")
        return value


class SalesforceDestination(HttpDestination):
    type_name: ClassVar[str] = "salesforce"
    Settings: ClassVar[type[DeliverySettings]] = SalesforceSettings
    max_batch_size: ClassVar[int] = 200
    settings: SalesforceSettings

    @property
    def base_url(self) -> str:
        return self.settings.instance_url.rstrip("/")

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.access_token}"}

    def _membership_field(self, audience: str) -> str:
        return self.settings.membership_field or f"{audience.title().replace('_', '')}__c"

    def _records(self, batch: Batch) -> list[dict[str, Any]]:
        field = self._membership_field(batch.audience)
        inside = batch.operation != "remove"
        fields_of = (lambda r: r.payload) if inside else (lambda r: {})
        return [
            {
                "attributes": {"type": self.settings.sobject},
                **fields_of(record),
                self.settings.external_id_field: record.key,
                field: inside,
            }
            for record in batch.records
        ]

    def preview(self, batch: Batch) -> Any:
        return {"allOrNone": False, "records": self._records(batch)}

    def _upsert(self, batch: Batch) -> BatchResult:
        s = self.settings
        url = f"{self.base_url}/services/data/{s.api_version}/composite/sobjects/{s.sobject}/{s.external_id_field}"
        response = self.request("PATCH", url, body={"allOrNone": False, "records": self._records(batch)})
        results = response.json()
        if not isinstance(results, list) or len(results) != len(batch.records):
            raise FatalError(f"{self.name}: Salesforce answered with an unexpected shape")
        outcome = BatchResult()
        for record, item in zip(batch.records, results, strict=True):
            if item.get("success"):
                outcome.accepted.append(record.key)
                continue
            errors = item.get("errors") or [{}]
            reason = "; ".join(f"{e.get('statusCode', 'ERROR')}: {e.get('message', '')}" for e in errors)
            if all(e.get("statusCode") in TRANSIENT_CODES for e in errors):
                outcome.deferred[record.key] = reason
            else:
                outcome.rejected[record.key] = reason
        return outcome

    upsert = _upsert
    remove = _upsert  # an exit upserts the membership checkbox to false
