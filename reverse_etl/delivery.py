"""Getting one batch accepted: client-side rate limit, retries with backoff and jitter that honour
Retry-After, and isolation of the bad records that made a destination refuse (part of) a batch.

Isolation costs requests, so it uses what the destination says first: records it names as refused
(per-record errors: HubSpot 207, Salesforce `allOrNone: false`, Braze `errors[].index`, Meta
`invalid_entry_samples`, webhook receivers' `rejected`) settle with the one request. Only when it names
none does the sender re-send parts, and then it sizes them by Hwang's generalised binary splitting, with
the share of bad rows seen so far in the run as the estimate: about log2(n/d) + 1 requests per bad row,
against 2 log2(n) for halving. (Splitting into more parts per level costs *more* requests, not fewer,
e.g. 16-way: ~2,200 vs halving's ~1,600 for 105 bad rows in 20,000; it only shortens the chain of
round trips.)
"""

from __future__ import annotations

import hashlib
import logging
import math
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
    """A batch whose id depends only on its content, so a retry (even after a crash) repeats the same id.

    The id is the batch's idempotency key (webhook `Idempotency-Key`, the PostgreSQL ledger): the same
    records at the same versions always give the same id; a new stay, payload, resync or a change made
    after another acknowledgement gives a new one.
    """
    digest = hashlib.sha256(f"{audience}|{destination}|{operation}".encode())
    for record in records:
        digest.update(
            f"|{record.key}:{record.payload_hash}:{record.entered_at}:{record.resync}:{record.acked_at}".encode()
        )
    return Batch(audience, destination, operation, records, digest.hexdigest()[:32])


def group_size(size: int, defects: float) -> int:
    """How many records to probe first out of `size` holding about `defects` bad ones (Hwang 1972).

    The largest power of two not above (size - defects + 1) / defects: a part that likely holds no bad
    record, so it is delivered in one go, while a part that fails is halved down to its bad record.
    """
    defects = max(defects, 1.0)
    if size <= 2 * defects - 2:
        return 1
    return 2 ** max(0, math.floor(math.log2((size - defects + 1) / defects)))


@dataclass
class _Probe:
    """What one request left open: records to send again, and where unnamed failures hide."""

    retry: list[Record]  # refused along with named records: status unknown, send again
    suspects: list[Record]  # at least `defects` unnamed bad records among these
    defects: int = 0
    reason: str = ""
    named: int = 0  # failures the destination did name in the same answer


class BatchSender:
    """Sends batches to one destination with the shared mechanics; one instance per sync run."""

    def __init__(self, destination: Destination, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.destination = destination
        self.limiter = RateLimiter(destination.rate_limit_per_second)
        self.policy = RetryPolicy.from_settings(destination.settings)
        self.sleep = sleep
        self.requests = 0
        self.retries = 0
        self.isolation_requests = 0  # requests spent finding bad records the destination did not name
        self._count = threading.Lock()
        self._rows_settled = 0
        self._rows_isolated = 0  # bad rows found by re-sending parts (named ones cost nothing extra)

    def _density(self) -> float:
        """Share of unnamed bad rows so far in this run, starting from one per full batch."""
        with self._count:
            return (self._rows_isolated + 1) / (self._rows_settled + self.destination.batch_size)

    def deliver(self, batch: Batch) -> BatchResult:
        """Accepted/rejected/deferred keys; raises DestinationUnavailable or FatalError to stop the run."""
        merged = BatchResult()
        unknown: list[Record] = []  # status unknown (not sent, or refused along with named records)
        parts: list[list[Record]] = [list(batch.records)]  # to send as they are
        suspects: list[tuple[list[Record], int, str]] = []  # hold >= n unnamed bad records
        while parts or unknown or suspects:
            if suspects:
                part, defects, reason = suspects.pop()
                if len(part) <= defects or len(part) == 1:
                    merged.rejected.update((r.key, reason) for r in part)
                    with self._count:
                        self._rows_isolated += len(part)
                        self._rows_settled += len(part)
                    continue
                size = min(group_size(len(part), max(defects, self._density() * len(part))), len(part) // 2)
                group, rest = part[:size], part[size:]
                probe = self._probe(batch, group, merged)
                if probe.suspects or probe.retry:
                    unknown.extend(rest)  # the failure known to be in `part` may be the one just found
                else:  # the group was clean: every failure of `part` is in the rest
                    suspects.append((rest, defects, reason))
            elif parts:
                probe = self._probe(batch, parts.pop(), merged)
            else:
                part, unknown = unknown, []
                expected = self._density() * len(part)
                size = len(part) if expected < 1 else group_size(len(part), expected)
                unknown.extend(part[size:])
                probe = self._probe(batch, part[:size], merged)
            unknown.extend(probe.retry)
            if probe.suspects and probe.named:
                # The destination names up to `named` failures per answer: parts holding fewer than that
                # each are settled by one request each.
                count = min(16, max(2, math.ceil(2 * probe.defects / probe.named)), len(probe.suspects))
                step = math.ceil(len(probe.suspects) / count)
                parts.extend(probe.suspects[i : i + step] for i in range(0, len(probe.suspects), step))
            elif probe.suspects:
                suspects.append((probe.suspects, probe.defects, probe.reason))
        return merged

    def _merge(self, merged: BatchResult, result: BatchResult) -> None:
        merged.accepted += result.accepted
        merged.rejected.update(result.rejected)
        merged.deferred.update(result.deferred)
        with self._count:
            self._rows_settled += len(result.accepted) + len(result.rejected) + len(result.deferred)

    def _probe(self, batch: Batch, records: list[Record], merged: BatchResult) -> _Probe:
        """Send `records` once (the batch itself, or a part of it) and merge what settled."""
        whole = len(records) == len(batch.records)
        sub = batch if whole else make_batch(batch.audience, batch.destination, batch.operation, records)
        if not whole:
            with self._count:
                self.isolation_requests += 1
        try:
            result = self._send_with_retries(sub)
        except BatchRejected as error:
            keys = {r.key for r in records}
            named = {k: redact(v) for k, v in error.rejected.items() if k in keys}
            if named:
                self._merge(merged, BatchResult(rejected=named))
                return _Probe(retry=[r for r in records if r.key not in named], suspects=[])
            return _Probe(retry=[], suspects=records, defects=1, reason=redact(str(error)))
        if result.unnamed <= 0 or not result.suspects:
            self._merge(merged, result)
            return _Probe(retry=[], suspects=[])
        hidden = set(result.suspects)
        settled = BatchResult(
            accepted=[k for k in result.accepted if k not in hidden],
            rejected={k: v for k, v in result.rejected.items() if k not in hidden},
            deferred={k: v for k, v in result.deferred.items() if k not in hidden},
        )
        self._merge(merged, settled)
        among = [r for r in records if r.key in hidden]
        return _Probe(
            retry=[],
            suspects=among,
            defects=result.unnamed,
            reason=result.unnamed_reason,
            named=len(settled.rejected),
        )

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
