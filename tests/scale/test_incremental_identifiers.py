"""`int_identifiers_extracted` is incremental: each run extracts only the events that arrived since the
last one, and the table it keeps equals a full refresh of the same events."""

from __future__ import annotations

from tests.identity.conftest import DbtProjectRun, event, write_raw_events

SELECT = "+int_identifiers_extracted"
TABLE = "intermediate.int_identifiers_extracted"

FIRST = [
    event("a1", 0, user_id="u1", anonymous_id="anon-1", traits={"email": "One@Example.org"}),
    # An alias whose previous id has never been sent as an anonymous id: a legacy user id, for now.
    event("a2", 5, user_id="u2", previous_id="legacy-2", type="alias"),
    event("a3", 10, anonymous_id="anon-3", context={"device": {"id": "dev-3"}}),
]
SECOND = [
    # The alias's previous id now arrives as an anonymous id: the old alias event is extracted again.
    event("b1", 60, anonymous_id="legacy-2"),
    # A late event (an old timestamp arriving now) and a new identifier for an old person.
    event("b2", -600, user_id="u1", traits={"email": "second@example.org"}),
    event("b3", 61, user_id="u3", anonymous_id="anon-3"),
]


def _rows(project: DbtProjectRun) -> list[tuple]:
    return sorted(project.query(f"select * exclude (loaded_at) from {TABLE}"), key=repr)


def _differences(project: DbtProjectRun) -> int:
    (count,) = project.query(
        f"select count(*) from ((from {TABLE} except all from kept) union all (from kept except all from {TABLE}))"
    )[0]
    return count


def test_new_events_are_extracted_once_and_the_table_equals_a_full_refresh(
    identity_project: DbtProjectRun,
) -> None:
    write_raw_events(identity_project.warehouse, FIRST)
    identity_project.build(select=SELECT)
    (alias_type,) = identity_project.query(f"select id_type from {TABLE} where id_value = 'legacy-2'")[0]
    assert alias_type == "user_id"

    write_raw_events(identity_project.warehouse, SECOND, replace=False)
    identity_project.build(select=SELECT)
    incremental = _rows(identity_project)
    assert identity_project.query(
        f"select event_id, id_type, via_alias from {TABLE} where id_value = 'legacy-2' order by event_id"
    ) == [("a2", "anonymous_id", True), ("b1", "anonymous_id", False)]
    identity_project.query(f"create or replace table kept as from {TABLE}")

    assert identity_project.invoke(["run", "--select", "int_identifiers_extracted", "--full-refresh"]).success
    assert _rows(identity_project) == incremental
    assert _differences(identity_project) == 0  # loaded_at too


def test_a_change_of_identity_rules_extracts_every_event_again(identity_project: DbtProjectRun) -> None:
    write_raw_events(identity_project.warehouse, FIRST + SECOND)
    identity_project.build(select=SELECT)
    blocked = {"identity_blocked_values": ["u3", "anon-1"]}
    identity_project.build(select=SELECT, vars=blocked)  # nothing new arrived, but the rules changed
    assert identity_project.query(
        f"select id_value, blocked_by from {TABLE} where id_value in ('u3', 'anon-1') order by 1"
    ) == [("anon-1", "blocked_value"), ("u3", "blocked_value")]
    identity_project.query(f"create or replace table kept as from {TABLE}")
    result = identity_project.invoke(
        ["run", "--select", "int_identifiers_extracted", "--full-refresh"], vars=blocked
    )
    assert result.success
    assert _differences(identity_project) == 0
