"""The webhook receiver: a contract-enforcing server on 127.0.0.1, and the `cdp demo` destination.

`WebhookServer` checks what `reverse_etl.destinations.webhook` promises: JSON body of add/change/remove
records, at most 1000 per batch, a valid `X-Signature` (HMAC-SHA1) and `X-Signature-256` when a secret is
set, and an `Idempotency-Key`. It behaves as a receiver must for an exactly-once effect:

- a repeated `Idempotency-Key` is answered with the answer first given for it, and nothing is applied again
  (the client retried after a timeout, or re-sent after a crash);
- a record whose `id` was applied before is skipped, even inside a batch with a new key (after a crash the
  rerun may group records differently);
- the keys are remembered at least as long as the client may retry (a real receiver stores them in the same
  transaction as the effect, so a crash of the receiver cannot apply without remembering).

Records whose key is in `reject_keys` are refused as invalid, answered per `reject_mode`: "partial"
(apply the rest, 207 with `rejected: [{key, error}]`), "refuse_named" (400 with the same list, nothing
applied) or "refuse" (400 naming nothing, as receivers without per-record answers do).

`DemoDestination` adds a state file (audience -> key -> fields) and a log of received batches in a folder,
so a person can see exactly what the CDP delivered.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from reverse_etl.contract_server import ContractServer, Reply, json_body

MAX_RECORDS = 1000
OPERATIONS = ("add", "change", "remove")


class WebhookServer(ContractServer):
    def __init__(self, secret: str | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.secret = secret
        self.state: dict[str, dict[str, dict[str, Any]]] = {}
        self.reject_mode = "partial"
        self.answers: dict[str, Reply] = {}  # Idempotency-Key -> the answer given when it was applied
        self.seen_record_ids: set[str] = set()
        self.applications: Counter[str] = Counter()  # record key -> times a change to it was applied

    @property
    def url(self) -> str:
        return f"{self.address}/hook"

    def members(self, audience: str) -> dict[str, dict[str, Any]]:
        return self.state.get(audience, {})

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if method != "POST" or path != "/hook":
            return Reply(404, {"error": "not found"})
        if self.secret is not None:
            expected = hmac.new(self.secret.encode(), body, hashlib.sha1).hexdigest()
            if not hmac.compare_digest(expected, headers.get("x-signature", "")):
                return Reply(401, {"error": "bad X-Signature"})
            stamp, _, signed = headers.get("x-signature-256", "").partition(",v1=")
            expected_256 = hmac.new(
                self.secret.encode(), stamp.removeprefix("t=").encode() + b"." + body, hashlib.sha256
            ).hexdigest()
            if not hmac.compare_digest(expected_256, signed):
                return Reply(401, {"error": "bad X-Signature-256"})
        key = headers.get("idempotency-key")
        if not key:
            return Reply(400, {"error": "Idempotency-Key header is required"})
        data = json_body(body)
        problem = self._invalid(data)
        if problem:
            return Reply(400, {"error": problem})
        if key in self.answers:  # a retry or a re-send: same answer, no second effect
            self.duplicate_deliveries += 1
            return self.answers[key]
        bad = {r["key"] for r in data["records"] if r["key"] in self.reject_keys}
        rejected = [{"key": k, "error": "field 'plan' is not valid"} for k in sorted(bad)]
        if bad and self.reject_mode == "refuse":
            return Reply(400, {"error": f"{len(bad)} invalid record(s) in batch"})
        if bad and self.reject_mode == "refuse_named":
            return Reply(400, {"error": "invalid records in batch", "rejected": rejected})
        members = self.state.setdefault(data["audience"], {})
        fresh = [
            r for r in data["records"] if r["key"] not in bad and r.get("id") not in self.seen_record_ids
        ]
        for record in fresh:
            if record.get("id"):
                self.seen_record_ids.add(record["id"])
            self.applications[record["key"]] += 1
            if data["operation"] == "remove":
                members.pop(record["key"], None)
            else:
                members[record["key"]] = record["fields"]
        if fresh:
            self.on_batch({**data, "records": fresh})
            self.applied(len(fresh))
        elif not bad:
            self.duplicate_deliveries += 1  # every record was applied before, under other batch keys
        reply = Reply(207, {"ok": True, "rejected": rejected}) if bad else Reply(200, {"ok": True})
        self.answers[key] = reply
        return reply

    def on_batch(self, data: dict[str, Any]) -> None:
        """Hook for subclasses (the demo persists its state)."""

    @staticmethod
    def _invalid(data: Any) -> str | None:
        if not isinstance(data, dict):
            return "body must be a JSON object"
        if not isinstance(data.get("audience"), str) or data.get("operation") not in OPERATIONS:
            return "audience (string) and operation (add|change|remove) are required"
        records = data.get("records")
        if not isinstance(records, list) or not records:
            return "records must be a non-empty list"
        if len(records) > MAX_RECORDS:
            return f"at most {MAX_RECORDS} records per batch"
        for record in records:
            if not isinstance(record, dict) or not isinstance(record.get("key"), str):
                return "every record needs a string key"
            if not isinstance(record.get("id", ""), str):
                return "a record's id (its idempotency key) must be a string"
            if record.get("type") != data["operation"] or not isinstance(record.get("fields"), dict):
                return "every record needs type (matching the batch) and fields (object)"
        return None


class DemoDestination(WebhookServer):
    """The `cdp demo` destination: keeps its state, the keys it applied and a log of batches in `folder`.

    State is written before the keys (each file replaced atomically): a crash between the two can only
    make a repeat apply again (a harmless upsert), never remember a batch whose effect was lost.
    """

    def __init__(
        self, folder: Path, host: str = "127.0.0.1", port: int = 0, secret: str | None = None
    ) -> None:
        super().__init__(secret=secret, host=host, port=port)
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.state_file = folder / "state.json"
        self.log_file = folder / "received.jsonl"
        self.keys_file = folder / "idempotency_keys.json"
        if self.state_file.exists():
            self.state = json.loads(self.state_file.read_text())
        if self.keys_file.exists():
            keys = json.loads(self.keys_file.read_text())
            self.answers = {k: Reply(status, body) for k, (status, body) in keys["answers"].items()}
            self.seen_record_ids = set(keys["records"])

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        known = len(self.answers)
        reply = super().handle(method, path, headers, body)
        if len(self.answers) != known:
            _write_atomically(
                self.keys_file,
                {
                    "answers": {k: [r.status, r.body] for k, r in self.answers.items()},
                    "records": sorted(self.seen_record_ids),
                },
            )
        return reply

    @property
    def batches_received(self) -> int:
        return self.applied_batches

    @property
    def records_received(self) -> int:
        return self.records_applied

    def on_batch(self, data: dict[str, Any]) -> None:
        with self.log_file.open("a") as log:
            log.write(
                json.dumps(
                    {
                        "audience": data["audience"],
                        "operation": data["operation"],
                        "records": len(data["records"]),
                    }
                )
                + "\n"
            )
        _write_atomically(self.state_file, self.state)


def _write_atomically(path: Path, value: Any) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(value))
    os.replace(temporary, path)
