"""Braze `POST /users/track`: Bearer key, <= 75 attribute objects, external_id required, minor errors
reported by index in `errors[]` while the rest is processed (201)."""

from __future__ import annotations

from reverse_etl.contract_server import ContractServer, Reply, bearer_token, json_body


class BrazeServer(ContractServer):
    def __init__(self, api_key: str) -> None:
        super().__init__()
        self.api_key = api_key
        self.users: dict[str, dict] = {}

    def handle(self, method, path, headers, body):
        if method != "POST" or path != "/users/track":
            return Reply(404, {"message": "not found"})
        if bearer_token(headers) != self.api_key:
            return Reply(401, {"message": "Invalid API key"})
        attributes = (json_body(body) or {}).get("attributes")
        if not isinstance(attributes, list) or not attributes:
            return Reply(400, {"message": "Valid data must be provided in the 'attributes' field."})
        if len(attributes) > 75:
            return Reply(400, {"message": "Too many attribute objects (max 75)"})
        errors, processed, changed = [], 0, False
        for index, item in enumerate(attributes):
            external_id = item.get("external_id")
            if not external_id:
                errors.append(
                    {"type": "'external_id' is required", "input_array": "attributes", "index": index}
                )
                continue
            if item.get("profile_id") in self.reject_keys:
                errors.append({"type": "'plan' is not valid", "input_array": "attributes", "index": index})
                continue
            fields = {k: v for k, v in item.items() if k != "external_id"}
            user = self.users.setdefault(external_id, {})
            changed |= any(user.get(k) != v for k, v in fields.items())
            user.update(fields)
            processed += 1
        if processed and not changed:
            self.duplicate_deliveries += 1
        elif processed:
            self.applied(processed)
        if not processed:
            return Reply(400, {"message": "Valid data must be provided", "errors": errors})
        reply = {"message": "success", "attributes_processed": processed}
        if errors:
            reply["errors"] = errors
        return Reply(201, reply)
