"""Runs one sync: change set in DuckDB, batches to the destination, snapshot advanced per acknowledged row.

Crash safety: the snapshot only moves after the destination acknowledged a row, in one warehouse
transaction per batch. A process killed at any point leaves, at worst, rows that were delivered but not yet
recorded; the next run sends them again with the same idempotency keys, which destinations de-duplicate
(and upserts/deletes are idempotent anyway). The run's counts in `sync_runs` advance in the same
transaction as the snapshot, so an interrupted run still says what it delivered.

Guards before anything is sent: the audience must exist (`reverse_etl.audiences`), and a mirror run that
would remove more than `max_removal_share` of what the destination holds stops (status `stopped`)
unless forced.

Text leaves this module (sync_runs, sync_failures, logs, results shown by the CLI and Dagster) only
through `redaction.redact`, which masks every secret the configuration resolved.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import deque
from collections.abc import Collection
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import duckdb
import orjson

from reverse_etl.audiences import known_audiences, unknown_audience_message
from reverse_etl.config import SyncConfig
from reverse_etl.delivery import BatchSender, DestinationUnavailable, make_batch
from reverse_etl.destinations.base import BatchResult, Destination, FatalError, Operation, Record
from reverse_etl.diff import (
    CHANGES_TABLE,
    OPERATIONS,
    AudienceDataError,
    AudienceSource,
    audience_source,
    build_change_set,
    mark_for_resync,
    read_changes,
    seq_range,
)
from reverse_etl.redaction import install_log_redaction, redact, redact_value
from reverse_etl.state import (
    add_run_counts,
    advance_snapshot,
    destination_members,
    ensure_state_tables,
    mark_interrupted_runs,
    now,
    record_failures,
)

log = logging.getLogger(__name__)
install_log_redaction()  # our loggers and the HTTP client's (it logs request URLs)

# Which operations each sync mode sends.
MODE_OPERATIONS: dict[str, tuple[Operation, ...]] = {
    "upsert": ("add", "change"),
    "mirror": ("add", "change", "remove"),
    "insert": ("add",),
    "update": ("change",),
}
READ_CHUNK = 20_000  # change rows read from DuckDB at a time
SAMPLE_SIZE = 3


class UnknownAudience(AudienceDataError):
    """The sync names an audience that does not exist (misspelled, or retired without a forced clear)."""


class SyncCrashed(RuntimeError):
    """An unexpected error, re-raised with its message redacted (the original chain may quote secrets)."""


@dataclass
class SyncResult:
    run_id: str
    audience: str
    destination: str
    mode: str
    planned: dict[str, int]
    delivered: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OPERATIONS, 0))
    failed: int = 0  # not delivered this run, retried by the next one
    rejected: int = 0  # permanently rejected (validation), with reasons in sync_failures
    errors: list[str] = field(default_factory=list)
    dry_run: bool = False
    stopped: str | None = None  # why the run stopped early, if it did
    guard: str | None = None  # why a guard refused to send (e.g. too many removals); nothing was sent
    forced: bool = False
    sample: dict[str, Any] = field(default_factory=dict)  # dry run: what the first requests would carry
    requests: int = 0
    retries: int = 0
    seconds: float = 0.0

    @property
    def status(self) -> str:
        if self.dry_run:
            return "dry_run"
        if self.guard:
            return "stopped"
        if self.stopped:
            return "failed"
        return "partial" if self.failed or self.rejected else "succeeded"

    def metadata(self) -> dict[str, Any]:
        """Plain counts, the same as in sync_runs (for Dagster metadata and the CLI)."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            **({"reason": self.guard} if self.guard else {}),
            "added": self.delivered["add"],
            "changed": self.delivered["change"],
            "removed": self.delivered["remove"],
            "failed": self.failed,
            "rejected": self.rejected,
            "planned_add": self.planned["add"],
            "planned_change": self.planned["change"],
            "planned_remove": self.planned["remove"],
            "requests": self.requests,
            "retries": self.retries,
            "seconds": round(self.seconds, 3),
        }


def run_sync(
    con: duckdb.DuckDBPyConnection,
    sync: SyncConfig,
    destination: Destination,
    *,
    dry_run: bool = False,
    full_resync: bool = False,
    force: bool = False,
    known: Collection[str] | None = None,
) -> SyncResult:
    """Sync one audience to one destination. Bad configuration or data raises before anything is sent.

    `known`: the audiences that exist (`audiences.known_audiences`); default: those with members in the
    warehouse. `force`: clear a retired audience from the destination, and send removals past the
    `max_removal_share` guard.
    """
    started = time.perf_counter()
    ensure_state_tables(con)
    held = destination_members(con, sync.audience, destination.name)
    known = set(known_audiences(con) if known is None else known)
    unknown = unknown_audience_message(sync.audience, destination.name, known, held=held, forced=force)
    if unknown:
        _record_refusal(con, sync, destination, unknown)
        raise UnknownAudience(unknown)
    try:
        source = audience_source(con, sync)  # refuses missing key/fields and duplicate/null keys
    except AudienceDataError as error:
        _record_refusal(con, sync, destination, str(error))
        raise
    mark_interrupted_runs(con, sync.audience, destination.name)
    run_id = uuid.uuid4().hex
    if full_resync and not dry_run:
        mark_for_resync(con, sync.audience, destination.name, run_id)
    counts = build_change_set(con, source, destination=destination.name, full_resync=full_resync)
    operations = MODE_OPERATIONS[sync.mode]
    planned = {op: (n if op in operations else 0) for op, n in counts.items()}
    result = SyncResult(
        run_id, sync.audience, destination.name, sync.mode, planned, dry_run=dry_run, forced=force
    )
    if not force:
        result.guard = _removal_guard(sync, destination, planned["remove"], held)
    status = "dry_run" if dry_run else "stopped" if result.guard else "running"
    con.execute(
        """
        insert into sync_runs (run_id, audience, destination, mode, started_at, status, planned, dry_run,
            full_resync, forced)
        values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        [
            run_id,
            sync.audience,
            destination.name,
            sync.mode,
            now(),
            status,
            orjson.dumps(planned).decode(),
            dry_run,
            full_resync,
            force,
        ],
    )
    if result.guard:
        result.errors.append(result.guard)
        log.warning("sync %s -> %s stopped: %s", sync.audience, destination.name, result.guard)
    if dry_run:
        result.sample = _preview(con, sync, destination, operations)
    elif result.guard:
        pass  # nothing is sent; the changes stay pending until the audience recovers or a forced run
    else:
        sender = BatchSender(destination)
        try:
            if destination.bulk:
                _deliver_bulk(con, sync, source, destination, operations, result)
            else:
                for operation in operations:
                    _deliver_operation(con, sync, destination, sender, operation, result)
        except (DestinationUnavailable, FatalError) as error:
            result.stopped = redact(str(error))
            result.errors.append(result.stopped)
            result.failed += _undelivered(result)
            log.warning("sync %s -> %s stopped: %s", sync.audience, destination.name, result.stopped)
        except Exception as error:  # a bug or an unexpected answer: record the run as failed, then raise
            result.stopped = redact(f"{type(error).__name__}: {error}")[:500]
            result.errors.append(result.stopped)
            result.failed += _undelivered(result)
            result.seconds = time.perf_counter() - started
            _finish_run(con, result)
            # Same traceback, redacted message, no chained causes (they would be printed verbatim).
            raise SyncCrashed(result.stopped).with_traceback(error.__traceback__) from None
        result.requests, result.retries = sender.requests, sender.retries
    result.seconds = time.perf_counter() - started
    _finish_run(con, result)
    return result


def _removal_guard(sync: SyncConfig, destination: Destination, removes: int, held: int) -> str | None:
    """Why removing `removes` of the `held` members is too many to do without being forced, or None."""
    if not removes or not held or removes <= sync.max_removal_share * held:
        return None
    return (
        f"removal guard: this run would remove {removes} of the {held} members {destination.name!r} holds "
        f"for {sync.audience!r} ({removes / held:.0%}, more than max_removal_share "
        f"{sync.max_removal_share:.0%}). Nothing was sent. If the audience really shrank, run "
        f"`cdp sync --audience {sync.audience} --destination {destination.name} --force` "
        "(Dagster run config `force: true`), or raise max_removal_share for this sync in destinations.yml."
    )


def _records(rows: list[tuple]) -> list[Record]:
    return [
        Record(
            key, orjson.loads(data), digest, entered, resync, seq, orjson.loads(old) if old else None, acked
        )
        for key, data, digest, entered, resync, seq, old, acked in rows
    ]


def _batches(destination: Destination, operation: Operation, records: list[Record]):
    """Pack records into batches within the destination's count and byte limits."""
    limit_bytes = destination.max_batch_bytes
    batch: list[Record] = []
    size = 0
    for record in records:
        record_bytes = destination.record_size(record, operation) if limit_bytes else 0
        if batch and (
            len(batch) >= destination.batch_size or (limit_bytes and size + record_bytes > limit_bytes)
        ):
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += record_bytes
    if batch:
        yield batch


def _local_rejects(destination: Destination, operation: Operation, records: list[Record]) -> dict[str, str]:
    """Records that can never be delivered, refused here rather than by the destination."""
    reasons = {}
    for record in records:
        reason = destination.validate_record(record, operation)
        if reason is None and destination.max_record_bytes:
            size = destination.record_size(record, operation)
            if size > destination.max_record_bytes:
                reason = f"record is {size} bytes; {destination.type_name} accepts at most {destination.max_record_bytes}"
        if reason:
            reasons[record.key] = reason
    return reasons


def _deliver_operation(
    con: duckdb.DuckDBPyConnection,
    sync: SyncConfig,
    destination: Destination,
    sender: BatchSender,
    operation: Operation,
    result: SyncResult,
) -> None:
    """Send the operation's batches, up to `max_in_flight` at a time, recording each in order as it settles.

    Only the main thread touches the warehouse; workers only talk to the destination. A key appears once
    in a run's change set, so concurrent batches never race on the same record.
    """
    low, high = seq_range(con, operation)
    in_flight: deque[tuple[list[Record], list[str], Future[BatchResult]]] = deque()
    stop: BaseException | None = None
    with ThreadPoolExecutor(max_workers=destination.max_in_flight, thread_name_prefix="sync") as pool:
        try:
            for chunk_low in range(low, high + 1, READ_CHUNK):
                records = _records(read_changes(con, chunk_low, min(chunk_low + READ_CHUNK - 1, high)))
                rejects = _local_rejects(destination, operation, records)
                if rejects:
                    refused = [r for r in records if r.key in rejects]
                    _record(con, result, sync, destination, operation, refused, set(), rejects, {}, [])
                    records = [r for r in records if r.key not in rejects]
                for part in _batches(destination, operation, records):
                    batch = make_batch(sync.audience, destination.name, operation, part)
                    in_flight.append((part, list(rejects), pool.submit(sender.deliver, batch)))
                    while len(in_flight) >= destination.max_in_flight:
                        _settle(con, result, sync, destination, operation, *in_flight.popleft())
        except (DestinationUnavailable, FatalError) as error:
            stop = error
        # Batches already sent may have landed: wait for each and record what it achieved.
        while in_flight:
            try:
                _settle(con, result, sync, destination, operation, *in_flight.popleft())
            except (DestinationUnavailable, FatalError) as error:
                stop = stop or error
    if stop is not None:
        raise stop


def _settle(
    con: duckdb.DuckDBPyConnection,
    result: SyncResult,
    sync: SyncConfig,
    destination: Destination,
    operation: Operation,
    part: list[Record],
    foreign: list[str],
    future: Future[BatchResult],
) -> None:
    """Record one sent batch's outcome; a batch that could not be delivered stays pending and stops the run."""
    try:
        outcome = future.result()
    except (DestinationUnavailable, FatalError) as error:
        errors = dict.fromkeys((r.key for r in part), redact(str(error)))
        _record(con, result, sync, destination, operation, part, set(), {}, errors, [])
        raise
    accepted = set(outcome.accepted) - set(outcome.rejected) - set(outcome.deferred)
    missing = {r.key for r in part} - accepted - set(outcome.rejected) - set(outcome.deferred)
    deferred = {**outcome.deferred, **dict.fromkeys(missing, "not acknowledged by the destination")}
    # Local rejects may sit between this batch's rows in seq order: keep them out of the snapshot.
    _record(con, result, sync, destination, operation, part, accepted, outcome.rejected, deferred, foreign)


def _record(
    con: duckdb.DuckDBPyConnection,
    result: SyncResult,
    sync: SyncConfig,
    destination: Destination,
    operation: Operation,
    batch: list[Record],
    accepted: set[str],
    rejected: dict[str, str],
    deferred: dict[str, str],
    foreign: list[str],
) -> None:
    """One transaction per batch: snapshot for what was acknowledged, failures for the rest."""
    common = {
        "run_id": result.run_id,
        "audience": sync.audience,
        "destination": destination.name,
        "operation": operation,
    }
    hashes = {r.key: r.payload_hash for r in batch}
    con.begin()
    try:
        if accepted:
            seqs = [r.seq for r in batch]
            excluded = [r.key for r in batch if r.key not in accepted] + foreign
            fresh = all(r.resync is None and r.previous is None for r in batch)
            advance_snapshot(
                con, CHANGES_TABLE, seq_range=(min(seqs), max(seqs)), excluded=excluded, fresh=fresh, **common
            )
        record_failures(
            con, errors={k: redact(v) for k, v in rejected.items()}, hashes=hashes, permanent=True, **common
        )
        record_failures(
            con, errors={k: redact(v) for k, v in deferred.items()}, hashes=hashes, permanent=False, **common
        )
        add_run_counts(
            con, result.run_id, {operation: len(accepted)}, failed=len(deferred), rejected=len(rejected)
        )
        con.commit()
    except BaseException:
        con.rollback()
        raise
    result.delivered[operation] += len(accepted)
    result.rejected += len(rejected)
    result.failed += len(deferred)
    result.errors.extend(sorted({redact(v) for v in (*rejected.values(), *deferred.values())})[:5])


def _deliver_bulk(
    con: duckdb.DuckDBPyConnection,
    sync: SyncConfig,
    source: AudienceSource,
    destination: Destination,
    operations: tuple[Operation, ...],
    result: SyncResult,
) -> None:
    """Destinations that take the whole change set at once (files): all-or-nothing per run."""
    try:
        destination.export(con, CHANGES_TABLE, source=source, operations=operations, run_id=result.run_id)
    except OSError as error:  # disk full, permissions: nothing acknowledged, everything stays pending
        raise DestinationUnavailable(f"{destination.name}: {error}") from error
    common = {"run_id": result.run_id, "audience": sync.audience, "destination": destination.name}
    ranges = {op: seq_range(con, op) for op in operations}
    delivered = {op: max(0, high - low + 1) for op, (low, high) in ranges.items()}
    con.begin()
    for operation, (low, high) in ranges.items():
        if high >= low:
            advance_snapshot(
                con, CHANGES_TABLE, operation=operation, seq_range=(low, high), excluded=[], **common
            )
    add_run_counts(con, result.run_id, delivered)
    con.commit()
    for operation, count in delivered.items():
        result.delivered[operation] += count


def _undelivered(result: SyncResult) -> int:
    attempted = sum(result.delivered.values()) + result.rejected + result.failed
    return max(0, sum(result.planned.values()) - attempted)


def _preview(
    con: duckdb.DuckDBPyConnection,
    sync: SyncConfig,
    destination: Destination,
    operations: tuple[Operation, ...],
) -> dict[str, Any]:
    """The first records of each operation as the destination would send them, with PII redacted."""
    sample: dict[str, Any] = {}
    for operation in operations:
        low, high = seq_range(con, operation)
        if high < low:
            continue
        records = _records(read_changes(con, low, min(low + SAMPLE_SIZE - 1, high)))
        preview = destination.preview(make_batch(sync.audience, destination.name, operation, records))
        sample[operation] = redact_value(preview)
    return sample


def _record_refusal(
    con: duckdb.DuckDBPyConnection, sync: SyncConfig, destination: Destination, reason: str
) -> None:
    """A run refused before sending still shows in sync_runs, with the reason."""
    stamp = now()
    con.execute(
        """
        insert into sync_runs (run_id, audience, destination, mode, started_at, finished_at, status, error_summary)
        values (?, ?, ?, ?, ?, ?, 'refused', ?)
        """,
        [uuid.uuid4().hex, sync.audience, destination.name, sync.mode, stamp, stamp, redact(reason)[:2000]],
    )


def _finish_run(con: duckdb.DuckDBPyConnection, result: SyncResult) -> None:
    summary = "; ".join(dict.fromkeys(result.errors))[:2000] or None
    con.execute(
        """
        update sync_runs set finished_at = ?, status = ?, added = ?, changed = ?, removed = ?, failed = ?,
            rejected = ?, error_summary = ?
        where run_id = ?
        """,
        [
            now(),
            result.status,
            result.delivered["add"],
            result.delivered["change"],
            result.delivered["remove"],
            result.failed,
            result.rejected,
            summary,
            result.run_id,
        ],
    )
