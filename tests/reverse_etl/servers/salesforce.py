"""Salesforce sObject Collections upsert: PATCH /services/data/vXX.X/composite/sobjects/{SObject}/{ExtId},
Bearer token, <= 200 records, attributes.type required and matching, per-record results in order."""

from __future__ import annotations

import re

from reverse_etl.contract_server import ContractServer, Reply, bearer_token, json_body

PATH = re.compile(r"^/services/data/v\d+\.\d/composite/sobjects/(\w+)/(\w+)$")


class SalesforceServer(ContractServer):
    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.records: dict[str, dict] = {}  # external id -> fields

    def handle(self, method, path, headers, body):
        match = PATH.match(path)
        if method != "PATCH" or not match:
            return Reply(
                404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
            )
        if bearer_token(headers) != self.token:
            return Reply(401, [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}])
        sobject, external_id = match.groups()
        data = json_body(body)
        records = data.get("records") if isinstance(data, dict) else None
        if not isinstance(records, list) or not 0 < len(records) <= 200:
            return Reply(400, [{"errorCode": "INVALID_BATCH_SIZE", "message": "1-200 records"}])
        for record in records:
            if (record.get("attributes") or {}).get("type") != sobject or "Id" in record:
                return Reply(400, [{"errorCode": "INVALID_TYPE", "message": "attributes.type must match"}])
        results, changed = [], False
        for record in records:
            key = record.get(external_id)
            if key is None:
                results.append(
                    {"success": False, "errors": [{"statusCode": "MISSING_ARGUMENT", "message": external_id}]}
                )
                continue
            if key in self.reject_keys:
                results.append(
                    {
                        "success": False,
                        "errors": [
                            {
                                "statusCode": "INVALID_EMAIL_ADDRESS",
                                "message": "Email: invalid",
                                "fields": ["Email"],
                            }
                        ],
                    }
                )
                continue
            fields = {k: v for k, v in record.items() if k != "attributes"}
            stored = self.records.setdefault(key, {})
            changed |= any(stored.get(k) != v for k, v in fields.items())
            created = not stored
            stored.update(fields)
            results.append(
                {"id": f"003{len(self.records):012d}", "success": True, "errors": [], "created": created}
            )
        accepted = sum(r["success"] for r in results)
        if accepted and not changed:
            self.duplicate_deliveries += 1
        elif accepted:
            self.applied(accepted)
        return Reply(200, results)
