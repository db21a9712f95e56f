"""PostgreSQL table: upsert on the key and delete on remove, one transaction per batch.

The table is created on first use (key column as primary key, payload columns typed from their values) and
gains columns when the mapping grows.

Exactly-once effect: each batch's key (its id, derived from its content) is recorded in a ledger table in
the destination database (`_cdp_applied_batches`, next to the target table) *in the same transaction* as
the rows. A batch whose key is already there is acknowledged without touching the table, so a retry after
a timeout, or a re-send after the syncing process was killed between the commit and its own bookkeeping,
applies nothing twice. A row whose content is already what the batch carries is not rewritten either
(`ON CONFLICT ... DO UPDATE ... WHERE ... IS DISTINCT FROM`), which covers a re-send that groups rows into
different batches. Deletes are idempotent by nature.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb
from pydantic import Field, field_validator

from reverse_etl.destinations.base import (
    Batch,
    BatchRejected,
    BatchResult,
    DeliverySettings,
    Destination,
    FatalError,
    RetryableError,
)
from reverse_etl.network import check_destination_host
from reverse_etl.redaction import redact

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class PostgresSettings(DeliverySettings):
    dsn: str = Field(repr=False)  # e.g. ${WAREHOUSE_PG_DSN}: postgresql://user:password@host:5432/db
    table: str  # "table" or "schema.table"
    key_column: str = "profile_id"
    sslmode: str = "prefer"  # set "verify-full" for servers across a network
    ledger_table: str = "_cdp_applied_batches"  # in the target table's schema

    @field_validator("ledger_table")
    @classmethod
    def _ledger(cls, value: str) -> str:
        if not _IDENTIFIER.match(value):
            raise ValueError("ledger_table must be letters, digits and underscores")
        return value

    @field_validator("table")
    @classmethod
    def _table(cls, value: str) -> str:
        if not all(_IDENTIFIER.match(part) for part in value.split(".")) or value.count(".") > 1:
            raise ValueError("table must be name or schema.name (letters, digits, underscores)")
        return value

    @field_validator("key_column")
    @classmethod
    def _column(cls, value: str) -> str:
        if not _IDENTIFIER.match(value):
            raise ValueError("key_column must be letters, digits and underscores")
        return value


def _pg_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "bigint"
    if isinstance(value, float):
        return "double precision"
    if isinstance(value, dict | list):
        return "jsonb"
    return "text"


def _adapt(value: Any) -> Any:
    return Jsonb(value) if isinstance(value, dict | list) else value


class PostgresDestination(Destination):
    type_name: ClassVar[str] = "postgres"
    Settings: ClassVar[type[DeliverySettings]] = PostgresSettings
    max_batch_size: ClassVar[int] = 5000
    settings: PostgresSettings

    def __init__(self, name: str, settings: DeliverySettings) -> None:
        super().__init__(name, settings)
        params = conninfo_to_dict(self.settings.dsn)
        host = str(params.get("host") or "")
        if host and not host.startswith("/"):  # a socket directory needs no address check
            check_destination_host(
                host, int(params.get("port") or 5432), allow_link_local=settings.allow_link_local
            )
        self._connection: psycopg.Connection | None = None
        self._columns: set[str] | None = None
        parts = self.settings.table.split(".")
        self.table = sql.Identifier(*parts)
        self.table_name = parts[-1]
        self.schema = parts[0] if len(parts) == 2 else None
        self.ledger = sql.Identifier(*parts[:-1], self.settings.ledger_table)
        self._ledger_ready = False

    def _connect(self) -> psycopg.Connection:
        if self._connection is None or self._connection.closed:
            try:
                self._connection = psycopg.connect(
                    self.settings.dsn,
                    connect_timeout=max(1, int(self.settings.timeout_seconds)),
                    sslmode=self.settings.sslmode,
                    options=f"-c statement_timeout={int(self.settings.timeout_seconds * 1000)}",
                )
            except psycopg.OperationalError as error:
                raise RetryableError(f"{self.name}: cannot connect: {redact(str(error))[:300]}") from error
            self._columns = None
            self._ledger_ready = False
        return self._connection

    def _first_application(self, con: psycopg.Connection, batch: Batch) -> bool:
        """Record the batch's key in the ledger; False when it was applied before (inside the transaction).

        Two concurrent runs sending the same batch serialise on the ledger's primary key: the second waits
        for the first to commit, then finds the key and applies nothing.
        """
        if not self._ledger_ready:
            con.execute(
                sql.SQL(
                    "create table if not exists {} (batch_key text not null, target text not null, "
                    "operation text not null, records integer not null, "
                    "applied_at timestamptz not null default now(), primary key (batch_key, target))"
                ).format(self.ledger)
            )
            self._ledger_ready = True
        inserted = con.execute(
            sql.SQL(
                "insert into {} (batch_key, target, operation, records) values (%s, %s, %s, %s) "
                "on conflict do nothing returning 1"
            ).format(self.ledger),
            [batch.batch_id, self.settings.table, batch.operation, len(batch.records)],
        ).fetchone()
        return inserted is not None

    def _ensure_columns(self, con: psycopg.Connection, sample: dict[str, Any]) -> None:
        """Create the table, or add columns the payload has and the table lacks."""
        key = self.settings.key_column
        if self._columns is None:
            con.execute(
                sql.SQL(
                    "create table if not exists {} ({} text primary key, _synced_at timestamptz default now())"
                ).format(self.table, sql.Identifier(key))
            )
            rows = con.execute(
                "select column_name from information_schema.columns where table_name = %s "
                "and table_schema = coalesce(%s, current_schema())",
                [self.table_name, self.schema],
            ).fetchall()
            self._columns = {name for (name,) in rows}
        for column, value in sample.items():
            if column not in self._columns:
                con.execute(
                    sql.SQL("alter table {} add column if not exists {} {}").format(
                        self.table, sql.Identifier(column), sql.SQL(_pg_type(value))
                    )
                )
                self._columns.add(column)

    def _run(self, work) -> None:
        con = self._connect()
        try:
            with con.transaction():
                work(con)
        except (
            pg_errors.InsufficientPrivilege,
            pg_errors.UndefinedTable,
            pg_errors.InvalidSchemaName,
        ) as error:
            raise FatalError(f"{self.name}: {redact(str(error))[:300]}") from error
        except (
            psycopg.OperationalError,
            pg_errors.SerializationFailure,
            pg_errors.DeadlockDetected,
        ) as error:
            self.close()
            raise RetryableError(f"{self.name}: {redact(str(error))[:300]}") from error
        except (psycopg.DataError, psycopg.IntegrityError, psycopg.ProgrammingError) as error:
            # A value the column cannot hold: some record in this batch is bad; the engine splits it.
            self._columns = None
            self._ledger_ready = False
            raise BatchRejected(f"{self.name}: {redact(str(error).splitlines()[0])[:300]}") from error

    def upsert(self, batch: Batch) -> BatchResult:
        key = self.settings.key_column
        rows = [{**{k: v for k, v in r.payload.items() if k != key}, key: r.key} for r in batch.records]
        columns = sorted({c for row in rows for c in row})
        sample: dict[str, Any] = {}
        for row in rows:
            for column, value in row.items():
                if sample.get(column) is None:
                    sample[column] = value

        def work(con: psycopg.Connection) -> None:
            self._ensure_columns(con, sample)
            if not self._first_application(con, batch):
                return
            others = [c for c in columns if c != key]
            statement = sql.SQL(
                "insert into {table} as t ({columns}, _synced_at) values ({values}, now()) "
                "on conflict ({key}) do update set {updates}, _synced_at = now() where {changed}"
            ).format(
                table=self.table,
                columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
                values=sql.SQL(", ").join(sql.Placeholder() * len(columns)),
                key=sql.Identifier(key),
                updates=sql.SQL(", ").join(
                    sql.SQL("{0} = excluded.{0}").format(sql.Identifier(c)) for c in columns if c != key
                )
                or sql.SQL("{0} = excluded.{0}").format(sql.Identifier(key)),
                changed=sql.SQL("({}) is distinct from ({})").format(
                    sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in others),
                    sql.SQL(", ").join(sql.SQL("excluded.{}").format(sql.Identifier(c)) for c in others),
                )
                if others
                else sql.SQL("false"),
            )
            with con.cursor() as cursor:
                cursor.executemany(statement, [[_adapt(row.get(c)) for c in columns] for row in rows])

        self._run(work)
        return BatchResult.all_accepted(batch)

    def remove(self, batch: Batch) -> BatchResult:
        def work(con: psycopg.Connection) -> None:
            con.execute(
                sql.SQL(
                    "create table if not exists {} ({} text primary key, _synced_at timestamptz default now())"
                ).format(self.table, sql.Identifier(self.settings.key_column))
            )
            if not self._first_application(con, batch):
                return
            con.execute(
                sql.SQL("delete from {} where {} = any(%s)").format(
                    self.table, sql.Identifier(self.settings.key_column)
                ),
                [[r.key for r in batch.records]],
            )

        self._run(work)
        return BatchResult.all_accepted(batch)

    def close(self) -> None:
        if self._connection is not None and not self._connection.closed:
            self._connection.close()
        self._connection = None
