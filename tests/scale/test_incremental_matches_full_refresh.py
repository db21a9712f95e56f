"""An incremental build after each appended batch gives the same marts as a `--full-refresh` of the same data.

Hypothesis draws a small base of events and two or three appended batches, each mixing new people
(anonymous, then identified), new identifiers for old people, links that merge two old profiles, and
late events (timestamps days before the latest). Two warehouses receive the same files, loaded by the
real loader with the same load time: warehouse A builds incrementally after each batch, warehouse B
builds with `--full-refresh` after each batch. Every mart is then compared row for row.

Why B replays the batches instead of loading everything once into a fresh warehouse: stable profile ids
are state by design (`int_identity_profile_ids_assigned` and `profile_merges` are kept by `--full-refresh`,
as `cdp run --full-refresh` keeps them), so a warehouse that never saw the earlier builds names profiles
differently: someone first seen anonymously keeps the id hashed from their anonymous id once they
identify, where a first build of all the events hashes their user id. What a full refresh must
reproduce is the incremental result given the same history. Exceptions: HISTORY_TABLES, BUILD_TIME_COLUMNS.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from orchestration.ingestion.loader import load_partitions
from tests.identity.conftest import DbtProjectRun
from tests.ingestion.conftest import line, write_lines

T0 = dt.datetime(2026, 1, 1, 8)
BATCH_DAYS = 10  # each batch arrives ten days after the previous one
# Every build evaluates at one moment, after every event, so windows and recency agree on both sides.
AS_OF = "2026-03-01 00:00:00"
# Load times past every event timestamp (the loader trusts no timestamp past its load time).
LOADED = dt.datetime(2026, 2, 20)

# Tables that are not a function of the data: audience history and sizes are appended to by every
# build (one row per build and change), which a full refresh never erases.
HISTORY_TABLES = {"audience_membership_history", "audience_sizes"}
# Columns stamped with the wall-clock moment of the build rather than derived from events or as_of. None
# in the compared tables today (`audience_sizes.built_at` is in a history table); a new one goes here.
BUILD_TIME_COLUMNS: frozenset[str] = frozenset()

EVENT_KINDS = [
    ("Order Completed", lambda draw: {"revenue": draw(st.sampled_from([5, 19.99, 120.5])),
                                      "brand": draw(st.sampled_from(["Northwind", "Bluepeak", "Nimbus"]))}),
    ("Logged In", lambda draw: {}),
    ("Support Ticket Opened", lambda draw: {"priority": draw(st.sampled_from(["low", "high", "urgent"]))}),
    ("Trial Started", lambda draw: {"plan": "trial"}),
    ("Subscription Started", lambda draw: {"plan": draw(st.sampled_from(["basic", "pro"]))}),
    ("Signed Up", lambda draw: {"method": draw(st.sampled_from(["email", "google"]))}),
    ("Product Viewed", lambda draw: {"brand": "Nimbus", "price": 9.5}),
]  # fmt: skip


@dataclass
class Person:
    index: int
    anonymous_ids: list[str] = field(default_factory=list)
    identified: bool = False

    @property
    def user_id(self) -> str:
        return f"user-{self.index}"


@dataclass
class Timeline:
    """Draws Segment messages with unique ids; `now` is the latest timestamp of the batch being drawn."""

    people: list[Person] = field(default_factory=list)
    counter: int = 0
    now: dt.datetime = T0

    def message(self, kind: str, at: dt.datetime, **fields: Any) -> dict[str, Any]:
        self.counter += 1
        stamp = at.isoformat(timespec="milliseconds") + "Z"
        body = {"type": kind, "messageId": f"m-{self.counter:05d}", "timestamp": stamp, "context": {}}
        body.update(fields)
        return body

    def tick(self) -> dt.datetime:
        self.now += dt.timedelta(minutes=7)
        return self.now


def _track(draw: st.DrawFn, timeline: Timeline, at: dt.datetime, **who: Any) -> dict[str, Any]:
    name, properties = draw(st.sampled_from(EVENT_KINDS))
    return timeline.message("track", at, event=name, properties=properties(draw), **who)


def _new_person(draw: st.DrawFn, timeline: Timeline) -> list[dict[str, Any]]:
    """Anonymous browsing, then (usually) an identify call naming the user and an email."""
    person = Person(index=len(timeline.people), anonymous_ids=[f"anon-{len(timeline.people)}-0"])
    timeline.people.append(person)
    anon = person.anonymous_ids[0]
    events = [
        _track(draw, timeline, timeline.tick(), anonymousId=anon) for _ in range(draw(st.integers(1, 2)))
    ]
    if draw(st.booleans()) or draw(st.booleans()):
        person.identified = True
        traits = {"email": f"Person{person.index}@Example.org", "name": f"Person {person.index}"}
        events.append(timeline.message("identify", timeline.tick(), userId=person.user_id, anonymousId=anon,
                                       traits=traits))  # fmt: skip
        events.append(_track(draw, timeline, timeline.tick(), userId=person.user_id))
    return events


def _new_identifier(draw: st.DrawFn, timeline: Timeline, person: Person) -> list[dict[str, Any]]:
    """An old person on a new device: a new anonymous id (and device id), tied to them when identified."""
    anon = f"anon-{person.index}-{len(person.anonymous_ids)}"
    person.anonymous_ids.append(anon)
    device = {"device": {"id": f"device-{person.index}-{len(person.anonymous_ids)}"}}
    events = [_track(draw, timeline, timeline.tick(), anonymousId=anon, context=device)]
    if person.identified:
        traits = {"phone": f"+1 555 01{person.index:02d}"} if draw(st.booleans()) else {"plan_tier": "gold"}
        events.append(timeline.message("identify", timeline.tick(), userId=person.user_id, anonymousId=anon,
                                       traits=traits))  # fmt: skip
    else:
        events.append(timeline.message("track", timeline.tick(), event="Logged In", anonymousId=anon,
                                       context={"device": {"id": f"device-{person.index}-1"}}))  # fmt: skip
    return events


def _merge(draw: st.DrawFn, timeline: Timeline, first: Person, second: Person) -> list[dict[str, Any]]:
    """Link two old profiles: an alias or identify joining one's ids to the other's, or a shared email
    (two identified people: the user-id limit then decides, on both sides alike)."""
    how = draw(st.sampled_from(["alias", "identify", "email"]))
    if how == "email":
        traits = {"email": f"Person{first.index}@Example.org"}
        return [timeline.message("identify", timeline.tick(), userId=second.user_id if second.identified else None,
                                 anonymousId=second.anonymous_ids[-1], traits=traits)]  # fmt: skip
    if how == "alias":
        second.identified = second.identified or first.identified
        return [timeline.message("alias", timeline.tick(), previousId=second.anonymous_ids[0],
                                 userId=first.user_id)]  # fmt: skip
    first.identified = True
    return [timeline.message("identify", timeline.tick(), userId=first.user_id,
                             anonymousId=second.anonymous_ids[-1])]  # fmt: skip


def _late(draw: st.DrawFn, timeline: Timeline, person: Person) -> list[dict[str, Any]]:
    """An event stamped days before the latest one, arriving only now."""
    at = timeline.now - dt.timedelta(days=draw(st.integers(1, 25)), minutes=draw(st.integers(0, 600)))
    who = {"userId": person.user_id} if person.identified and draw(st.booleans()) else {}
    return [
        _track(draw, timeline, max(at, T0 - dt.timedelta(days=5)), anonymousId=person.anonymous_ids[0], **who)
    ]


@st.composite
def event_batches(draw: st.DrawFn) -> list[list[dict[str, Any]]]:
    """A base of new people, then 2-3 batches each mixing every kind of change."""
    timeline = Timeline()
    base = [event for _ in range(draw(st.integers(4, 8))) for event in _new_person(draw, timeline)]
    batches = [base]
    for number in range(1, draw(st.integers(2, 3)) + 1):
        timeline.now = max(timeline.now, T0 + dt.timedelta(days=BATCH_DAYS * number))
        old = list(timeline.people)
        actions = ["new", "identifier", "merge", "late"]  # every batch has one of each, then random extras
        actions += draw(st.lists(st.sampled_from(actions), min_size=2, max_size=8))
        batch: list[dict[str, Any]] = []
        for action in draw(st.permutations(actions)):
            if action == "new":
                batch += _new_person(draw, timeline)
            elif action == "identifier":
                batch += _new_identifier(draw, timeline, draw(st.sampled_from(old)))
            elif action == "merge":
                first, second = draw(st.lists(st.sampled_from(old), min_size=2, max_size=2, unique_by=id))
                batch += _merge(draw, timeline, first, second)
            else:
                batch += _late(draw, timeline, draw(st.sampled_from(old)))
        batches.append(batch)
    return batches


class Warehouses:
    """Warehouse A (incremental builds) and B (full refreshes), each with its own home and dbt target.

    The homes stay the same across examples: the profile names the warehouse path, and a changed profile
    makes dbt parse the project again, so each side parses once for the whole test."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.incremental = DbtProjectRun(home=root / "incremental", target=root / "target-incremental")
        self.full = DbtProjectRun(home=root / "full", target=root / "target-full")

    def reset(self) -> None:
        """Empty both warehouses in place: dbt-duckdb may still hold the last one open in this process, and
        DuckDB hands a new connection to the same path that open instance, so deleting the file is not enough."""
        shutil.rmtree(self.root / "landing", ignore_errors=True)
        for project in (self.incremental, self.full):
            project.home.mkdir(parents=True, exist_ok=True)
            with duckdb.connect(str(project.warehouse)) as con:
                relations = con.execute(
                    "select schema_name, 'schema' from duckdb_schemas() where database_name = current_database()"
                    " and not internal and schema_name <> 'main' union all"
                    " select table_name, 'table' from duckdb_tables() where database_name = current_database()"
                    " and schema_name = 'main' union all"
                    " select view_name, 'view' from duckdb_views() where database_name = current_database()"
                    " and schema_name = 'main' and not internal"
                ).fetchall()
                for name, kind in relations:
                    con.execute(f'drop {kind} if exists "{name}" cascade')

    def land(self, number: int, batch: list[dict[str, Any]]) -> tuple[dt.date, Path]:
        day = (T0 + dt.timedelta(days=BATCH_DAYS * number)).date()
        path = self.root / "landing" / day.isoformat() / "web" / f"batch-{number}.jsonl"
        return day, write_lines(path, [line(body) for body in batch])


def _build(project: DbtProjectRun, *flags: str, exclude: tuple[str, ...] = ("test_type:unit",)) -> None:
    result = project.invoke(["build", *flags, "--exclude", *exclude])
    assert result.success, f"dbt build {' '.join(flags)} failed: {result.exception or _failures(result)}"


def _failures(result: Any) -> str:
    results = getattr(result.result, "results", None) or []
    return "; ".join(
        f"{r.node.name}: {r.status} {r.message}" for r in results if r.status not in ("success", "pass")
    )


def _mart_tables(project: DbtProjectRun) -> list[tuple[str, str]]:
    """(schema, table) of every model under models/marts and models/audiences (the per-audience tables),
    from the manifest dbt just wrote."""
    manifest = json.loads((project.target / "manifest.json").read_text())
    return sorted(
        (node["schema"], node["alias"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["fqn"][1] in ("marts", "audiences")
        and node["alias"] not in HISTORY_TABLES
    )


def _rows(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    columns = [
        row[0] for row in con.execute(f"describe {relation}").fetchall() if row[0] not in BUILD_TIME_COLUMNS
    ]
    quoted = ", ".join(f'"{column}"' for column in columns)
    return columns, sorted(con.execute(f"select {quoted} from {relation}").fetchall(), key=repr)


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9) or (
            math.isnan(left) and math.isnan(right)
        )
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    return left == right


def _marts(project: DbtProjectRun, tables: list[tuple[str, str]]) -> dict[str, tuple[list[str], list[tuple]]]:
    # One warehouse at a time, opened as DuckDB hands out dbt-duckdb's instance (it may still be open).
    with duckdb.connect(str(project.warehouse)) as con:
        return {table: _rows(con, f'"{schema}"."{table}"') for schema, table in tables}


def _differences(warehouses: Warehouses) -> dict[str, str]:
    tables = _mart_tables(warehouses.incremental)
    assert {"profiles", "identity_graph", "profile_merges", "profile_traits", "audience_membership"} <= {
        table for _, table in tables
    }
    incremental, full = _marts(warehouses.incremental, tables), _marts(warehouses.full, tables)
    differences: dict[str, str] = {}
    for _, table in tables:
        (columns, rows), (full_columns, full_rows) = incremental[table], full[table]
        if columns != full_columns:
            differences[table] = f"columns {columns} != {full_columns}"
        elif len(rows) != len(full_rows) or not all(map(_same, rows, full_rows)):
            only = [row for row in rows if row not in full_rows][:3]
            full_only = [row for row in full_rows if row not in rows][:3]
            differences[table] = (
                f"{len(rows)} rows vs {len(full_rows)}; columns {columns}; incremental only {only}; "
                f"full refresh only {full_only}"
            )
    return differences


def _explicit_batches() -> list[list[dict[str, Any]]]:
    """One of each change, written out: the case every run checks whatever Hypothesis draws."""
    timeline = Timeline()
    at = T0 + dt.timedelta(hours=1)
    base = [
        timeline.message("track", at, event="Product Viewed", anonymousId="anon-a", properties={"price": 3}),
        timeline.message("identify", at, userId="user-b", anonymousId="anon-b", traits={"email": "b@example.org"}),
        timeline.message("track", at, event="Order Completed", userId="user-b",
                         properties={"revenue": 40, "brand": "Nimbus"}),
    ]  # fmt: skip
    at = T0 + dt.timedelta(days=BATCH_DAYS)
    first = [
        # A link that merges two old profiles (anonymous a into identified b), an order a made 9 days
        # ago arriving late, and a new person.
        timeline.message("alias", at, previousId="anon-a", userId="user-b"),
        timeline.message("track", at - dt.timedelta(days=9), event="Order Completed", anonymousId="anon-a",
                         properties={"revenue": 15, "brand": "Bluepeak"}),
        timeline.message("track", at, event="Signed Up", anonymousId="anon-c", properties={"method": "email"}),
        timeline.message("identify", at, userId="user-c", anonymousId="anon-c", traits={"email": "c@example.org"}),
    ]  # fmt: skip
    at = T0 + dt.timedelta(days=2 * BATCH_DAYS)
    second = [
        # A new identifier for an old person, and a late support ticket for the merged profile.
        timeline.message("identify", at, userId="user-c", anonymousId="anon-c2", traits={"phone": "+1 555 0100"}),
        timeline.message("track", at - dt.timedelta(days=15), event="Support Ticket Opened", anonymousId="anon-a",
                         properties={"priority": "urgent"}),
    ]  # fmt: skip
    return [base, first, second]


EXPLICIT = _explicit_batches()


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouses]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CDP_AS_OF", AS_OF)
        yield Warehouses(tmp_path_factory.mktemp("incremental_vs_full"))


# About 40 s per example on two busy cores: the explicit one and two drawn ones.
@settings(
    max_examples=2,
    phases=[Phase.explicit, Phase.generate],
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(batches=event_batches())
@example(batches=EXPLICIT)
def test_incremental_builds_give_the_marts_of_a_full_refresh(
    warehouses: Warehouses, batches: list[list[dict[str, Any]]]
) -> None:
    warehouses.reset()
    for number, batch in enumerate(batches):
        day, path = warehouses.land(number, batch)
        loaded_at = LOADED + dt.timedelta(hours=number)
        for project in (warehouses.incremental, warehouses.full):
            with duckdb.connect(str(project.warehouse)) as con:
                result = load_partitions(con, {day: [path]}, now=loaded_at)
            assert (result.accepted, result.rejected) == (len(batch), 0)
        _build(warehouses.incremental)
        # The reference side skips the data tests too: the incremental side runs them on the tables under
        # test, and they are half of each build's time.
        _build(warehouses.full, "--full-refresh", exclude=("test_type:unit", "test_type:data"))
        differences = _differences(warehouses)
        assert not differences, f"after batch {number}: " + "\n".join(
            f"{t}: {d}" for t, d in differences.items()
        )
    if batches == EXPLICIT:  # the data did exercise a merge and the late events
        assert warehouses.incremental.query("select count(*) from profile_merges") == [(1,)]
        assert warehouses.incremental.query(
            "select event_count, order_count, support_ticket_count from profile_traits"
            " join identity_graph using (profile_id) where id_value = 'anon-a'"
        ) == [(6, 2, 1)]  # every message counts, the alias too
