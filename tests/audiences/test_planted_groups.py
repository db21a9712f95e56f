"""On the generator's data (the suite's demo run), audiences that describe planted groups find them:
precision and recall against the ground truth are at least 0.95 (printed with -s).

The shipped audiences (trial_support_inactive, abandoned_checkout, at_risk_key_accounts) are read from
audience_membership as built; the other groups are audience files a test adds to a copy of the project,
evaluated with the same compiled SQL `cdp audiences preview` runs (read-only)."""

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
    # A regular (7+ events) gone silent for 30 days, who is not a lapsed trial user.
    "churner": "{'all': [{'performed': '*', 'times': {'at_least': 7}}, {'did_not_perform': '*', 'window_days': 30}, "
    "{'not_in_audience': 'trial_support_inactive'}]}",
}
# Shipped audiences whose members the ground truth names (see expected_members).
SHIPPED = {"trial_never_subscribed": "trial_support_inactive", "abandoned_checkout": "abandoned_checkout",
           "at_risk_key_accounts": "at_risk_key_accounts"}  # fmt: skip


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
        for group, audience in SHIPPED.items():
            found[group] = {
                profile_id
                for (profile_id,) in con.execute(
                    "select profile_id from audience_membership where audience = ?", [audience]
                ).fetchall()
            }
    return found


def expected_members(con: duckdb.DuckDBPyConnection, ground_truth: Path, group: str) -> set[str]:
    """The persons the ground truth puts in `group`, at the moment the audiences were evaluated."""
    (evaluated_at,) = con.execute("select max(evaluated_at) from audience_sizes").fetchone()
    if group == "abandoned_checkout":
        # A checkout in the last 7 days with no order in the 24 hours after it (over by now), and an email.
        sql = f"""
            select distinct person_id from read_parquet('{ground_truth / "checkouts.parquet"}')
            where abandoned
                and started_at > cast(? as timestamptz) - interval 7 day
                and started_at + interval 24 hour <= cast(? as timestamptz)
                and person_id in (
                    select person_id from read_parquet('{ground_truth / "identifiers.parquet"}')
                    where id_type = 'email' and person_id is not null
                )
            """
        params = [evaluated_at, evaluated_at]
    elif group == "at_risk_key_accounts":
        # Everyone tied to an at-risk key account (over 3 tickets in the last month) spending over $1M.
        sql = f"""
            select members.person_id
            from read_parquet('{ground_truth / "account_members.parquet"}') as members
            inner join read_parquet('{ground_truth / "accounts.parquet"}') as accounts using (account_id)
            where accounts.at_risk and accounts.spend_usd > 1000000
            """
        params = []
    else:
        sql = f"select person_id from read_parquet('{ground_truth / 'persons.parquet'}') where list_contains(groups, ?)"
        params = [group]
    return {person for (person,) in con.execute(sql, params).fetchall()}


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


@pytest.mark.parametrize("group", [*SHIPPED, *PLANTED])
def test_audience_finds_the_planted_group(
    demo_runs: DemoRuns, planted_audiences: dict[str, set[str]], group: str
) -> None:
    with duckdb.connect(str(demo_runs.warehouse), read_only=True) as con:
        found = _people(con, demo_runs.ground_truth, planted_audiences[group])
        truth = expected_members(con, demo_runs.ground_truth, group)
    assert truth, f"the generator plants {group}"
    hits = len(found & truth)
    precision, recall = hits / max(len(found), 1), hits / len(truth)
    print(
        f"{group}: audience {len(found)}, planted {len(truth)}, precision {precision:.3f}, recall {recall:.3f}"
    )
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
