"""The narrow interface every destination implements; the engine owns batching, state and retries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Record:
    key: str
    payload_json: str  # the mapped row as JSON text, built by DuckDB


@dataclass
class BatchResult:
    """What the destination acknowledged: keys it accepted and keys it rejected, with reasons."""

    accepted: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)


class Destination:
    type_name: ClassVar[str]
    max_batch_size: ClassVar[int] = 1000

    def __init__(self, name: str, config: dict[str, Any]) -> None:
        self.name = name
        self.config = config

    def upsert(self, records: list[Record], *, audience: str, batch_id: str) -> BatchResult:
        raise NotImplementedError

    def remove(self, records: list[Record], *, audience: str, batch_id: str) -> BatchResult:
        raise NotImplementedError

    def close(self) -> None:  # noqa: B027 - optional hook
        pass
