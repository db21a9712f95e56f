"""HubSpot `POST /crm/v3/objects/contacts/batch/upsert`: Bearer token, <= 100 inputs, idProperty email,
string property values, 207 with `errors[]` naming objectWriteTraceIds for per-record failures."""

from __future__ import annotations

import re

from reverse_etl.contract_server import ContractServer, Reply, bearer_token, json_body

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class HubSpotServer(ContractServer):
    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.contacts: dict[str, dict[str, str]] = {}

    def handle(self, method, path, headers, body):
        if method != "POST" or path != "/crm/v3/objects/contacts/batch/upsert":
            return Reply(404, {"status": "error", "message": "not found"})
        if bearer_token(headers) != self.token:
            return Reply(401, {"status": "error", "category": "INVALID_AUTHENTICATION"})
        data = json_body(body)
        inputs = data.get("inputs") if isinstance(data, dict) else None
        if not isinstance(inputs, list) or not 0 < len(inputs) <= 100:
            return Reply(400, {"status": "error", "category": "VALIDATION_ERROR", "message": "1-100 inputs"})
        ids = [i.get("id") for i in inputs]
        if len(set(ids)) != len(ids):
            return Reply(400, {"status": "error", "category": "VALIDATION_ERROR", "message": "Duplicate IDs"})
        errors, results, changed = [], [], False
        for item in inputs:
            props = item.get("properties")
            if item.get("idProperty") != "email" or not EMAIL.match(str(item.get("id"))):
                return Reply(400, {"status": "error", "category": "VALIDATION_ERROR", "message": "bad input"})
            if not isinstance(props, dict) or not all(isinstance(v, str) for v in props.values()):
                return Reply(
                    400, {"status": "error", "category": "VALIDATION_ERROR", "message": "bad properties"}
                )
            if props.get("profile_id") in self.reject_keys:
                errors.append(
                    {
                        "status": "error",
                        "category": "VALIDATION_ERROR",
                        "message": "Property values were not valid",
                        "context": {"objectWriteTraceId": [item.get("objectWriteTraceId")]},
                    }
                )
                continue
            contact = self.contacts.setdefault(item["id"], {})
            changed |= any(contact.get(k) != v for k, v in props.items())
            contact.update(props)
            results.append({"id": str(len(self.contacts)), "properties": props})
        if results and not changed:
            self.duplicate_deliveries += 1
        elif results:
            self.applied(len(results))
        if errors:
            return Reply(
                207, {"status": "COMPLETE", "results": results, "numErrors": len(errors), "errors": errors}
            )
        return Reply(200, {"status": "COMPLETE", "results": results})
