"""Meta Custom Audiences users endpoint: POST/DELETE /vXX.X/{audience_id}/users, Bearer token,
schema EMAIL_SHA256 (or multi-key), lower-case SHA-256 hex, <= 10,000 rows; errors as 400 + code."""

from __future__ import annotations

import re

from reverse_etl.contract_server import ContractServer, Reply, bearer_token, json_body

HEX64 = re.compile(r"^[0-9a-f]{64}$")


class MetaServer(ContractServer):
    def __init__(self, token: str, audience_id: str) -> None:
        super().__init__()
        self.token = token
        self.audience_id = audience_id
        self.members: set[str] = set()  # email hashes
        self.reject_hashes: set[str] = set()

    def handle(self, method, path, headers, body):
        if method not in ("POST", "DELETE") or not re.fullmatch(
            rf"/v\d+\.\d+/{self.audience_id}/users", path
        ):
            return Reply(404, {"error": {"code": 803, "message": "unknown object"}})
        if bearer_token(headers) != self.token:
            return Reply(
                400, {"error": {"code": 190, "type": "OAuthException", "message": "Invalid OAuth token"}}
            )
        payload = (json_body(body) or {}).get("payload") or {}
        if payload.get("schema") != "EMAIL_SHA256" or not isinstance(payload.get("data"), list):
            return Reply(400, {"error": {"code": 100, "message": "Invalid parameter: schema"}})
        data = payload["data"]
        if not 0 < len(data) <= 10_000 or not all(isinstance(h, str) and HEX64.match(h) for h in data):
            return Reply(400, {"error": {"code": 100, "message": "Invalid parameter: data"}})
        if self.reject_hashes.intersection(data):
            return Reply(
                400, {"error": {"code": 100, "message": "Invalid parameter: data contains a bad entry"}}
            )
        before = set(self.members)
        if method == "POST":
            self.members.update(data)
        else:
            self.members.difference_update(data)
        if self.members == before:
            self.duplicate_deliveries += 1
        else:
            self.applied(len(data))
        return Reply(
            200, {"audience_id": self.audience_id, "num_received": len(data), "num_invalid_entries": 0}
        )
