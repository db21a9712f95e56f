"""Fixtures for ingestion tests: a fresh DuckDB warehouse file and helpers to write event files."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

DAY = dt.date(2026, 11, 2)


def event(message_id: str, /, **fields: object) -> dict[str, object]:
    """A valid track event; keyword arguments override or add fields."""
    base: dict[str, object] = {
        "messageId": message_id,
        "type": "track",
        "event": "Product Viewed",
        "userId": f"user-{message_id}",
        "timestamp": "2026-11-02T10:00:00.000Z",
        "properties": {"sku": "A-1", "price": 9.5},
        "context": {"library": {"name": "analytics-python", "version": "2.4.0"}},
    }
    base.update(fields)
    return base


def line(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def write_lines(path: Path, lines: list[bytes], compress: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"".join(item + b"\n" for item in lines)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    """The day folder of source `web` in a landing zone."""
    folder = tmp_path / "landing" / DAY.isoformat() / "web"
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield con
    con.close()
