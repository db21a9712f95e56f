"""Fixtures for reverse-ETL tests: a real DuckDB warehouse file with an `audience_membership` table."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from reverse_etl.config import DestinationConfig, build_destination
from reverse_etl.destinations.base import Destination
from tests.reverse_etl.pg_cluster import postgres_bin, throwaway_postgres

AUDIENCE = "vip"

# Fast retries for tests; production defaults are in DeliverySettings.
FAST_RETRIES = {"initial_backoff_seconds": 0.01, "max_backoff_seconds": 0.05, "timeout_seconds": 2}


def create_audience(con: duckdb.DuckDBPyConnection, members: int, audience: str = AUDIENCE) -> None:
    """`members` people p000000.. with email, user_id and a plan; replaces any previous membership."""
    con.execute(
        f"""
        create or replace table audience_membership as
        select
            '{audience}' as audience,
            'p' || lpad(cast(i as varchar), 6, '0') as profile_id,
            timestamp '2026-01-01' + to_minutes(cast(i as bigint)) as entered_at,
            'user' || i || '@example.com' as email,
            'u' || i as user_id,
            case when i % 3 = 0 then 'pro' else 'free' end as plan
        from range({members}) as t(i)
        """
    )


def expected_members(con: duckdb.DuckDBPyConnection, audience: str = AUDIENCE) -> dict[str, dict[str, Any]]:
    """What a mirror of the audience should hold: key -> payload (every column but audience/entered_at)."""
    rows = con.execute(
        "select profile_id, to_json(struct_pack(profile_id, email, user_id, plan)) "
        "from audience_membership where audience = ?",
        [audience],
    ).fetchall()
    return {key: orjson.loads(payload) for key, payload in rows}


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield con
    con.close()


@pytest.fixture
def make_destination() -> Iterator[Callable[..., Destination]]:
    """Build a destination from the same settings a destinations.yml would hold (fast retries)."""
    made: list[Destination] = []

    def make(name: str = "dest", **settings: Any) -> Destination:
        destination = build_destination(name, DestinationConfig.model_validate({**FAST_RETRIES, **settings}))
        made.append(destination)
        return destination

    yield make
    for destination in made:
        destination.close()


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (Debian's server binaries; CI installs them)."""
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not installed (.ci/run installs Debian's postgresql)")
    with throwaway_postgres(bindir) as dsn:
        yield dsn
