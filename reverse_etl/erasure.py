"""Removals owed to destinations for people forgotten with `cdp forget` (`deletion_pending_removals`).

A forgotten person is no longer in any audience table, and in mirror mode the ordinary diff would send a
remove; upsert, insert and update modes never remove anyone. So erasure does not depend on the mode or
on the diff: before each sync, every pending row of that (audience, destination) is sent as a `remove`
built from the snapshot row (the payload the destination last acknowledged, which is what a destination
needs to find the person: Meta the email hash, PostgreSQL the key). Once acknowledged, the snapshot row,
the pending row and the person's `sync_failures` rows go, in one transaction per batch, and a request
with nothing left pending gets its `destinations_completed_at`.

Done apart from the diff on purpose: the removals never count towards a sync's change set, so a guard
on the share of removals (or an audience emptied by the forget) never blocks a forget.

What `remove` means is each destination's: webhook and PostgreSQL delete the record, Meta removes the
hashed email from the custom audience; HubSpot, Salesforce, Braze and Segment set the audience's
membership property to false (the contact itself lives on in that tool, whose own deletion API the
tool's owner must call). Files destinations write the whole audience each run: the person leaves the
snapshot before the run (so its change set does not list them with their data), and after the run
every earlier export file of the audience is rewritten without their rows and the pending rows settle.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import duckdb
import orjson

from reverse_etl.config import SyncConfig
from reverse_etl.delivery import BatchSender, make_batch
from reverse_etl.destinations.base import Destination, Record
from reverse_etl.destinations.files import FilesDestination
from reverse_etl.redaction import redact
from reverse_etl.state import now

log = logging.getLogger(__name__)

PENDING_TABLE = "deletion_pending_removals"


def _has_pending_table(con: duckdb.DuckDBPyConnection) -> bool:
    (found,) = con.execute(
        "select count(*) from duckdb_tables() where table_name = ? and schema_name = 'main'",
        [PENDING_TABLE],
    ).fetchone()
    return bool(found)


def _settle(con: duckdb.DuckDBPyConnection, sync: SyncConfig, destination: str, keys: list[str]) -> None:
    """Acknowledged removals: snapshot, pending and failure rows go; finished requests are completed."""
    params = {"audience": sync.audience, "destination": destination, "keys": keys}
    where = "audience = $audience and destination = $destination and list_contains($keys, record_key)"
    con.begin()
    try:
        con.execute(f"delete from sync_snapshots where {where}", params)
        con.execute(f"delete from sync_failures where {where}", params)
        con.execute(f"delete from {PENDING_TABLE} where {where}", params)
        con.execute(
            f"""
            update deletion_requests set destinations_completed_at = $now
            where destinations_completed_at is null
                and request_id not in (select request_id from {PENDING_TABLE})
            """,
            {"now": now()},
        )
        con.execute(
            """
            delete from deletion_request_identifiers where request_id in (
                select request_id from deletion_requests where warehouse_completed_at is not null
                    and landing_completed_at is not null and destinations_completed_at is not null
            )
            """
        )
        con.commit()
    except BaseException:
        con.rollback()
        raise


def erase_pending(con: duckdb.DuckDBPyConnection, sync: SyncConfig, destination: Destination) -> int:
    """Send the removals owed for forgotten people to this destination; the number acknowledged.

    A failure leaves the rows pending for the next sync (the error is logged, redacted) and never
    stops the ordinary sync that follows.
    """
    if not _has_pending_table(con):
        return 0
    rows = con.execute(
        f"""
        select p.record_key, cast(s.payload as varchar), s.payload_hash, s.entered_at
        from {PENDING_TABLE} p
        left join sync_snapshots s using (audience, destination, record_key)
        where p.audience = ? and p.destination = ?
        order by p.record_key
        """,
        [sync.audience, destination.name],
    ).fetchall()
    if not rows:
        return 0
    # Already gone from the snapshot (a mirror sync removed them first): nothing is owed.
    gone = [key for key, payload, _, _ in rows if payload is None]
    if gone:
        _settle(con, sync, destination.name, gone)
    records = [
        Record(key=key, payload=orjson.loads(payload), payload_hash=digest, entered_at=entered, seq=seq)
        for seq, (key, payload, digest, entered) in enumerate(rows, 1)
        if payload is not None
    ]
    if destination.bulk:
        # Out of the snapshot now, so the run's change set does not carry them (with their payload) as a
        # remove; the pending rows stay until `settle_bulk`, after the run wrote the whole audience.
        con.execute(
            f"""
            delete from sync_snapshots where audience = $audience and destination = $destination
                and record_key in (
                    select record_key from {PENDING_TABLE} where audience = $audience and destination = $destination
                )
            """,
            {"audience": sync.audience, "destination": destination.name},
        )
        return len(gone)
    sender = BatchSender(destination)
    acknowledged = len(gone)
    size = destination.batch_size
    for start in range(0, len(records), size):
        part = records[start : start + size]
        try:
            outcome = sender.deliver(make_batch(sync.audience, destination.name, "remove", part))
        except Exception as error:  # noqa: BLE001 (kept pending; the ordinary sync still runs)
            log.warning(
                "removal of forgotten people from %s failed, kept for the next sync: %s",
                destination.name,
                redact(str(error)),
            )
            break
        accepted = [k for k in outcome.accepted if k not in outcome.rejected and k not in outcome.deferred]
        if accepted:
            _settle(con, sync, destination.name, accepted)
            acknowledged += len(accepted)
    return acknowledged


def settle_bulk(con: duckdb.DuckDBPyConnection, sync: SyncConfig, destination: Destination) -> None:
    """After a successful bulk (files) run: the full audience it wrote no longer has forgotten people,
    and the exports of earlier runs (and this run's change set) are rewritten without their rows."""
    if not destination.bulk or not _has_pending_table(con):
        return
    keys = [
        key
        for (key,) in con.execute(
            f"select record_key from {PENDING_TABLE} where audience = ? and destination = ?",
            [sync.audience, destination.name],
        ).fetchall()
    ]
    if not keys:
        return
    if isinstance(destination, FilesDestination):
        _scrub_exports(destination, sync.audience, keys)
    _settle(con, sync, destination.name, keys)


def _scrub_exports(destination: FilesDestination, audience: str, keys: list[str]) -> None:
    """Every export file of the audience rewritten without the keys' rows (temp file, then rename)."""
    settings = destination.settings
    folder = Path(settings.path).expanduser() / audience
    read = "read_csv(?, header = true, all_varchar = true)" if settings.format == "csv" else "read_parquet(?)"
    options = "(format csv, header true)" if settings.format == "csv" else "(format parquet)"
    with duckdb.connect() as scratch:
        for path in sorted(folder.glob(f"*/*.{settings.format}")):
            (held,) = scratch.execute(
                f"select count(*) from {read} where list_contains(?, record_key)", [str(path), keys]
            ).fetchone()
            if not held:
                continue
            temporary = path.with_name(f".{path.name}.tmp")
            target = temporary.as_posix().replace("'", "''")
            scratch.execute(
                f"copy (select * from {read} where not list_contains(?, record_key)) to '{target}' {options}",
                [str(path), keys],
            )
            os.replace(temporary, path)
