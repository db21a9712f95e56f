"""A local HTTP server (127.0.0.1 only) that enforces one destination's API contract and can misbehave.

Subclasses implement `handle()` for their API: check auth, limits and schema the way the real API does,
apply accepted records to `state`, and answer in the API's own format. The base class injects faults on
request: `fail_next("429", times=3, retry_after=1)`, `"500"`, `"timeout"` (hang without applying),
`"apply_then_timeout"` (apply, then hang: the client sees a timeout but the change landed), `"reset"`
(close the connection). `reject_keys` marks records the destination will refuse as invalid.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] | None = None


@dataclass
class Fault:
    kind: str
    retry_after: float | None = None


class ContractServer:
    hang_seconds: float = 3.0  # how long "timeout" faults hold a request (clients use shorter timeouts)

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.lock = threading.RLock()
        self.state: dict[str, Any] = {}
        self.reject_keys: set[str] = set()
        self.requests = 0  # every request that reached the server, faults included
        self.applied_batches = 0
        self.records_applied = 0
        self.seen_idempotency_keys: set[str] = set()
        self.duplicate_deliveries = 0  # repeats that the idempotency key made harmless
        self.after_apply: Any = None  # test hook, called after each applied batch (inside the lock)
        self._faults: deque[Fault] = deque()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # ----- test controls
    def fail_next(self, kind: str, times: int = 1, retry_after: float | None = None) -> None:
        with self.lock:
            self._faults.extend(Fault(kind, retry_after) for _ in range(times))

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    @property
    def pending_faults(self) -> int:
        return len(self._faults)

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # ----- for subclasses
    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        raise NotImplementedError

    def first_delivery(self, idempotency_key: str | None) -> bool:
        """True the first time a key is seen; repeats are acknowledged without being applied again."""
        if not idempotency_key:
            return True
        if idempotency_key in self.seen_idempotency_keys:
            self.duplicate_deliveries += 1
            return False
        self.seen_idempotency_keys.add(idempotency_key)
        return True

    def applied(self, records: int) -> None:
        self.applied_batches += 1
        self.records_applied += records
        if self.after_apply:
            self.after_apply(self)

    # ----- plumbing
    def _dispatch(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply | None:
        with self.lock:
            self.requests += 1
            fault = self._faults.popleft() if self._faults else None
        if fault is None:
            with self.lock:
                return self.handle(method, path, headers, body)
        if fault.kind == "429":
            retry = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            return Reply(429, {"message": "rate limit exceeded"}, retry)
        if fault.kind == "500":
            return Reply(500, {"message": "internal error"})
        if fault.kind == "503":
            return Reply(503, {"message": "unavailable"}, {"Retry-After": "0"})
        if fault.kind == "timeout":
            time.sleep(self.hang_seconds)
            return Reply(504, {"message": "too late"})
        if fault.kind == "apply_then_timeout":
            with self.lock:
                self.handle(method, path, headers, body)
            time.sleep(self.hang_seconds)
            return Reply(504, {"message": "too late"})
        if fault.kind == "reset":
            return None
        raise ValueError(f"unknown fault {fault.kind}")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like real APIs
            wbufsize = 1 << 16  # one write per response (flushed by http.server after each request)
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    reply = server._dispatch(self.command, self.path, headers, body)
                except Exception as error:  # a bug in a contract server must show up as a 500, not a hang
                    reply = Reply(500, {"message": f"contract server error: {error!r}"})
                if reply is None:
                    self.close_connection = True
                    self.connection.close()
                    return
                payload = b"" if reply.body is None else orjson.dumps(reply.body)
                self.send_response(reply.status)
                for name, value in (reply.headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_PATCH = do_DELETE = do_PUT = do_GET = _serve  # noqa: N815

            def log_message(self, format: str, *args: object) -> None:  # bodies carry PII: no access log
                pass

        return Handler

    def __enter__(self) -> ContractServer:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def bearer_token(headers: dict[str, str]) -> str | None:
    value = headers.get("authorization", "")
    return value[7:] if value.lower().startswith("bearer ") else None


def json_body(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
