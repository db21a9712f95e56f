"""The local demo destination: a webhook receiver on 127.0.0.1 that keeps every batch it is sent.

It applies batches to a JSON state file (key -> record) and appends them to a log, so a person (or a test)
can see exactly what the CDP delivered. Repeated batches (same Idempotency-Key) are acknowledged, not re-applied.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class DemoDestination:
    def __init__(
        self, folder: Path, host: str = "127.0.0.1", port: int = 0, key_field: str = "profile_id"
    ) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.state_file = folder / "state.json"
        self.log_file = folder / "received.jsonl"
        self.key_field = key_field
        self.state: dict[str, dict[str, dict]] = (
            json.loads(self.state_file.read_text()) if self.state_file.exists() else {}
        )
        self.batches_received = 0
        self.records_received = 0
        self._seen_batches: set[str] = set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hook"

    def _apply(self, body: dict, idempotency_key: str | None) -> None:
        with self._lock:
            if idempotency_key and idempotency_key in self._seen_batches:
                return
            if idempotency_key:
                self._seen_batches.add(idempotency_key)
            members = self.state.setdefault(body["audience"], {})
            for record in body["records"]:
                key = str(record[self.key_field])
                if body["operation"] == "remove":
                    members.pop(key, None)
                else:
                    members[key] = record
            self.batches_received += 1
            self.records_received += len(body["records"])
            with self.log_file.open("a") as log:
                log.write(
                    json.dumps({"operation": body["operation"], "records": len(body["records"])}) + "\n"
                )
            self.state_file.write_text(json.dumps(self.state))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        destination = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                length = int(self.headers.get("Content-Length", 0))
                try:
                    body = json.loads(self.rfile.read(length))
                    destination._apply(body, self.headers.get("Idempotency-Key"))
                except (ValueError, KeyError, TypeError) as error:
                    self.send_response(400)
                    self.end_headers()
                    self.wfile.write(json.dumps({"error": str(error)}).encode())
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok":true}')

            def log_message(self, format: str, *args: object) -> None:  # records carry PII: no access log
                pass

        return Handler

    def __enter__(self) -> DemoDestination:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
