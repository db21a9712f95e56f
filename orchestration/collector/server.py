"""The collector's HTTP server (stdlib `ThreadingHTTPServer`, HTTP/1.1 keep-alive).

One thread per connection, so nothing may hold a connection for ever: a keep-alive connection with no
request for `idle_timeout` seconds is closed, a request must arrive whole within `read_timeout` seconds
of its first byte (a client trickling bytes gets a 408), and past `max_connections` open connections a
new one is answered 503 at once (`Retry-After`, which the Segment SDKs honour) instead of waiting.
Bodies come with a Content-Length or chunked (`Transfer-Encoding: chunked`, as curl and the SDKs may
send them).
"""

from __future__ import annotations

import contextlib
import io
import logging
import queue
import re
import selectors
import socket
import threading
import time
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
_CHUNK_SIZE = re.compile(rb"^[0-9A-Fa-f]{1,8}$")
_MAX_TRAILER_LINES = 64
_BUSY_BODY = orjson.dumps({"success": False, "message": "the collector is at its connection limit; retry"})
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
    b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(_BUSY_BODY), _BUSY_BODY)
)

DEFAULT_IDLE_TIMEOUT = 60.0
DEFAULT_READ_TIMEOUT = 30.0
DEFAULT_MAX_CONNECTIONS = 256


class _RequestTimeout(TimeoutError):
    """A request that did not arrive whole within the read timeout."""


class _DeadlineReader(io.RawIOBase):
    """A connection's reads: `idle` seconds to wait for a request, then `budget` seconds for all of it."""

    def __init__(self, sock: socket.socket, idle: float, budget: float) -> None:
        self._sock = sock
        self._idle = idle
        self._budget = budget
        self.deadline: float | None = None  # set by the first byte of a request

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.deadline is None:
            self._sock.settimeout(self._idle)
        else:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise _RequestTimeout("the request did not arrive in time")
            self._sock.settimeout(left)
        try:
            received = self._sock.recv_into(buffer)
        except TimeoutError as error:
            if self.deadline is None:
                raise  # idle: the connection is simply closed
            raise _RequestTimeout("the request did not arrive in time") from error
        if received and self.deadline is None:
            self.deadline = time.monotonic() + self._budget
        return received


class _BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body in one write, sent at once: otherwise Nagle's algorithm holds the body back until
    # the client's delayed ACK (40 ms), capping one keep-alive sender at ~22 requests/s.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    server: _CollectorHTTPServer

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # replaced by a reader that keeps the timeouts
        self._reader = _DeadlineReader(self.connection, self.server.idle_timeout, self.server.read_timeout)
        self.rfile = io.BufferedReader(self._reader, 1 << 16)

    def handle_one_request(self) -> None:
        self._reader.deadline = None  # the idle wait for the next request starts now
        try:
            super().handle_one_request()  # a timeout while idle or reading headers closes the connection
        except _RequestTimeout:
            self.close_connection = True

    def _reply(self, status: int, body: bytes) -> None:
        self.connection.settimeout(self.server.read_timeout)  # a client that never reads cannot hold us
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

    def _read_chunked(self) -> bytes:
        """A `Transfer-Encoding: chunked` body (RFC 9112 section 7.1), at most `_MAX_WIRE_BYTES`."""
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            size_field = line.split(b";", 1)[0].strip()  # chunk extensions are ignored
            if not line.endswith(b"\n") or not _CHUNK_SIZE.match(size_field):
                raise _BodyError(400, "malformed chunked body (bad chunk size line)")
            size = int(size_field, 16)
            if size == 0:
                break
            total += size
            if total > _MAX_WIRE_BYTES:
                raise _BodyError(400, f"the body is over the {_MAX_WIRE_BYTES // 1024} KB limit")
            chunk = self.rfile.read(size)
            if len(chunk) < size or self.rfile.readline(3).rstrip(b"\r\n") != b"":
                raise _BodyError(400, "malformed chunked body (a chunk is cut short)")
            chunks.append(chunk)
        for _ in range(_MAX_TRAILER_LINES):  # trailer fields, up to the empty line, are ignored
            line = self.rfile.readline(8192)
            if line in (b"\r\n", b"\n"):
                return b"".join(chunks)
            if not line.endswith(b"\n"):
                break
        raise _BodyError(400, "malformed chunked body (trailer)")

    def _read_body(self) -> bytes:
        encoding = self.headers.get("Transfer-Encoding")
        if encoding is not None:
            if self.headers.get("Content-Length") is not None:
                # Both framings at once is how request smuggling starts (RFC 9112 section 6.3).
                raise _BodyError(400, "send either Content-Length or Transfer-Encoding, not both")
            if [c.strip().lower() for c in encoding.split(",")] != ["chunked"]:
                raise _BodyError(
                    501, "only the chunked transfer coding is supported (gzip goes in Content-Encoding)"
                )
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > _MAX_WIRE_BYTES:
            raise _BodyError(
                400 if length >= 0 else 411, "the body is too large or has no valid Content-Length"
            )
        body = self.rfile.read(length)
        if len(body) < length:
            raise _BodyError(400, "the body is shorter than its Content-Length")
        return body

    def do_POST(self) -> None:  # noqa: N802
        try:
            body = self._read_body()
        except _RequestTimeout:
            self.close_connection = True
            self._error(408, f"the request did not arrive within {self.server.read_timeout:g} s")
            return
        except _BodyError as error:
            self.close_connection = True  # where the next request starts is unknown
            self._error(error.status, error.message)
            return
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


class _Refuser:
    """Answers connections over the cap with a 503, off the accept loop and without a thread each.

    Closing a socket whose request is still unread sends a reset, which can destroy the 503 before the
    client reads it; so each refused socket is half-closed and drained for up to `linger` seconds first.
    """

    def __init__(self, linger: float = 2.0, max_pending: int = 1024) -> None:
        self._incoming: queue.SimpleQueue[socket.socket] = queue.SimpleQueue()
        self._linger = linger
        self._max_pending = max_pending
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="collector-refuser", daemon=True)
        self._thread.start()

    def refuse(self, sock: socket.socket) -> None:
        self._incoming.put(sock)

    def _take(self, selector: selectors.BaseSelector, expiry: dict[socket.socket, float]) -> None:
        while True:
            try:
                sock = self._incoming.get_nowait()
            except queue.Empty:
                return
            try:
                sock.setblocking(False)
                sock.send(_BUSY)  # small enough for an empty send buffer
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                sock.close()
                continue
            if len(expiry) >= self._max_pending:
                sock.close()
                continue
            selector.register(sock, selectors.EVENT_READ)
            expiry[sock] = time.monotonic() + self._linger

    def _run(self) -> None:
        expiry: dict[socket.socket, float] = {}
        with selectors.DefaultSelector() as selector:
            while not self._stop.is_set():
                self._take(selector, expiry)
                for key, _ in selector.select(timeout=0.02):
                    sock = key.fileobj
                    try:
                        done = not sock.recv(65536)  # type: ignore[union-attr]
                    except BlockingIOError:
                        done = False
                    except OSError:
                        done = True
                    if done:
                        expiry[sock] = 0  # type: ignore[index]
                now = time.monotonic()
                for sock in [s for s, at in expiry.items() if at <= now]:
                    selector.unregister(sock)
                    sock.close()
                    del expiry[sock]
            for sock in expiry:
                sock.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class _CollectorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    suppression: SuppressionList

    def __init__(
        self,
        address: tuple[str, int],
        write_keys: Mapping[str, str],
        spool: LandingSpool,
        *,
        idle_timeout: float,
        read_timeout: float,
        max_connections: int,
    ) -> None:
        self.write_keys = write_keys
        self.spool = spool
        self.idle_timeout = idle_timeout
        self.read_timeout = read_timeout
        self.max_connections = max_connections
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._refuser = _Refuser()
        self._refused = 0
        self._next_refusal_log = 0.0
        super().__init__(address, _Handler)

    @property
    def open_connections(self) -> int:
        return len(self._connections)

    def process_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        with self._connections_lock:
            admitted = len(self._connections) < self.max_connections
            if admitted:
                self._connections.add(request)
        if not admitted:
            self._refused += 1
            if time.monotonic() >= self._next_refusal_log:  # a flood must not flood the log too
                log.warning(
                    "connection limit (%d) reached: %d connections answered 503 so far",
                    self.max_connections,
                    self._refused,
                )
                self._next_refusal_log = time.monotonic() + 10
            self._refuser.refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._release(request)
            raise

    def process_request_thread(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release(request)

    def _release(self, request: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(request)

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that vanished mid-request is routine; the traceback is for debugging only.
        log.debug("connection from %s ended with an error", client_address, exc_info=True)

    def server_close(self) -> None:
        # Wake every connection thread waiting for a request, so that shutdown does not wait for
        # idle keep-alive clients; a request being handled still gets its answer.
        with self._connections_lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RD)
        self._refuser.close()
        super().server_close()


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
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        self.spool = LandingSpool(landing, max_bytes=max_file_bytes, max_age=max_file_seconds)
        self.httpd = _CollectorHTTPServer(
            (host, port),
            dict(write_keys),
            self.spool,
            idle_timeout=idle_timeout,
            read_timeout=read_timeout,
            max_connections=max_connections,
        )
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
