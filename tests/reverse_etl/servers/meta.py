"""Meta Custom Audiences users endpoint: POST/DELETE /vXX.X/{audience_id}/users, Bearer token,
schema EMAIL_SHA256, lower-case SHA-256 hex, <= 10,000 rows; request errors as 400 + code.

Entries it cannot use (not a SHA-256 hex, or in `reject_hashes`) do not fail the request: it applies the
rest and answers 200 with `num_invalid_entries` and `invalid_entry_samples` (entry -> reason), a *sample*
of at most `sample_limit` of them, as the Graph API's users edge returns.
"""

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
        self.sample_limit = 10

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
        if not 0 < len(data) <= 10_000 or not all(isinstance(h, str) for h in data):
            return Reply(
                400, {"error": {"code": 100, "message": "Invalid parameter: data (1-10000 entries)"}}
            )
        invalid = {
            h: "entry not accepted" if HEX64.match(h) else "invalid hashed value"
            for h in data
            if not HEX64.match(h) or h in self.reject_hashes
        }
        valid = [h for h in data if h not in invalid]
        before = set(self.members)
        if method == "POST":
            self.members.update(valid)
        else:
            self.members.difference_update(valid)
        if self.members == before:
            self.duplicate_deliveries += 1
        else:
            self.applied(len(valid))
        samples = dict(list(invalid.items())[: self.sample_limit])
        return Reply(
            200,
            {
                "audience_id": self.audience_id,
                "session_id": "1",
                "num_received": len(data),
                "num_invalid_entries": len(invalid),
                "invalid_entry_samples": samples,
            },
        )
