"""Generic webhook: JSON batches of add/change/remove records, signed like Segment's webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, ClassVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from reverse_etl.destinations.base import BatchResult, Destination, Record


class WebhookDestination(Destination):
    type_name: ClassVar[str] = "webhook"
    max_batch_size: ClassVar[int] = 1000

    def __init__(self, name: str, config: dict[str, Any]) -> None:
        super().__init__(name, config)
        self.url: str = config["url"]
        self.secret: str | None = config.get("secret")
        self.timeout: float = float(config.get("timeout_seconds", 30))
        self.session = requests.Session()
        retry = Retry(
            total=int(config.get("max_retries", 5)),
            backoff_factor=0.5,
            backoff_jitter=0.25,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=None,  # POSTs are safe to repeat: every batch carries an Idempotency-Key
            respect_retry_after_header=True,
        )
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    def _post(self, operation: str, records: list[Record], audience: str, batch_id: str) -> BatchResult:
        # Records are already JSON text from DuckDB: splice them in rather than parse and re-serialise.
        envelope = json.dumps({"audience": audience, "operation": operation, "batch_id": batch_id})[:-1]
        body = f'{envelope},"records":[{",".join(r.payload_json for r in records)}]}}'.encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": batch_id}
        if self.secret:
            key = self.secret.encode()
            timestamp = str(int(time.time()))
            headers["X-Signature"] = hmac.new(key, body, hashlib.sha1).hexdigest()
            signed = hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            headers["X-Signature-256"] = f"t={timestamp},v1={signed}"
        response = self.session.post(self.url, data=body, headers=headers, timeout=self.timeout)
        response.raise_for_status()
        return BatchResult(accepted=[r.key for r in records])

    def upsert(self, records: list[Record], *, audience: str, batch_id: str) -> BatchResult:
        return self._post("upsert", records, audience, batch_id)

    def remove(self, records: list[Record], *, audience: str, batch_id: str) -> BatchResult:
        return self._post("remove", records, audience, batch_id)

    def close(self) -> None:
        self.session.close()
