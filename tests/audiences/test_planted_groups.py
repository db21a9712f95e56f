"""On the generator's data (the suite's demo run), audiences that describe planted groups find them:
precision and recall against the ground truth are at least 0.95.

The shipped trial_support_inactive audience is read from audience_membership as built; the other groups
are audience files a test adds to a copy of the project, evaluated with the same compiled SQL
`cdp audiences preview` runs (read-only)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.audience_catalog import audience_declarations
from orchestration.audience_explainer import _timestamp_literal, audience_members_sql
from tests.audiences.project_copy import add_audience, copy_project
from tests.conftest import DemoRuns

THRESHOLD = 0.95
PLANTED = {
    # group in the ground truth -> audience file describing it
    "support_heavy": "{'performed': 'Support Ticket Opened', 'times': {'at_least': 6}}",
    "big_spender": "{'all': [{'performed': 'Order Completed', 'times': {'at_least': 8}}, {'reachable': 'user_id'}]}",
}


@pytest.fixture(scope="module")
def planted_audiences(demo_runs: DemoRuns, tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    project = copy_project(tmp_path_factory.mktemp("planted") / "dbt_project")
    for group, conditions in PLANTED.items():
        add_audience(
            project,
            f"planted_{group}",
            f"{{{{ cdp.audience(description='{group}', conditions={conditions}) }}}}\n",
        )
    dbt = Path(sys.executable).parent / "dbt"
    subprocess.run(
        [str(dbt), "parse", "--quiet"],
        cwd=project,
        env={"PATH": str(dbt.parent), "CDP_HOME": str(project.parent), "HOME": str(project.parent),
             "DBT_PROFILES_DIR": str(project)},
        check=True,
        timeout=600,
    )  # fmt: skip
    declarations = audience_declarations(project / "target" / "manifest.json")
    found: dict[str, set[str]] = {}
    with duckdb.connect(str(demo_runs.warehouse), read_only=True) as con:
        (evaluated_at,) = con.execute("select max(evaluated_at) from audience_sizes").fetchone()
        for group in PLANTED:
            sql = audience_members_sql(declarations[f"planted_{group}"], _timestamp_literal(evaluated_at))
            found[group] = {profile_id for (profile_id,) in con.execute(sql).fetchall()}
        found["trial_never_subscribed"] = {
            profile_id
            for (profile_id,) in con.execute(
                "select profile_id from audience_membership where audience = 'trial_support_inactive'"
            ).fetchall()
        }
    return found


def _people(con: duckdb.DuckDBPyConnection, ground_truth: Path, profiles: set[str]) -> set[str]:
    """The person behind each profile: the one most of its identifiers belong to in the ground truth."""
    con.execute("create or replace temp table chosen (profile_id varchar)")
    con.executemany("insert into chosen values (?)", [(p,) for p in profiles])
    rows = con.execute(
        f"""
        with owned as (
            select graph.profile_id, truth.person_id, count(*) as identifiers
            from identity_graph as graph
            inner join read_parquet('{ground_truth / "identifiers.parquet"}') as truth using (id_type, id_value)
            where truth.person_id is not null and graph.profile_id in (select profile_id from chosen)
            group by all
        )
        select arg_max(person_id, identifiers) from owned group by profile_id
        """
    ).fetchall()
    return {person for (person,) in rows}


@pytest.mark.parametrize("group", ["trial_never_subscribed", *PLANTED])
def test_audience_finds_the_planted_group(
    demo_runs: DemoRuns, planted_audiences: dict[str, set[str]], group: str
) -> None:
    with duckdb.connect(str(demo_runs.warehouse), read_only=True) as con:
        found = _people(con, demo_runs.ground_truth, planted_audiences[group])
        truth = {
            person
            for (person,) in con.execute(
                f"select person_id from read_parquet('{demo_runs.ground_truth / 'persons.parquet'}') "
                "where list_contains(groups, ?)",
                [group],
            ).fetchall()
        }
    assert truth, f"the generator plants {group}"
    hits = len(found & truth)
    precision, recall = hits / max(len(found), 1), hits / len(truth)
    assert precision >= THRESHOLD and recall >= THRESHOLD, (group, len(found), len(truth), precision, recall)


def test_key_accounts_and_only_they_spend_over_a_million_a_year(demo_runs: DemoRuns) -> None:
    with duckdb.connect(str(demo_runs.warehouse), read_only=True) as con:
        rows = con.execute(
            f"""
            select truth.account_id, truth.key_account, traits.spend_365d > 1000000 as over_a_million
            from read_parquet('{demo_runs.ground_truth / "accounts.parquet"}') as truth
            inner join account_traits as traits using (account_id)
            """
        ).fetchall()
    over = {account for account, _, over_a_million in rows if over_a_million}
    key = {account for account, key_account, _ in rows if key_account}
    assert over, "some generated accounts must cross $1M of yearly spend"
    assert over <= key
