"""Fixtures for identity resolution: small hand-made event sets in a real DuckDB warehouse, built by real dbt."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dbt.cli.main import dbtRunner, dbtRunnerResult

from orchestration.ingestion.schema import ensure_ingestion_tables
from orchestration.settings import DBT_PROJECT_DIR
from tests.conftest import cdp_home

IDENTITY_MODELS = "+identity_graph +profiles +profile_merges +identity_dropped_edges +identity_dropped_identifiers +identity_largest_components +int_events_resolved"
T0 = dt.datetime(2026, 1, 1)


def event(
    message_id: str,
    minutes: int,
    *,
    user_id: str | None = None,
    anonymous_id: str | None = None,
    previous_id: str | None = None,
    type: str = "track",
    traits: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    properties: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One Segment-spec event as raw_events stores it, `minutes` after T0."""
    return {
        "message_id": message_id,
        "type": type,
        "event": "Test Event" if type == "track" else None,
        "user_id": user_id,
        "anonymous_id": anonymous_id,
        "previous_id": previous_id,
        "timestamp": T0 + dt.timedelta(minutes=minutes),
        "traits": json.dumps(traits) if traits is not None else None,
        "context": json.dumps(context or {}),
        "properties": json.dumps(properties or {}),
    }


def write_raw_events(warehouse: Path, events: Sequence[dict[str, Any]], replace: bool = True) -> None:
    """Load `events` into raw_events with one set-based insert (the loader's own table definition)."""
    rows = [
        (
            e["message_id"], e["type"], e["event"], e["user_id"], e["anonymous_id"], e["previous_id"],
            e["timestamp"], e["properties"], e["traits"], e["context"],
        )
        for e in events
    ]  # fmt: skip
    with duckdb.connect(str(warehouse)) as con:
        ensure_ingestion_tables(con)
        if replace:
            con.execute("delete from raw_events")
        con.execute(
            "create temp table incoming (message_id varchar, type varchar, event varchar, user_id varchar,"
            " anonymous_id varchar, previous_id varchar, ts timestamp, properties json, traits json, context json)"
        )
        con.executemany("insert into incoming values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        con.execute(
            """
            insert into raw_events (message_id, type, event, user_id, anonymous_id, previous_id, "timestamp",
                received_at, properties, traits, context, source, event_date, source_file, loaded_at)
            select message_id, type, event, user_id, anonymous_id, previous_id, ts, ts, properties, traits,
                context, 'test', cast(ts as date), 'test.jsonl', now()
            from incoming
            """
        )


@dataclass
class DbtProjectRun:
    """Runs dbt in process against one CDP_HOME, with its own target folder (parallel sessions never collide)."""

    home: Path
    target: Path

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    def invoke(self, args: Sequence[str], vars: dict[str, Any] | None = None) -> dbtRunnerResult:
        cli = [*args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
        cli += ["--target-path", str(self.target), "--log-path", str(self.target / "logs"), "--quiet"]
        if vars:
            cli += ["--vars", json.dumps(vars)]
        with cdp_home(self.home):
            return dbtRunner().invoke(cli)

    def build(self, select: str = IDENTITY_MODELS, vars: dict[str, Any] | None = None) -> None:
        result = self.invoke(
            ["build", "--select", select, "--exclude", "test_type:unit", "--indirect-selection", "cautious"],
            vars,
        )
        assert result.success, f"dbt build failed: {result.exception or _failures(result)}"

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        # Same configuration as dbt-duckdb's cached in-process connection, which DuckDB requires.
        with duckdb.connect(str(self.warehouse)) as con:
            return con.execute(sql).fetchall()


def _failures(result: dbtRunnerResult) -> str:
    if result.result is None or not hasattr(result.result, "results"):
        return "no results"
    return "; ".join(
        f"{r.node.name}: {r.status} {r.message}"
        for r in result.result.results
        if r.status not in ("success", "pass")
    )


@pytest.fixture(scope="session")
def dbt_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One dbt target folder for the identity tests, so partial parsing is shared between them."""
    return tmp_path_factory.mktemp("identity_dbt_target")


@pytest.fixture
def identity_project(tmp_path: Path, dbt_target: Path) -> DbtProjectRun:
    return DbtProjectRun(home=tmp_path, target=dbt_target)
