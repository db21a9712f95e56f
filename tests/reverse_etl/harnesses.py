"""Each HTTP destination with its contract server, and how to compare what it holds with the audience.

Fault tests run the same scenarios over every harness here.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import duckdb
from conftest import AUDIENCE, expected_members

from reverse_etl.contract_server import ContractServer
from reverse_etl.demo_server import WebhookServer


@dataclass(frozen=True)
class Harness:
    name: str
    server: Callable[[], AbstractContextManager[ContractServer]]
    settings: Callable[[ContractServer], dict[str, Any]]
    held: Callable[[ContractServer], Any]  # what the destination holds, comparable with `expected`
    expected: Callable[[duckdb.DuckDBPyConnection], Any]
    batch_size: int  # records per request used in the fault scenarios


WEBHOOK = Harness(
    name="webhook",
    server=lambda: WebhookServer(secret="hook-secret"),
    settings=lambda s: {"type": "webhook", "url": s.url, "secret": "hook-secret"},
    held=lambda s: s.members(AUDIENCE),
    expected=expected_members,
    batch_size=10,
)

HARNESSES = [WEBHOOK]
