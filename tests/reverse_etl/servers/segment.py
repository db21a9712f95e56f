"""Segment HTTP API `/v1/batch`: basic auth with the write key, 500 KB per request, 32 KB per message,
identify/track schema, de-duplication by messageId.

As Segment documents, the answer is 200 for everything except payloads over the size limits and JSON
errors (400, for the whole request, naming no message). A message that breaks the schema (no userId or
anonymousId, a track without event) is accepted with 200 and silently not processed (Segment shows it
only in its debugger): kept in `dropped` here so tests can see that none was. `reject_keys` marks
messages this server counts as over 32 KB although the client's own count said otherwise: the whole
request fails with 400, and nothing says which message was the cause.
"""

from __future__ import annotations

import base64

from reverse_etl.contract_server import ContractServer, Reply, json_body

MAX_REQUEST, MAX_MESSAGE = 500 * 1024, 32 * 1024


class SegmentServer(ContractServer):
    def __init__(self, write_key: str) -> None:
        super().__init__()
        self.write_key = write_key
        self.users: dict[str, dict] = {}  # userId or anonymousId -> traits
        self.events: list[tuple[str, str]] = []  # (user, event)
        self.message_ids: set[str] = set()
        self.largest_request = 0
        self.dropped: list[str] = []  # messages accepted with 200 but not processed, and why

    def handle(self, method, path, headers, body):
        if method != "POST" or path != "/v1/batch":
            return Reply(404, {"message": "not found"})
        expected = "Basic " + base64.b64encode(f"{self.write_key}:".encode()).decode()
        if headers.get("authorization") != expected:
            return Reply(401, {"message": "invalid write key"})
        self.largest_request = max(self.largest_request, len(body))
        if len(body) > MAX_REQUEST:
            return Reply(400, {"message": "request exceeds 500KB"})
        data = json_body(body)
        messages = data.get("batch") if isinstance(data, dict) else None
        if not isinstance(messages, list) or not messages:
            return Reply(400, {"message": "batch must be a non-empty array"})
        if any(
            (m.get("context") or {}).get("profile_id") in self.reject_keys
            for m in messages
            if isinstance(m, dict)
        ):
            return Reply(400, {"message": "message exceeds 32KB"})
        if any(isinstance(m, dict) and len(repr(m).encode()) > MAX_MESSAGE for m in messages):
            return Reply(400, {"message": "message exceeds 32KB"})
        valid = []
        for message in messages:
            problem = self._invalid(message)
            if problem:
                self.dropped.append(problem)
            else:
                valid.append(message)
        fresh = [m for m in valid if m["messageId"] not in self.message_ids]
        if not fresh:
            self.duplicate_deliveries += 1
        for message in fresh:
            self.message_ids.add(message["messageId"])
            user = message.get("userId") or message["anonymousId"]
            if message["type"] == "identify":
                self.users.setdefault(user, {}).update(message["traits"])
            else:
                self.events.append((user, message["event"]))
        if fresh:
            self.applied(len(fresh))
        return Reply(200, {"success": True})

    def _invalid(self, message) -> str | None:
        if not isinstance(message, dict) or message.get("type") not in ("identify", "track"):
            return "every message needs type identify or track"
        if not message.get("messageId") or not (message.get("userId") or message.get("anonymousId")):
            return "messageId and userId or anonymousId are required"
        if message["type"] == "track" and not message.get("event"):
            return "track needs an event"
        if message["type"] == "identify" and not isinstance(message.get("traits"), dict):
            return "identify needs traits"
        return None
