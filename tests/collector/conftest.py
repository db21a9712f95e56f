"""Fixtures for collector tests: a real collector on 127.0.0.1 writing into a temporary landing zone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration.collector.server import Collector

WRITE_KEYS = {"wk-web-123": "web", "wk-server-456": "server"}


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    path = tmp_path / "landing"
    path.mkdir()
    return path


@pytest.fixture
def collector(landing: Path) -> Iterator[Collector]:
    with Collector(landing, WRITE_KEYS, port=0) as running:
        yield running


def landed_lines(landing: Path, include_open: bool = True) -> list[bytes]:
    """Every line in the landing zone's collector files (sealed, and open ones if asked)."""
    patterns = ["*/*/collector-*.jsonl"] + (["*/*/.collector-*.jsonl.open"] if include_open else [])
    lines: list[bytes] = []
    for pattern in patterns:
        for path in sorted(landing.glob(pattern)):
            lines.extend(path.read_bytes().splitlines())
    return lines
