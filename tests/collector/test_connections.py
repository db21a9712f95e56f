"""Nothing holds the collector's connections for ever (issue 10, defect 9), over real sockets on 127.0.0.1.

Stalled and trickling clients are dropped after the timeouts and their threads freed; past the
connection cap new connections get a quick 503 instead of waiting; chunked bodies are decoded.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from orchestration.collector.server import Collector
from tests.collector.conftest import WRITE_KEYS, landed_lines

AUTH = ("wk-web-123", "")


def _batch(*ids: str) -> dict[str, object]:
    return {"batch": [{"type": "track", "event": "A", "userId": "u", "messageId": i} for i in ids]}


def _connect(collector: Collector) -> socket.socket:
    host, port = collector.httpd.server_address[:2]
    sock = socket.create_connection((host, port), timeout=10)
    return sock


def _wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def _read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


@pytest.fixture
def strict(landing: Path) -> Iterator[Collector]:
    """A collector with short timeouts and a small connection cap."""
    with Collector(landing, WRITE_KEYS, idle_timeout=0.5, read_timeout=0.8, max_connections=4) as running:
        yield running


def test_a_stalled_client_is_dropped_after_the_idle_timeout_and_its_thread_freed(strict: Collector) -> None:
    threads_before = threading.active_count()
    stalled = [_connect(strict) for _ in range(3)]
    assert _wait_for(lambda: strict.httpd.open_connections == 3)
    started = time.monotonic()
    for sock in stalled:
        assert _read_until_closed(sock) == b""  # closed by the server, no answer owed
        sock.close()
    assert time.monotonic() - started < 5
    assert _wait_for(lambda: strict.httpd.open_connections == 0)
    assert _wait_for(lambda: threading.active_count() <= threads_before)


def test_a_trickling_client_gets_408_once_the_read_timeout_is_spent(strict: Collector) -> None:
    sock = _connect(strict)
    sock.sendall(b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
    started = time.monotonic()
    answer = b""
    sock.settimeout(0.1)
    # One byte every 0.1 s never lets a single read wait long, but the request as a whole is late.
    while time.monotonic() - started < 5:
        try:
            sock.send(b" ")
            answer += sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            break
        if answer.endswith(b"}"):
            break
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert 0.7 < time.monotonic() - started < 3
    sock.close()
    assert _wait_for(lambda: strict.httpd.open_connections == 0)


def test_past_the_connection_cap_new_clients_get_a_quick_503_and_healthy_ones_get_through(
    strict: Collector, landing: Path
) -> None:
    strict.httpd.idle_timeout = 30  # the stalled ones stay for the whole test
    stalled = [_connect(strict) for _ in range(4)]
    assert _wait_for(lambda: strict.httpd.open_connections == 4)
    threads = threading.active_count()
    started = time.monotonic()
    refused = []
    for n in range(20):
        try:
            refused.append(
                requests.post(f"{strict.url}/v1/batch", json=_batch(f"x{n}"), auth=AUTH, timeout=5)
            )
        except requests.ConnectionError:
            refused.append(None)  # refused is allowed too; waiting is not
    assert time.monotonic() - started < 10
    answered = [r for r in refused if r is not None]
    assert answered and all(r.status_code == 503 and r.headers["Retry-After"] == "1" for r in answered)
    assert threading.active_count() <= threads + 1  # no thread per refused connection
    for sock in stalled:
        sock.close()
    assert _wait_for(lambda: strict.httpd.open_connections == 0)
    ok = requests.post(f"{strict.url}/v1/batch", json=_batch("healthy"), auth=AUTH, timeout=5)
    assert ok.status_code == 200
    assert [json.loads(raw)["messageId"] for raw in landed_lines(landing)] == ["healthy"]


def test_a_chunked_batch_is_decoded_and_its_events_land(collector: Collector, landing: Path) -> None:
    body = json.dumps(_batch("c1", "c2", "c3")).encode()
    pieces = [body[:7], body[7:40], body[40:]]
    chunked = b"".join(b"%x;note=1\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\nX-Trailer: y\r\n\r\n"
    sock = _connect(collector)
    sock.sendall(
        b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Basic d2std2ViLTEyMzo=\r\n"
        b"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n" + chunked
    )
    answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200"), answer
    # The connection stays usable: the chunked body was consumed exactly.
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    sock.close()

    # requests sends a generator body chunked, as SDKs streaming a body do.
    streamed = requests.post(
        f"{collector.url}/v1/batch",
        data=iter([json.dumps(_batch("c4")).encode()]),
        headers={"Content-Type": "application/json"},
        auth=AUTH,
    )
    assert streamed.status_code == 200, streamed.text
    ids = sorted(json.loads(raw)["messageId"] for raw in landed_lines(landing))
    assert ids == ["c1", "c2", "c3", "c4"]


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        (b"Transfer-Encoding: chunked\r\n", b"zz\r\n{}\r\n0\r\n\r\n", b"400"),
        (b"Transfer-Encoding: chunked\r\n", b"5\r\n{}\r\n0\r\n\r\n", b"400"),  # chunk shorter than said
        (b"Transfer-Encoding: chunked\r\nContent-Length: 2\r\n", b"2\r\n{}\r\n0\r\n\r\n", b"400"),
        (b"Transfer-Encoding: gzip, chunked\r\n", b"2\r\n{}\r\n0\r\n\r\n", b"501"),
    ],
    ids=["bad-size", "short-chunk", "both-framings", "other-coding"],
)
def test_a_malformed_chunked_body_is_refused_and_the_connection_closed(
    collector: Collector, landing: Path, headers: bytes, body: bytes, status: bytes
) -> None:
    sock = _connect(collector)
    sock.sendall(b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Basic d2std2ViLTEyMzo=\r\n" + headers)
    sock.sendall(b"\r\n" + body)
    answer = _read_until_closed(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 " + status), answer
    assert landed_lines(landing) == []


def test_stopping_does_not_wait_for_idle_keep_alive_clients(landing: Path) -> None:
    collector = Collector(landing, WRITE_KEYS, idle_timeout=60).start()
    with requests.Session() as session:
        assert session.post(f"{collector.url}/v1/batch", json=_batch("k1"), auth=AUTH).status_code == 200
        started = time.monotonic()
        collector.stop()  # the session's connection is still open and idle
        assert time.monotonic() - started < 3
    assert [json.loads(raw)["messageId"] for raw in landed_lines(landing, include_open=False)] == ["k1"]


def test_hundreds_of_stalled_connections_neither_pin_threads_nor_lock_out_healthy_clients(
    landing: Path,
) -> None:
    # The incident at a smaller scale: stalled connections beyond the cap, a healthy client
    # meanwhile, and every thread back once the idle timeout passes.
    threads_before = threading.active_count()
    with Collector(landing, WRITE_KEYS, idle_timeout=1.5, max_connections=100) as collector:
        stalled = [_connect(collector) for _ in range(150)]
        assert _wait_for(lambda: collector.httpd.open_connections == 100)
        assert threading.active_count() <= threads_before + 100 + 3  # server, rotator, refuser
        busy = requests.post(f"{collector.url}/v1/batch", json=_batch("during"), auth=AUTH, timeout=5)
        assert busy.status_code == 503
        assert _wait_for(lambda: collector.httpd.open_connections == 0, seconds=15)
        ok = requests.post(f"{collector.url}/v1/batch", json=_batch("after"), auth=AUTH, timeout=5)
        assert ok.status_code == 200
        for sock in stalled:
            sock.close()
    assert _wait_for(lambda: threading.active_count() <= threads_before)
