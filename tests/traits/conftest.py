"""A copy of the dbt project with one more YAML trait and one more SQL trait, built once against a small
warehouse of hand-written Segment events (three people, several identifiers each)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dbt.cli.main import dbtRunner, dbtRunnerResult

from orchestration.ingestion.loader import load_files
from orchestration.settings import DBT_PROJECT_DIR
from tests.conftest import cdp_home

AS_OF = "2026-03-01 00:00:00"

# What an analyst writes to add a trait: one entry in the `traits` var ...
NEW_YAML_TRAIT = (
    "    - {name: product_views_7d, type: counter, event: Product Viewed, window_days: 7,\n"
    '       description: "Products viewed in the last 7 days.", accepted_range: {min: 0}}\n'
)
# ... or one SQL file defining a `sql_trait__*` macro keyed by profile_id.
NEW_SQL_TRAIT = """\
{% macro sql_trait__engagement_score() %}
with

activity as (

    select
        profile_id,
        count(case when event_name = 'Product Viewed' then 1 end)
            + 10 * count(case when event_name = 'Order Completed' then 1 end) as engagement_score
    from {{ ref('int_events_resolved') }}
    group by profile_id

),

identifiers as (

    select profile_id, count(*) as known_identifiers
    from {{ ref('identity_graph') }}
    group by profile_id

)

select activity.profile_id, activity.engagement_score, identifiers.known_identifiers
from activity
inner join identifiers on identifiers.profile_id = activity.profile_id
{% endmacro %}
"""


def message(kind: str, at: str, **fields: Any) -> dict[str, Any]:
    """One Segment message with the fields the spec requires."""
    body = {"type": kind, "messageId": f"{kind}-{at}-{len(json.dumps(fields))}", "timestamp": at}
    body.update({"receivedAt": at, "sentAt": at, "originalTimestamp": at, "context": {}})
    body.update(fields)
    return body


# Ann browses anonymously, identifies (mixed-case email), orders as a user and from her phone (anonymous).
# Bob started a trial, opened tickets and went quiet 40 days ago. Cleo only ever used one iPhone.
EVENTS: list[tuple[str, dict[str, Any]]] = [
    (
        "web",
        message(
            "track",
            "2026-02-20T10:00:00.000Z",
            anonymousId="anon-ann",
            event="Product Viewed",
            properties={"brand": "acme", "price": 20},
        ),
    ),
    (
        "web",
        message(
            "identify",
            "2026-02-20T10:05:00.000Z",
            anonymousId="anon-ann",
            userId="usr_ann",
            traits={"email": " Ann@Example.com ", "firstName": "Ann", "plan": "trial"},
        ),
    ),
    (
        "web",
        message(
            "track",
            "2026-02-25T09:00:00.000Z",
            anonymousId="anon-ann",
            event="Product Viewed",
            properties={"brand": "zeta", "price": 35},
        ),
    ),
    (
        "billing",
        message(
            "track",
            "2026-02-25T09:30:00.000Z",
            userId="usr_ann",
            event="Order Completed",
            properties={"order_id": "o1", "revenue": 120.5, "brand": "acme"},
        ),
    ),
    (
        "ios",
        message(
            "track",
            "2026-02-27T18:00:00.000Z",
            anonymousId="ANON-ANN-PHONE",
            event="Order Completed",
            properties={"order_id": "o2", "revenue": 30, "brand": "zeta"},
            context={"traits": {"email": "ann@example.com"}},
        ),
    ),
    (
        "ios",
        message(
            "track",
            "2026-02-28T08:00:00.000Z",
            anonymousId="ANON-ANN-PHONE",
            event="Product Viewed",
            properties={"brand": "acme"},
        ),
    ),
    (
        "web",
        message(
            "track",
            "2026-01-10T10:00:00.000Z",
            userId="usr_bob",
            event="Trial Started",
            properties={"plan": "trial", "trial_days": 14},
        ),
    ),
    (
        "support",
        message(
            "track",
            "2026-01-15T10:00:00.000Z",
            anonymousId="tkt-1",
            event="Support Ticket Opened",
            properties={"ticket_id": "t1", "priority": "urgent"},
            context={"traits": {"email": "bob@example.com"}},
        ),
    ),
    (
        "web",
        message(
            "identify",
            "2026-01-16T10:00:00.000Z",
            userId="usr_bob",
            traits={"email": "bob@example.com", "firstName": "Bob"},
        ),
    ),
    (
        "support",
        message(
            "track",
            "2026-01-20T10:00:00.000Z",
            anonymousId="tkt-2",
            event="Support Ticket Opened",
            properties={"ticket_id": "t2", "priority": "low"},
            context={"traits": {"email": "bob@example.com"}},
        ),
    ),
    (
        "ios",
        message(
            "screen",
            "2026-02-10T07:00:00.000Z",
            anonymousId="CLEO-INSTALL",
            name="Home",
            context={"device": {"id": "CLEO-IDFV"}},
        ),
    ),
]


def write_and_load_events(warehouse: Path, folder: Path) -> int:
    """Write the events as NDJSON files (one per day and source) and load them like `cdp ingest` does."""
    by_file: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for source, body in EVENTS:
        by_file.setdefault((body["timestamp"][:10], source), []).append(body)
    loaded = 0
    with duckdb.connect(str(warehouse)) as con:
        for (day, source), bodies in sorted(by_file.items()):
            path = folder / day / source / "events-0001.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(body) + "\n" for body in bodies))
            loaded += load_files(con, [path], dt.date.fromisoformat(day)).accepted
    return loaded


def copy_project(target: Path) -> Path:
    shutil.copytree(
        DBT_PROJECT_DIR, target, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml")
    )
    return target


def add_yaml_trait(project: Path, entry: str) -> None:
    """Insert one entry at the top of the `traits:` list in dbt_project.yml."""
    config = project / "dbt_project.yml"
    text = config.read_text()
    assert "\n  traits:\n" in text, "dbt_project.yml has no `traits:` var"
    config.write_text(text.replace("\n  traits:\n", "\n  traits:\n" + entry, 1))


def parse_project(project: Path, *args: str) -> dbtRunnerResult:
    """`dbt parse` in process (it opens no warehouse connection, and skips a interpreter start)."""
    return dbtRunner().invoke(["parse", *args, "--project-dir", str(project), "--profiles-dir", str(project)])


def run_dbt(project: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """A dbt command in its own process, as dagster-dbt runs it (dbt-duckdb keeps its connection open for
    the life of the process, which would lock readers out)."""
    dbt = Path(sys.executable).parent / "dbt"
    return subprocess.run(
        [str(dbt), *command, "--project-dir", str(project), "--profiles-dir", str(project)],
        capture_output=True,
        text=True,
        check=False,
    )


@dataclass(frozen=True)
class BuiltProject:
    project: Path
    home: Path
    result: subprocess.CompletedProcess[str]
    events_loaded: int
    build_results: list[dict[str, Any]]  # run_results.json of the build
    docs: subprocess.CompletedProcess[str]  # `dbt docs generate` after the build

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"


@pytest.fixture(scope="session")
def built_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltProject]:
    """The project copy with one new YAML trait and one new SQL trait, `dbt build` run once at AS_OF."""
    root = tmp_path_factory.mktemp("traits")
    project = copy_project(root / "dbt_project")
    add_yaml_trait(project, NEW_YAML_TRAIT)
    (project / "macros" / "traits" / "sql" / "engagement_score.sql").write_text(NEW_SQL_TRAIT)
    home = root / "cdp_home"
    home.mkdir()
    with cdp_home(home):
        loaded = write_and_load_events(home / "warehouse.duckdb", root / "events")
        as_of = json.dumps({"as_of": AS_OF})
        result = run_dbt(project, "build", "--vars", as_of)
        build_results = json.loads((project / "target" / "run_results.json").read_text())["results"]
        docs = run_dbt(project, "docs", "generate", "--vars", as_of)
        yield BuiltProject(project, home, result, loaded, build_results, docs)
