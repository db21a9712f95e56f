"""profile_traits built by real dbt runs on a small hand-written warehouse, in a copy of the project."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.conftest import cdp_home
from tests.traits.conftest import BuiltProject, copy_project, parse_project


def declared_unit_tests(project: Path) -> set[str]:
    """unique_id of every unit test the project's YAML declares (dbt names them unit_test.<project>.<model>.<name>)."""
    name = yaml.safe_load((project / "dbt_project.yml").read_text())["name"]
    declared = set()
    for path in sorted((project / "models").rglob("*.yml")):
        for test in (yaml.safe_load(path.read_text()) or {}).get("unit_tests", []):
            declared.add(f"unit_test.{name}.{test['model']}.{test['name']}")
    return declared


def traits_by_email(built: BuiltProject) -> dict[str, dict[str, object]]:
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        relation = con.sql(
            "select profiles.email, profile_traits.* from profile_traits "
            "inner join profiles using (profile_id) order by profiles.email"
        )
        return {row[0]: dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()}


def test_build_passes_every_model_data_test_and_unit_test(built_project: BuiltProject) -> None:
    failures = [r["unique_id"] for r in built_project.build_results if r["status"] not in ("success", "pass")]
    assert built_project.result.returncode == 0, built_project.result.stdout[-3000:]
    assert not failures
    ran = {
        r["unique_id"]: r["status"]
        for r in built_project.build_results
        if r["unique_id"].startswith("unit_test.")
    }
    declared = declared_unit_tests(built_project.project)
    assert len(declared) >= 2 and {"profile_traits", "int_identity_edges"} <= {
        u.split(".")[2] for u in declared
    }
    assert ran == dict.fromkeys(declared, "pass")
    assert built_project.events_loaded == 11


def test_new_yaml_trait_and_new_sql_trait_become_columns(built_project: BuiltProject) -> None:
    traits = traits_by_email(built_project)
    ann = traits["ann@example.com"]
    # Ann viewed 3 products (2 on the web, 1 on her phone), 2 of them in the 7 days before 2026-03-01.
    assert ann["product_views_7d"] == 2
    assert ann["engagement_score"] == 3 + 10 * 2
    # The SQL trait reads a model profile_traits did not read before: dbt orders the build after it.
    with duckdb.connect(str(built_project.warehouse), read_only=True) as con:
        (identifiers,) = con.execute(
            "select count(*) from identity_graph where profile_id = ?", [ann["profile_id"]]
        ).fetchone()
    assert ann["known_identifiers"] == identifiers >= 4
    assert traits["bob@example.com"]["product_views_7d"] == 0
    # The declaration's description documents the column in the warehouse (and so in dbt docs' catalog).
    with duckdb.connect(str(built_project.warehouse), read_only=True) as con:
        (comment,) = con.execute(
            "select comment from duckdb_columns() where table_name = 'profile_traits' "
            "and column_name = 'product_views_7d'"
        ).fetchone()
    assert comment == "Products viewed in the last 7 days."


def test_docs_show_every_trait_with_its_description(built_project: BuiltProject) -> None:
    assert built_project.docs.returncode == 0, built_project.docs.stdout[-3000:]
    target = built_project.project / "target"
    model = json.loads((target / "manifest.json").read_text())["nodes"]["model.cdp.profile_traits"]
    columns = json.loads((target / "catalog.json").read_text())["nodes"]["model.cdp.profile_traits"][
        "columns"
    ]
    # Declared in YAML only: listed in the model description, described in the catalog.
    assert "product_views_7d" in model["description"]
    assert columns["product_views_7d"]["comment"] == "Products viewed in the last 7 days."
    # Shipped traits also carry column docs and tests in _traits__models.yml.
    assert model["columns"]["lifetime_value"]["description"]
    assert "engagement_score" in columns


def test_events_from_every_identifier_of_a_person_count_once(built_project: BuiltProject) -> None:
    ann = traits_by_email(built_project)["ann@example.com"]
    # One order as usr_ann, one from the phone's anonymous id that only an email links to her.
    assert ann["order_count"] == 2
    assert float(ann["lifetime_value"]) == pytest.approx(150.5)
    assert ann["brands_purchased"] == ["acme", "zeta"]
    assert ann["event_count"] == 6
    # Identify traits: the latest non-null value of each key.
    assert ann["first_name"] == "Ann"


def test_trial_user_who_went_quiet_is_in_the_demo_audience(built_project: BuiltProject) -> None:
    bob = traits_by_email(built_project)["bob@example.com"]
    assert (bob["has_started_trial"], bob["support_ticket_count"], bob["has_subscribed"]) == (True, 2, False)
    assert bob["days_since_last_seen"] == 40
    assert bob["urgent_support_tickets_90d"] == 1
    assert bob["is_trial"] is True
    with duckdb.connect(str(built_project.warehouse), read_only=True) as con:
        members = con.execute(
            "select profiles.email from audience_membership inner join profiles using (profile_id) "
            "where audience = 'trial_support_inactive'"
        ).fetchall()
    assert members == [("bob@example.com",)]


def test_profile_without_commerce_gets_zero_counts_and_null_values(built_project: BuiltProject) -> None:
    with duckdb.connect(str(built_project.warehouse), read_only=True) as con:
        relation = con.sql(
            "select profile_traits.* from profile_traits inner join identity_graph using (profile_id) "
            "where identity_graph.id_type = 'device_id' and identity_graph.id_value = 'CLEO-IDFV'"
        )
        cleo = dict(zip(relation.columns, relation.fetchall()[0], strict=True))
    assert (cleo["order_count"], cleo["lifetime_value"], cleo["has_subscribed"]) == (0, 0, False)
    assert cleo["favorite_brand"] is None and cleo["avg_order_value"] is None


BAD_DECLARATIONS = [
    ({"name": "vip", "type": "counterr", "event": "Order Completed", "description": "d"}, "'type'"),
    ({"name": "orders", "type": "counter", "description": "d"}, "'event'"),
    ({"name": "spend", "type": "sum", "event": "Order Completed", "description": "d"}, "'property'"),
    (
        {
            "name": "recent",
            "type": "counter",
            "event": "Order Completed",
            "window_days": "ninety",
            "description": "d",
        },
        "'window_days'",
    ),
]


@pytest.fixture(scope="module")
def pristine_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("pristine") / "dbt_project")


@pytest.mark.parametrize(
    ("declaration", "field"), BAD_DECLARATIONS, ids=[d["name"] for d, _ in BAD_DECLARATIONS]
)
def test_bad_declaration_fails_the_build_naming_trait_and_field(
    pristine_project: Path, tmp_path: Path, declaration: dict[str, object], field: str
) -> None:
    with cdp_home(tmp_path):
        result = parse_project(pristine_project, "--vars", json.dumps({"traits": [declaration]}))
    assert not result.success
    message = str(result.exception)
    assert f"'{declaration['name']}'" in message and field in message, message
