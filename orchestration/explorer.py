"""The profile explorer: everything the warehouse knows about one person, found from any identifier.

Reads the warehouse read-only (DuckDB lets readers in only while no process writes), so it never changes
state. Each section is one set-based query keyed by `profile_id`; tables another part of the CDP has not
built yet (say `profile_merges` before the first identity run) leave their section empty instead of failing.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from orchestration.warehouse import connect_warehouse

# Where the dbt project builds each table the explorer reads (marts land in `main`).
PROFILES = "main.profiles"
IDENTITY_GRAPH = "main.identity_graph"
PROFILE_MERGES = "main.profile_merges"
PROFILE_TRAITS = "main.profile_traits"
AUDIENCE_MEMBERSHIP = "main.audience_membership"
AUDIENCE_HISTORY = "main.audience_membership_history"
RESOLVED_EVENTS = "intermediate.int_events_resolved"

# Identifier types people type in, normalised the way staging normalises them before matching.
CASE_INSENSITIVE_TYPES = ("email",)


class ExplorerError(Exception):
    """A lookup that cannot be answered; the message says why and what to do."""


class ProfileNotFound(ExplorerError):
    pass


class AmbiguousIdentifier(ExplorerError):
    def __init__(self, identifier: str, matches: Sequence[tuple[str, str]]) -> None:
        listed = ", ".join(f"{id_type} -> {profile_id}" for id_type, profile_id in matches)
        super().__init__(
            f"'{identifier}' identifies more than one profile ({listed}); "
            "pass --type ID_TYPE or the profile id to choose."
        )
        self.matches = list(matches)


@dataclass(frozen=True)
class Match:
    """How the identifier typed in led to the profile."""

    id_type: str  # `profile_id`, `merged_profile_id` or an identity_graph id_type
    id_value: str
    profile_id: str


@dataclass(frozen=True)
class ProfileView:
    profile_id: str
    match: Match
    profile: dict[str, Any]
    identifiers: list[dict[str, Any]] = field(default_factory=list)
    merges: list[dict[str, Any]] = field(default_factory=list)
    traits: dict[str, Any] = field(default_factory=dict)
    audiences: list[dict[str, Any]] = field(default_factory=list)
    recent_events: list[dict[str, Any]] = field(default_factory=list)
    missing_tables: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=_json_default, indent=2)


def _json_default(value: object) -> object:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return str(value)


def connect_read_only(warehouse: Path) -> duckdb.DuckDBPyConnection:
    if not warehouse.exists():
        raise ExplorerError(
            f"No warehouse at {warehouse} yet: run `cdp ingest` and `cdp run` (or `cdp demo`)."
        )
    try:
        return connect_warehouse(warehouse, read_only=True)
    except duckdb.IOException as error:
        raise ExplorerError(
            f"The warehouse is busy ({error}); try again when the running pipeline has finished."
        ) from error


def _existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("select table_schema || '.' || table_name from information_schema.tables").fetchall()
    return {name for (name,) in rows}


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object]) -> list[dict[str, Any]]:
    relation = con.execute(sql, list(params))
    columns = [column[0] for column in relation.description]
    return [dict(zip(columns, row, strict=True)) for row in relation.fetchall()]


def resolve_identifier(con: duckdb.DuckDBPyConnection, identifier: str, id_type: str | None = None) -> Match:
    """The profile an identifier belongs to: a profile id, an absorbed profile id, or any identifier."""
    tables = _existing_tables(con)
    if PROFILES not in tables or IDENTITY_GRAPH not in tables:
        raise ExplorerError("The warehouse has no profiles yet: run `cdp run` (or `cdp demo`) first.")
    value = identifier.strip()
    if id_type in (None, "profile_id"):
        found = con.execute(f"select profile_id from {PROFILES} where profile_id = ?", [value]).fetchone()
        if found:
            return Match("profile_id", value, found[0])
        if PROFILE_MERGES in tables:
            survivor = _follow_merges(con, value)
            if survivor:
                return Match("merged_profile_id", value, survivor)
        if id_type == "profile_id":
            raise ProfileNotFound(f"No profile has the id '{value}'.")
    digits = _phone_digits(value)
    matches = _rows(
        con,
        f"""
        select distinct id_type, id_value, profile_id
        from {IDENTITY_GRAPH}
        where (id_value = ? or (id_type in ({", ".join("?" for _ in CASE_INSENSITIVE_TYPES)})
                                and id_value = lower(?))
                -- Phones are stored in E.164: '(832) 555-1880' finds '+18325551880'.
                or (id_type = 'phone' and ? is not null
                    and (id_value = '+' || ? or (length(?) >= 10 and id_value like '+%' || ?))))
            and (? is null or id_type = ?)
        order by id_type
        """,
        [value, *CASE_INSENSITIVE_TYPES, value, digits, digits, digits, digits, id_type, id_type],
    )
    profiles = {row["profile_id"] for row in matches}
    if not matches:
        kind = f" of type {id_type}" if id_type else ""
        raise ProfileNotFound(f"No profile has the identifier{kind} '{value}'.")
    if len(profiles) > 1:
        raise AmbiguousIdentifier(value, [(row["id_type"], row["profile_id"]) for row in matches])
    first = matches[0]
    return Match(first["id_type"], first["id_value"], first["profile_id"])


def _phone_digits(value: str) -> str | None:
    """The digits of something typed like a phone number ('+1 (832) 555-1880'), else None."""
    if not re.fullmatch(r"[+\d\s().\-]+", value):
        return None
    digits = re.sub(r"\D", "", value)
    return digits if len(digits) >= 7 else None


def _follow_merges(con: duckdb.DuckDBPyConnection, profile_id: str) -> str | None:
    """The surviving profile an absorbed id ended up in, following chains of merges."""
    (survivor,) = con.execute(
        f"""
        with recursive chain(profile_id, depth) as (
            select to_profile_id, 1 from {PROFILE_MERGES} where from_profile_id = ?
            union all
            select merges.to_profile_id, chain.depth + 1
            from chain
            inner join {PROFILE_MERGES} as merges on merges.from_profile_id = chain.profile_id
            where chain.depth < 100
        )
        select profile_id from chain
        where profile_id in (select profile_id from {PROFILES})
        order by depth desc
        limit 1
        """,
        [profile_id],
    ).fetchone() or (None,)
    return survivor


def explore_profile(
    con: duckdb.DuckDBPyConnection, identifier: str, id_type: str | None = None, events: int = 20
) -> ProfileView:
    """Identifiers, merges, traits, audiences and the latest events of the profile behind `identifier`."""
    match = resolve_identifier(con, identifier, id_type)
    profile_id = match.profile_id
    tables = _existing_tables(con)
    missing = [
        table
        for table in (PROFILE_MERGES, PROFILE_TRAITS, AUDIENCE_MEMBERSHIP, AUDIENCE_HISTORY, RESOLVED_EVENTS)
        if table not in tables
    ]
    profile = _rows(con, f"select * from {PROFILES} where profile_id = ?", [profile_id])[0]
    identifiers = _rows(
        con,
        f"""
        select id_type, id_value, first_seen, last_seen
        from {IDENTITY_GRAPH}
        where profile_id = ?
        order by id_type, first_seen, id_value
        """,
        [profile_id],
    )
    merges: list[dict[str, Any]] = []
    if PROFILE_MERGES in tables:
        merges = _rows(
            con,
            f"""
            select from_profile_id, to_profile_id, merged_at, reason
            from {PROFILE_MERGES}
            where to_profile_id = ? or from_profile_id = ?
            order by merged_at
            """,
            [profile_id, profile_id],
        )
    traits: dict[str, Any] = {}
    if PROFILE_TRAITS in tables:
        found = _rows(con, f"select * from {PROFILE_TRAITS} where profile_id = ?", [profile_id])
        traits = {k: v for k, v in found[0].items() if k != "profile_id"} if found else {}
    audiences = _audiences(con, profile_id, tables)
    recent: list[dict[str, Any]] = []
    if RESOLVED_EVENTS in tables:
        recent = _rows(
            con,
            f"""
            select event_at, event_type, event_name, source, event_id, user_id, anonymous_id,
                cast(properties as varchar) as properties
            from {RESOLVED_EVENTS}
            where profile_id = ?
            order by event_at desc, event_id
            limit ?
            """,
            [profile_id, events],
        )
    return ProfileView(profile_id, match, profile, identifiers, merges, traits, audiences, recent, missing)


def _audiences(con: duckdb.DuckDBPyConnection, profile_id: str, tables: set[str]) -> list[dict[str, Any]]:
    """Every stay in an audience (current ones first); just current membership without the history."""
    if AUDIENCE_HISTORY in tables:
        return _rows(
            con,
            f"""
            select audience, entered_at, exited_at, exited_at is null as is_member
            from {AUDIENCE_HISTORY}
            where profile_id = ?
            order by exited_at is null desc, audience, entered_at desc
            """,
            [profile_id],
        )
    if AUDIENCE_MEMBERSHIP in tables:
        return _rows(
            con,
            f"""
            select audience, entered_at, cast(null as timestamp) as exited_at, true as is_member
            from {AUDIENCE_MEMBERSHIP}
            where profile_id = ?
            order by audience
            """,
            [profile_id],
        )
    return []
