"""Who is who, in `OUT/_ground_truth/`: `identifiers.parquet` and `persons.parquet` (see the package doc)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from orchestration.generator import kinds
from orchestration.generator import vocabulary as vocab
from orchestration.generator.checkouts import ABANDON_HOURS, Checkouts, abandoned_within
from orchestration.generator.events import EventTable
from orchestration.generator.formatting import ZERO_UUID
from orchestration.generator.population import KEY_ACCOUNTS, Companies, Persons

GROUND_TRUTH_DIR = "_ground_truth"


def write_identifiers(path: Path, seen: pa.Table, persons: Persons) -> int:
    """One row per distinct (id_type, id_value) in the events; returns the row count.

    `seen` has one row per distinct (id_type, id_value, person) the messages carried.
    """
    junk = pa.table(
        {
            "id_type": ["user_id"] * len(vocab.JUNK_USER_IDS)
            + ["email"] * len(vocab.JUNK_EMAILS)
            + ["device_id", "advertising_id"],
            "id_value": vocab.JUNK_USER_IDS + vocab.JUNK_EMAILS + (ZERO_UUID, ZERO_UUID),
        }
    )
    person_ids = pa.table({"person": np.arange(len(persons)), "person_id": persons.person_id})
    with duckdb.connect() as con:
        for name, table in (("seen", seen), ("junk", junk), ("person_ids", person_ids)):
            con.register(name, table)
        identifiers = con.sql(
            """
            with identifiers as (
                select id_type, id_value, count(distinct person) as persons, min(person) as person
                from seen
                group by id_type, id_value
            ),

            flagged as (
                select
                    identifiers.*,
                    identifiers.persons > 1 as is_shared,
                    junk.id_value is not null as is_junk
                from identifiers
                left join junk using (id_type, id_value)
            )

            select
                flagged.id_type,
                flagged.id_value,
                case when not flagged.is_shared and not flagged.is_junk then person_ids.person_id end as person_id,
                flagged.is_shared,
                flagged.is_junk
            from flagged
            join person_ids using (person)
            order by flagged.id_type, flagged.id_value
            """
        ).to_arrow_table()
    pq.write_table(identifiers, path)
    return identifiers.num_rows


def write_accounts(
    path: Path,
    persons: Persons,
    companies: Companies,
    table: EventTable,
    order_revenue_cents: np.ndarray,
    month_from_ms: int,
) -> None:
    """One row per company account (groupId): its name, whether it is a key account, whether it is an at-risk
    key account (its members opened more than 3 support tickets from `month_from_ms`, the window's last 30
    days; the generator plants a few), what its members ordered in the window (spend_usd) and its buyers."""
    count = len(companies.name)
    members = np.bincount(persons.company[persons.company >= 0], minlength=count)
    ticket = (table.kind == kinds.SUPPORT_TICKET_OPENED) & (table.timestamp_ms >= month_from_ms)
    company = persons.company[table.person[ticket]]
    recent_tickets = np.bincount(company[company >= 0], minlength=count)
    key_account = np.arange(count) < KEY_ACCOUNTS
    ordered = table.kind == kinds.ORDER_COMPLETED
    buyer = persons.company[table.person[ordered]]
    spend = np.bincount(
        buyer[buyer >= 0], weights=order_revenue_cents[table.order[ordered]][buyer >= 0], minlength=count
    )
    result = pa.table(
        {
            "account_id": companies.group_id,
            "name": companies.name,
            "key_account": key_account,
            "at_risk": key_account & (recent_tickets > 3),
            "spend_usd": spend / 100,
            "members": members.astype(np.int64),
        }
    )
    pq.write_table(result, path)


def write_account_members(path: Path, persons: Persons, companies: Companies, table: EventTable) -> None:
    """Who the events tie to which account: one row per (account, person) with a group call."""
    grouped = table.kind == kinds.GROUP
    pairs = np.unique(table.person[grouped])
    pairs = pairs[persons.company[pairs] >= 0]
    pq.write_table(
        pa.table(
            {
                "account_id": companies.group_id.take(pa.array(persons.company[pairs])),
                "person_id": persons.person_id.take(pa.array(pairs)),
            }
        ),
        path,
    )


def write_checkouts(
    path: Path, persons: Persons, table: EventTable, checkouts: Checkouts, hours: int = ABANDON_HOURS
) -> None:
    """One row per Checkout Started: who, when (its `timestamp`), whether it became its order, and whether
    it was abandoned: no Order Completed of the person in the `hours` after it."""
    started = np.flatnonzero(table.kind == kinds.CHECKOUT_STARTED)
    ordered = np.flatnonzero(table.kind == kinds.ORDER_COMPLETED)
    index = table.order[started]
    person, started_ms = table.person[started], table.timestamp_ms[started]
    abandoned = abandoned_within(
        person, started_ms, table.person[ordered], table.timestamp_ms[ordered], hours
    )
    pq.write_table(
        pa.table(
            {
                "checkout_id": checkouts.checkout_id.take(pa.array(index)),
                "person_id": persons.person_id.take(pa.array(person)),
                "started_at": pa.array(started_ms).cast(pa.timestamp("ms", tz="UTC")),
                "converted": checkouts.order[index] >= 0,
                "abandoned": abandoned,
            }
        ),
        path,
    )


def write_persons(path: Path, persons: Persons, table: EventTable, signed_up_ms: np.ndarray) -> None:
    seen = pd.DataFrame({"person": table.person, "ts": table.timestamp_ms}).groupby("person")["ts"]
    first_seen = seen.min().reindex(range(len(persons))).to_numpy()
    last_seen = seen.max().reindex(range(len(persons))).to_numpy()
    member = np.stack([(persons.groups >> bit) & 1 for bit in range(len(vocab.GROUPS))], axis=1).astype(bool)
    names = np.tile(np.arange(len(vocab.GROUPS)), (len(persons), 1))[member]
    groups = pa.ListArray.from_arrays(
        pa.array(np.concatenate([[0], np.cumsum(member.sum(axis=1))]).astype(np.int32)),
        pa.array(vocab.GROUPS).take(pa.array(names)),
    )
    utc_ms = pa.timestamp("ms", tz="UTC")
    result = pa.table(
        {
            "person_id": persons.person_id,
            "groups": groups,
            "persona": pa.array(vocab.PERSONAS).take(pa.array(persons.persona)),
            "signup_at": pa.array(signed_up_ms, mask=signed_up_ms < 0).cast(utc_ms),
            "first_seen": pa.array(first_seen, mask=np.isnan(first_seen)).cast(pa.int64()).cast(utc_ms),
            "last_seen": pa.array(last_seen, mask=np.isnan(last_seen)).cast(pa.int64()).cast(utc_ms),
            "plan": pa.array(vocab.PLANS).take(pa.array(persons.plan, mask=persons.plan < 0)),
            "favorite_brand": pa.array(vocab.BRANDS).take(
                pa.array(persons.favorite_brand, mask=persons.favorite_brand < 0)
            ),
        }
    )
    pq.write_table(result, path)
