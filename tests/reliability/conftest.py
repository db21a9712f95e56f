"""Helpers for the kill -9 suite: real `cdp` subprocesses on a private CDP_HOME, killed at chosen points.

After every kill the next run must recover: events in = `raw_events` + `rejected_events`, every
acknowledged event loaded, and a destination equal to its audience with no change applied twice.
"""

from __future__ import annotations

import gzip
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

CDP = Path(sys.executable).parent / "cdp"


def cdp(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start `cdp ARGS...` on CDP_HOME=`home`, with `env` added (output kept for assertion messages)."""
    env = {**os.environ, **(env or {}), "CDP_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    # Let the first run cache compiled modules: each later start then saves seconds of compiling.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return subprocess.Popen(
        [str(CDP), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def finish(process: subprocess.Popen, timeout: float = 120) -> str:
    """Wait for a run that must succeed; its output."""
    output, _ = process.communicate(timeout=timeout)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-3000:]
    return text


def kill_when(process: subprocess.Popen, condition: Callable[[], bool], timeout: float = 90) -> None:
    """kill -9 `process` as soon as `condition()` holds; it must still be running then."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise AssertionError(f"the process ended before the kill point: {output[-2000:]}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("the kill point was never reached")
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def records_in(path: Path) -> int:
    """Event records in one JSON-lines file (gzipped or not): its non-blank lines."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())


def warehouse_counts(home: Path) -> tuple[int, int]:
    """(raw_events, rejected_events) rows; (0, 0) before the first load created them."""
    path = home / "warehouse.duckdb"
    if not path.exists():
        return 0, 0
    with duckdb.connect(str(path), read_only=True) as con:
        tables = {
            name for (name,) in con.execute("select table_name from information_schema.tables").fetchall()
        }
        if "raw_events" not in tables:
            return 0, 0
        return con.execute(
            "select (select count(*) from raw_events), (select count(*) from rejected_events)"
        ).fetchone()
