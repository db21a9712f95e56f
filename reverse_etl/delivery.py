"""Getting one batch accepted: client-side rate limit, retries with backoff and jitter that honour
Retry-After, and split-and-retry to isolate the one bad record that made a destination refuse a batch."""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from reverse_etl.destinations.base import (
    Batch,
    BatchRejected,
    BatchResult,
    DeliverySettings,
    Destination,
    Operation,
    Record,
    RetryableError,
)
from reverse_etl.redaction import redact

log = logging.getLogger(__name__)


class DestinationUnavailable(Exception):
    """A batch kept failing with retryable errors until the retry budget ran out."""


class RateLimiter:
    """At most `per_second` requests per second, evenly spaced (a destination's documented quota).

    Shared by the run's concurrent senders; a Retry-After seen by one of them holds back all of them.
    """

    def __init__(self, per_second: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / per_second if per_second else 0.0
        self.clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:  # reserve a slot, then sleep outside the lock
            now = self.clock()
            slot = max(self._next, now)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)

    def hold_off(self, seconds: float) -> None:
        """The destination asked us to wait (Retry-After): no request before then."""
        with self._lock:
            self._next = max(self._next, self.clock() + seconds)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    max_retry_after: float = 300.0

    @classmethod
    def from_settings(cls, settings: DeliverySettings) -> RetryPolicy:
        return cls(
            settings.max_attempts,
            settings.initial_backoff_seconds,
            settings.max_backoff_seconds,
            settings.max_retry_after_seconds,
        )

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt `attempt + 1`: the server's Retry-After, else full-jitter backoff."""
        if retry_after is not None:
            return retry_after
        ceiling = min(self.max_backoff, self.initial_backoff * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)  # "equal jitter": never zero, never in lockstep


def make_batch(audience: str, destination: str, operation: Operation, records: list[Record]) -> Batch:
    """A batch whose id depends only on its content, so a retry (even after a crash) repeats the same id."""
    digest = hashlib.sha256(f"{audience}|{destination}|{operation}".encode())
    for record in records:
        digest.update(f"|{record.key}:{record.payload_hash}:{record.entered_at}:{record.resync}".encode())
    return Batch(audience, destination, operation, records, digest.hexdigest()[:32])


class BatchSender:
    """Sends batches to one destination with the shared mechanics; one instance per sync run."""

    def __init__(self, destination: Destination, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.destination = destination
        self.limiter = RateLimiter(destination.rate_limit_per_second)
        self.policy = RetryPolicy.from_settings(destination.settings)
        self.sleep = sleep
        self.requests = 0
        self.retries = 0
        self._count = threading.Lock()

    def deliver(self, batch: Batch) -> BatchResult:
        """Accepted/rejected/deferred keys; raises DestinationUnavailable or FatalError to stop the run."""
        try:
            return self._send_with_retries(batch)
        except BatchRejected as error:
            if len(batch.records) == 1:
                return BatchResult(rejected={batch.records[0].key: redact(str(error))})
            # One bad record can fail a whole batch: halve until the bad ones stand alone.
            middle = len(batch.records) // 2
            merged = BatchResult()
            for part in (batch.records[:middle], batch.records[middle:]):
                result = self.deliver(make_batch(batch.audience, batch.destination, batch.operation, part))
                merged.accepted += result.accepted
                merged.rejected.update(result.rejected)
                merged.deferred.update(result.deferred)
            return merged

    def _send_with_retries(self, batch: Batch) -> BatchResult:
        send = self.destination.remove if batch.operation == "remove" else self.destination.upsert
        attempt = 0
        while True:
            attempt += 1
            self.limiter.acquire()
            with self._count:
                self.requests += 1
            try:
                return send(batch)
            except RetryableError as error:
                if attempt >= self.policy.max_attempts:
                    raise DestinationUnavailable(
                        f"{redact(str(error))} (gave up after {attempt} attempts)"
                    ) from error
                if error.retry_after is not None and error.retry_after > self.policy.max_retry_after:
                    raise DestinationUnavailable(
                        f"{redact(str(error))} (Retry-After {error.retry_after:.0f}s exceeds the "
                        f"{self.policy.max_retry_after:.0f}s we wait within a run)"
                    ) from error
                delay = self.policy.delay(attempt, error.retry_after)
                if error.retry_after is not None:
                    self.limiter.hold_off(delay)
                with self._count:
                    self.retries += 1
                log.info(
                    "%s: attempt %d failed (%s); retrying in %.2fs",
                    self.destination.name,
                    attempt,
                    redact(str(error))[:200],
                    delay,
                )
                self.sleep(delay)
