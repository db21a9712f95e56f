"""Meta (Facebook) Custom Audiences: `POST` (add) and `DELETE` (remove) `/{version}/{audience_id}/users`.

Identifiers are normalised and hashed before they leave: emails trimmed and lower-cased, phones reduced to
digits (with country code, no leading zeros), then SHA-256 hex; schema `EMAIL_SHA256` (and `PHONE_SHA256`
when a phone field is mapped). At most 10,000 users per request. The Graph API reports throttling and
token problems as HTTP 400 with an error code, so those codes are read here.

Entries Meta cannot use do not fail the request: it applies the rest and answers `num_invalid_entries`
with `invalid_entry_samples` (entry -> reason). Sampled entries are mapped back to their records and
rejected; when the sample does not name them all, the unnamed ones are reported as suspects among the
unnamed records, and the sender re-sends those in parts (adding or removing again is harmless) to find them.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, ClassVar

from pydantic import Field

from reverse_etl.destinations.base import (
    Batch,
    BatchResult,
    DeliveryError,
    DeliverySettings,
    FatalError,
    Operation,
    Record,
    RetryableError,
)
from reverse_etl.destinations.http_api import HttpDestination, parse_retry_after

# Graph API error codes: throttling (retry later) and authentication/permission (stop).
THROTTLING_CODES = {4, 17, 32, 613, 80003, 80004}
AUTH_CODES = {102, 190, 200, 10}


def normalise_email(value: Any) -> str | None:
    text = str(value).strip().lower() if value is not None else ""
    return text if "@" in text else None


def normalise_phone(value: Any) -> str | None:
    digits = re.sub(r"\D", "", str(value or "")).lstrip("0")
    return digits if len(digits) >= 7 else None


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class MetaSettings(DeliverySettings):
    access_token: str = Field(repr=False)
    audience_id: str = Field(pattern=r"^\d+$")
    base_url: str = "https://graph.facebook.com"
    api_version: str = Field(default="v21.0", pattern=r"^v\d+\.\d+$")
    email_field: str = "email"
    phone_field: str | None = None


class MetaCustomAudienceDestination(HttpDestination):
    type_name: ClassVar[str] = "meta_custom_audience"
    Settings: ClassVar[type[DeliverySettings]] = MetaSettings
    max_batch_size: ClassVar[int] = 10_000
    settings: MetaSettings

    @property
    def base_url(self) -> str:
        return self.settings.base_url.rstrip("/")

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.access_token}"}

    def _identifiers(self, payload: dict[str, Any]) -> list[str | None]:
        email = normalise_email(payload.get(self.settings.email_field))
        found = [sha256(email) if email else None]
        if self.settings.phone_field:
            phone = normalise_phone(payload.get(self.settings.phone_field))
            found.append(sha256(phone) if phone else None)
        return found

    def validate_record(self, record: Record, operation: Operation) -> str | None:
        if not any(self._identifiers(record.payload)):
            return "no usable email or phone to match the person in Meta"
        return None

    def _payload(self, batch: Batch) -> dict[str, Any]:
        return self._payload_of([self._identifiers(r.payload) for r in batch.records])

    def _moved(self, batch: Batch) -> list[list[str | None]]:
        """Identifiers members no longer have (a changed email): they must leave the audience."""
        moved = []
        for record in batch.records:
            if record.previous is not None:
                old = self._identifiers(record.previous)
                if any(old) and old != self._identifiers(record.payload):
                    moved.append(old)
        return moved

    def _payload_of(self, rows: list[list[str | None]]) -> dict[str, Any]:
        if self.settings.phone_field:
            schema: Any = ["EMAIL_SHA256", "PHONE_SHA256"]
            data: list[Any] = [[value or "" for value in row] for row in rows]
        else:
            schema, data = "EMAIL_SHA256", [row[0] for row in rows]
        return {"payload": {"schema": schema, "data": data}}

    def preview(self, batch: Batch) -> Any:
        return self._payload(batch)

    def classify_error(self, response: Any) -> DeliveryError | None:
        try:
            error = response.json().get("error") or {}
        except ValueError:
            return None
        code = error.get("code")
        message = f"{self.name}: Graph API error {code}: {error.get('message', '')[:200]}"
        if code in THROTTLING_CODES:
            return RetryableError(message, retry_after=parse_retry_after(response.headers.get("Retry-After")))
        if code in AUTH_CODES:
            return FatalError(message)
        return None

    def _send(self, batch: Batch) -> BatchResult:
        url = f"{self.base_url}/{self.settings.api_version}/{self.settings.audience_id}/users"
        if batch.operation != "remove":
            moved = self._moved(batch)
            if moved:  # both requests are idempotent, so a retry of the whole batch is harmless
                self.request("DELETE", url, body=self._payload_of(moved))
        response = self.request(
            "DELETE" if batch.operation == "remove" else "POST", url, body=self._payload(batch)
        )
        try:
            answer = response.json() if response.content else {}
        except ValueError:
            answer = {}
        return self._settle(batch, answer if isinstance(answer, dict) else {})

    def _settle(self, batch: Batch, answer: dict[str, Any]) -> BatchResult:
        invalid = int(answer.get("num_invalid_entries") or 0)
        if invalid <= 0:
            return BatchResult.all_accepted(batch)
        samples = answer.get("invalid_entry_samples") or {}
        if isinstance(samples, list):  # seen as a list of entries too
            samples = dict.fromkeys(map(str, samples), "invalid entry")
        by_hash: dict[str, str] = {}
        for record in batch.records:
            for value in self._identifiers(record.payload):
                if value:
                    by_hash.setdefault(value, record.key)
        result = BatchResult()
        for entry, reason in samples.items() if isinstance(samples, dict) else ():
            key = by_hash.get(str(entry)) or by_hash.get(str(reason))  # entry -> reason, either way round
            if key is not None:
                detail = reason if by_hash.get(str(entry)) else entry
                result.rejected[key] = f"{self.name}: Meta counted the entry as invalid: {str(detail)[:200]}"
        result.accepted = [r.key for r in batch.records if r.key not in result.rejected]
        unnamed = invalid - len(result.rejected)
        if unnamed > 0:
            result.suspects = list(result.accepted)
            result.unnamed = unnamed
            result.unnamed_reason = f"{self.name}: Meta counted the entry as invalid (num_invalid_entries)"
        return result

    upsert = _send
    remove = _send
