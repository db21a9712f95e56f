"""The collector's HTTP server (stdlib `ThreadingHTTPServer`, HTTP/1.1 keep-alive)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson

from orchestration.collector.protocol import MAX_BATCH_BYTES, RequestError, accept
from orchestration.collector.spool import LandingSpool
from orchestration.privacy.suppression import SuppressionList

log = logging.getLogger("cdp.collector")
_OK = orjson.dumps({"success": True})
# Bodies larger than this are refused before being read (gzip can only make them larger once decoded).
_MAX_WIRE_BYTES = MAX_BATCH_BYTES * 2


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body in one write, sent at once: otherwise Nagle's algorithm holds the body back until
    # the client's delayed ACK (40 ms), capping one keep-alive sender at ~22 requests/s.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    server: _CollectorHTTPServer

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str) -> None:
        self._reply(status, orjson.dumps({"success": False, "message": message}))

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path.rstrip("/") in ("/health", "/healthz"):
            self._reply(200, _OK)
        else:
            self._error(404, "not found")

    def do_POST(self) -> None:  # noqa: N802
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > _MAX_WIRE_BYTES:
            self.close_connection = True
            self._error(400 if length >= 0 else 411, "the body is too large or has no valid Content-Length")
            return
        body = self.rfile.read(length)
        try:
            accepted = accept(
                self.path.split("?", 1)[0],
                body,
                content_encoding=self.headers.get("Content-Encoding"),
                authorization=self.headers.get("Authorization"),
                write_keys=self.server.write_keys,
                suppressed=self.server.suppression.matches,
            )
        except RequestError as error:
            self._error(error.status, error.message)
            return
        if accepted.count:
            try:
                self.server.spool.append(accepted.source, accepted.lines)
            except OSError:
                log.exception("could not write to the landing zone")
                self._error(503, "the collector could not store the events; retry")
                return
        self._reply(200, _OK)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        # Request lines carry no secrets, but keep the console quiet unless debugging.
        log.debug("%s - %s", self.address_string(), format % args)


class _CollectorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    suppression: SuppressionList

    def __init__(self, address: tuple[str, int], write_keys: Mapping[str, str], spool: LandingSpool) -> None:
        self.write_keys = write_keys
        self.spool = spool
        super().__init__(address, _Handler)


class Collector:
    """A running collector: `with Collector(...) as c:` serves on `c.url` until the block ends."""

    def __init__(
        self,
        landing: Path,
        write_keys: Mapping[str, str],
        host: str = "127.0.0.1",
        port: int = 0,
        max_file_bytes: int = 64 * 1024 * 1024,
        max_file_seconds: float = 60.0,
    ) -> None:
        self.spool = LandingSpool(landing, max_bytes=max_file_bytes, max_age=max_file_seconds)
        self.httpd = _CollectorHTTPServer((host, port), dict(write_keys), self.spool)
        # CDP_HOME/suppressed_identifiers.json, kept by `cdp forget --suppress` (the landing zone's parent).
        self.httpd.suppression = SuppressionList.in_home(landing.parent)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def serve_forever(self) -> None:
        self.spool.start()
        try:
            self.httpd.serve_forever()
        finally:
            self.httpd.server_close()
            self.spool.close()

    def start(self) -> Collector:
        self.spool.start()
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="collector", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)
        self.spool.close()

    def __enter__(self) -> Collector:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
