"""Runs one sync: change set in DuckDB, batches to the destination, snapshot advanced per acknowledged row."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field

import duckdb

from reverse_etl.config import SyncConfig
from reverse_etl.destinations.base import Destination, Record
from reverse_etl.diff import CHANGES_TABLE, build_change_set
from reverse_etl.redaction import redact
from reverse_etl.state import ensure_state_tables

# Which operations each sync mode sends.
MODE_OPERATIONS = {
    "upsert": ("add", "change"),
    "mirror": ("add", "change", "remove"),
    "insert": ("add",),
    "update": ("change",),
}


@dataclass
class SyncResult:
    run_id: str
    audience: str
    destination: str
    planned: dict[str, int]
    delivered: dict[str, int] = field(default_factory=lambda: {"add": 0, "change": 0, "remove": 0})
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def status(self) -> str:
        if self.dry_run:
            return "dry_run"
        return "failed" if self.failed else "succeeded"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def audience_query(audience: str) -> str:
    if not audience.replace("_", "").isalnum():
        raise ValueError(f"audience name {audience!r} must be letters, digits and underscores")
    return f"select * exclude (audience, entered_at) from audience_membership where audience = '{audience}'"


def _batch_id(audience: str, destination: str, operation: str, records: list[tuple[str, str]]) -> str:
    """Stable for the same content, so a retried batch carries the same idempotency key."""
    digest = hashlib.sha256(f"{audience}|{destination}|{operation}".encode())
    for key, payload_hash in records:
        digest.update(f"|{key}:{payload_hash}".encode())
    return digest.hexdigest()[:32]


def run_sync(
    con: duckdb.DuckDBPyConnection,
    sync: SyncConfig,
    destination: Destination,
    *,
    dry_run: bool = False,
    full_resync: bool = False,
) -> SyncResult:
    ensure_state_tables(con)
    run_id = uuid.uuid4().hex
    batch_size = min(sync.batch_size or destination.max_batch_size, destination.max_batch_size)
    planned = build_change_set(
        con,
        audience_sql=audience_query(sync.audience),
        key_column=sync.key,
        audience=sync.audience,
        destination=destination.name,
        batch_size=batch_size,
        full_resync=full_resync,
    )
    operations = MODE_OPERATIONS[sync.mode]
    planned = {op: (count if op in operations else 0) for op, count in planned.items()}
    result = SyncResult(run_id, sync.audience, destination.name, planned, dry_run=dry_run)
    if dry_run:
        return result

    con.execute(
        "insert into sync_runs (run_id, audience, destination, mode, started_at, status) values (?, ?, ?, ?, ?, 'running')",
        [run_id, sync.audience, destination.name, sync.mode, _now()],
    )
    for operation in operations:
        batches = con.execute(
            f"select distinct batch_no from {CHANGES_TABLE} where operation = ? order by batch_no",
            [operation],
        ).fetchall()
        for (batch_no,) in batches:
            rows = con.execute(
                f"select record_key, cast(payload as varchar), payload_hash from {CHANGES_TABLE} "
                "where operation = ? and batch_no = ? order by record_key",
                [operation, batch_no],
            ).fetchall()
            records = [Record(key, payload) for key, payload, _ in rows]
            batch_id = _batch_id(sync.audience, destination.name, operation, [(k, h) for k, _, h in rows])
            try:
                send = destination.remove if operation == "remove" else destination.upsert
                ack = send(records, audience=sync.audience, batch_id=batch_id)
            except Exception as error:  # the whole batch stays pending and is retried next run
                message = redact(str(error))
                ack_failed = {r.key: message for r in records}
                result.errors.append(message)
                _record_failures(con, run_id, sync, destination.name, operation, ack_failed, permanent=False)
                result.failed += len(records)
                continue
            _advance_snapshot(con, run_id, sync.audience, destination.name, operation, batch_no, ack.accepted)
            if ack.rejected:
                _record_failures(con, run_id, sync, destination.name, operation, ack.rejected, permanent=True)
                result.failed += len(ack.rejected)
            result.delivered[operation] += len(ack.accepted)

    con.execute(
        """
        update sync_runs set finished_at = ?, status = ?, added = ?, changed = ?, removed = ?, failed = ?,
            error_summary = ?
        where run_id = ?
        """,
        [
            _now(),
            result.status,
            result.delivered["add"],
            result.delivered["change"],
            result.delivered["remove"],
            result.failed,
            "; ".join(sorted(set(result.errors)))[:2000] or None,
            run_id,
        ],
    )
    return result


def _advance_snapshot(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    audience: str,
    destination: str,
    operation: str,
    batch_no: int,
    accepted: list[str],
) -> None:
    if not accepted:
        return
    params = {"audience": audience, "destination": destination, "keys": accepted}
    if operation == "remove":
        con.execute(
            "delete from sync_snapshots where audience = $audience and destination = $destination "
            "and list_contains($keys, record_key)",
            params,
        )
        return
    con.execute(
        f"""
        insert or replace into sync_snapshots
        select $audience, $destination, record_key, payload_hash, payload, $synced_at, $run_id
        from {CHANGES_TABLE}
        where operation = $operation and batch_no = $batch_no and list_contains($keys, record_key)
        """,
        {**params, "synced_at": _now(), "run_id": run_id, "operation": operation, "batch_no": batch_no},
    )


def _record_failures(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    sync: SyncConfig,
    destination: str,
    operation: str,
    errors: dict[str, str],
    *,
    permanent: bool,
) -> None:
    con.execute(
        """
        insert into sync_failures
        select $run_id, $audience, $destination, unnest($keys), $operation, unnest($errors), $permanent, $failed_at
        """,
        {
            "run_id": run_id,
            "audience": sync.audience,
            "destination": destination,
            "keys": list(errors),
            "errors": [redact(e) for e in errors.values()],
            "operation": operation,
            "permanent": permanent,
            "failed_at": _now(),
        },
    )
