"""The narrow interface every destination implements; the engine owns batching, retries, rate limits and state.

A destination turns a `Batch` of records into one request (or one transaction) and reports, per record, what
the other side acknowledged. It signals failures with the exceptions below so the engine can decide: retry
later (`RetryableError`), find the bad records of a refused batch (`BatchRejected`), or stop (`FatalError`).
Where the destination names the records it refused (per-record errors), one request settles the whole batch;
where it does not, the engine re-sends parts of the batch to isolate them (`reverse_etl.delivery`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

Operation = Literal["add", "change", "remove"]


@dataclass(frozen=True)
class Record:
    key: str
    payload: dict[str, Any]  # the mapped row (for removes: the last delivered row)
    payload_hash: str
    entered_at: str | None = None  # marks one stay in the audience; part of per-record idempotency keys
    resync: str | None = None  # the full resync that re-sends this record, if any
    seq: int = 0  # position in the run's change set (lets the engine address rows by range)
    previous: dict[str, Any] | None = None  # changes only: the payload the destination holds now
    acked_at: str | None = None  # when the destination acknowledged the version this change replaces

    def moved(self, field: str) -> Any:
        """The old value of `field` when a change moved it (e.g. a new email), else None."""
        if self.previous is None:
            return None
        old = self.previous.get(field)
        return old if old is not None and old != self.payload.get(field) else None

    def idempotency_key(self, audience: str, destination: str, operation: str) -> str:
        """Stable across retries and reruns of the same change; differs for a new stay, payload or resync.

        `acked_at` (the acknowledgement of the version being replaced) tells apart two identical changes
        made at different times (plan free -> pro -> free -> pro), which a destination that remembers keys
        would otherwise drop as a repeat.
        """
        text = f"{audience}|{destination}|{operation}|{self.key}|{self.payload_hash}|{self.entered_at}"
        if self.resync:
            text += f"|{self.resync}"
        if self.acked_at:
            text += f"|{self.acked_at}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Batch:
    audience: str
    destination: str
    operation: Operation
    records: list[Record]
    batch_id: str  # derived from the content: a retried batch carries the same id


@dataclass
class BatchResult:
    """What the destination acknowledged. Keys not mentioned anywhere are treated as not delivered.

    `suspects`/`unnamed`: the destination processed these records but reported `unnamed` failures among
    them without saying which (Meta's `num_invalid_entries` beyond its `invalid_entry_samples`); the sender
    re-sends them in parts to find out. Only destinations where a repeat is harmless report suspects.
    """

    accepted: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)  # permanent, with the destination's reason
    deferred: dict[str, str] = field(default_factory=dict)  # transient per-record failures: retry next run
    suspects: list[str] = field(default_factory=list)
    unnamed: int = 0
    unnamed_reason: str = ""

    @classmethod
    def all_accepted(cls, batch: Batch) -> BatchResult:
        return cls(accepted=[r.key for r in batch.records])


class DeliveryError(Exception):
    """Base of the errors a destination raises; messages must not carry PII or secrets."""


class RetryableError(DeliveryError):
    """Throttled, server error, timeout or connection problem: the same batch may succeed later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BatchRejected(DeliveryError):
    """The destination refused the whole batch as invalid (4xx) and applied none of it.

    `rejected` names the records it gave as the cause, when it did (key -> reason); the rest of the batch
    is then re-sent at once. When it names none, the sender isolates the bad records by re-sending parts.
    """

    def __init__(self, message: str, rejected: dict[str, str] | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.rejected = rejected or {}
        self.body = body  # the parsed error answer, for destinations that name refused records in it


class FatalError(DeliveryError):
    """Nothing will succeed until a person acts (bad credentials, missing permission, missing object)."""


class DeliverySettings(BaseModel):
    """Settings every destination accepts in destinations.yml, besides its own."""

    model_config = ConfigDict(extra="forbid")
    type: str
    batch_size: int | None = Field(default=None, gt=0, description="at most the destination's limit")
    rate_limit_per_second: float | None = Field(default=None, gt=0, description="requests per second")
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=6, ge=1, description="tries per batch before leaving it for next run")
    initial_backoff_seconds: float = Field(default=0.5, ge=0)
    max_backoff_seconds: float = Field(default=30.0, ge=0)
    max_retry_after_seconds: float = Field(default=300.0, ge=0)
    max_in_flight: int | None = Field(
        default=None, ge=1, le=16, description="batches sent concurrently (default: the destination's)"
    )
    allow_link_local: bool = False  # cloud metadata endpoints live there; refuse unless explicitly allowed


class Destination:
    """One destination type. Subclasses set `type_name`, `Settings` and their documented limits."""

    type_name: ClassVar[str]
    Settings: ClassVar[type[DeliverySettings]] = DeliverySettings
    max_batch_size: ClassVar[int] = 1000  # records per request, from the destination's documentation
    max_batch_bytes: ClassVar[int | None] = None  # request body limit, when documented
    max_record_bytes: ClassVar[int | None] = None  # one record's limit, when documented
    default_rate_limit_per_second: ClassVar[float | None] = None
    bulk: ClassVar[bool] = False  # True: the destination takes the whole change set at once (files)
    default_max_in_flight: ClassVar[int] = 1  # concurrent batches; >1 needs a thread-safe client

    def __init__(self, name: str, settings: DeliverySettings) -> None:
        self.name = name
        self.settings = settings

    @property
    def batch_size(self) -> int:
        return min(self.settings.batch_size or self.max_batch_size, self.max_batch_size)

    @property
    def max_in_flight(self) -> int:
        return self.settings.max_in_flight or self.default_max_in_flight

    @property
    def rate_limit_per_second(self) -> float | None:
        return self.settings.rate_limit_per_second or self.default_rate_limit_per_second

    def validate_record(self, record: Record, operation: Operation) -> str | None:
        """Why this record can never be delivered (e.g. no email for an email-keyed API), or None."""
        return None

    def record_size(self, record: Record, operation: Operation) -> int:
        """Bytes this record adds to a request, for byte-limited destinations."""
        return 0

    def preview(self, batch: Batch) -> Any:
        """What would be sent for this batch (for --dry-run), without sending it."""
        return [r.payload for r in batch.records]

    def upsert(self, batch: Batch) -> BatchResult:
        """Deliver adds and changes."""
        raise NotImplementedError

    def remove(self, batch: Batch) -> BatchResult:
        """Deliver removals (for audiences: exits)."""
        raise NotImplementedError

    def export(
        self, con: Any, changes_table: str, *, sync: Any, operations: tuple[str, ...], run_id: str
    ) -> None:
        """Bulk destinations only: write the whole change set (and whatever else they keep) in one go."""
        raise NotImplementedError

    def close(self) -> None:  # noqa: B027 - optional hook
        pass
