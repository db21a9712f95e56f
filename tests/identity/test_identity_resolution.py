"""Identity resolution end to end through real dbt builds: stable ids, merges, shared devices, convergence."""

from __future__ import annotations

from tests.identity.conftest import DbtProjectRun, event, write_raw_events

AS_OF = {"as_of": "2026-02-01T00:00:00"}

FIRST_DAY = [
    # Alice browses, then logs in on the shared family tablet first.
    event("a1", 0, anonymous_id="cookie-alice", context={"device": {"id": "TABLET"}}),
    event(
        "a2",
        5,
        anonymous_id="cookie-alice",
        user_id="alice",
        type="identify",
        traits={"email": "Alice@X.com "},
    ),
    event("a3", 6, user_id="alice", context={"device": {"id": "TABLET"}}),
    # Bob logs in on the same tablet later: the tablet stays Alice's, Bob stays Bob.
    event("b1", 60, anonymous_id="cookie-bob", user_id="bob", type="identify", traits={"email": "bob@y.com"}),
    event("b2", 61, user_id="bob", context={"device": {"id": "TABLET"}}),
    # Carol is anonymous on her phone so far.
    event("c1", 90, anonymous_id="phone-carol", traits={"email": "carol@z.com"}, type="identify"),
    event("c2", 91, anonymous_id="laptop-carol"),
    # A buggy client sends a junk user id: it must not glue anyone together.
    event("j1", 95, anonymous_id="cookie-bob", user_id="undefined"),
    event("j2", 96, anonymous_id="laptop-carol", user_id="undefined"),
]

SECOND_DAY = [
    # Carol logs in on her laptop with her email: her phone profile and laptop profile merge.
    event(
        "c3",
        1500,
        anonymous_id="laptop-carol",
        user_id="carol",
        type="identify",
        traits={"email": "carol@z.com"},
    ),
    # Alice shows up with a new cookie: a new identifier joins her profile.
    event("a4", 1600, anonymous_id="cookie-alice-2", user_id="alice"),
]


def profile_of(project: DbtProjectRun, id_type: str, id_value: str) -> str:
    rows = project.query(
        f"select profile_id from identity_graph where id_type = '{id_type}' and id_value = '{id_value}'"
    )
    assert len(rows) == 1, f"{id_type}:{id_value} should be in identity_graph once"
    return rows[0][0]


def test_profiles_are_stable_merges_are_recorded_and_shared_devices_do_not_merge(
    identity_project: DbtProjectRun, tmp_path_factory
) -> None:
    write_raw_events(identity_project.warehouse, FIRST_DAY)
    identity_project.build(vars=AS_OF)

    alice = profile_of(identity_project, "user_id", "alice")
    bob = profile_of(identity_project, "user_id", "bob")
    assert alice != bob, "a shared tablet must not merge Alice and Bob"
    assert profile_of(identity_project, "device_id", "TABLET") == alice, (
        "the earlier-seen link wins the tablet"
    )
    assert profile_of(identity_project, "email", "alice@x.com") == alice
    assert profile_of(identity_project, "anonymous_id", "cookie-bob") == bob
    carol_phone = profile_of(identity_project, "anonymous_id", "phone-carol")
    carol_laptop = profile_of(identity_project, "anonymous_id", "laptop-carol")
    assert carol_phone != carol_laptop, "nothing links Carol's phone and laptop yet"
    assert identity_project.query("select count(*) from identity_graph where id_value = 'undefined'") == [
        (0,)
    ]
    dropped = identity_project.query(
        "select rule from identity_dropped_edges where id_value_a = 'TABLET' or id_value_b = 'TABLET'"
    )
    assert dropped == [("limit:user_id",)], "Bob's link to the tablet is dropped and says why"
    assert identity_project.query(
        "select rule from identity_dropped_identifiers where id_type = 'user_id' and id_value = 'undefined'"
    ) == [("blocked_value",)]
    assert identity_project.query("select count(*) from profile_merges") == [(0,)]
    events_columns = {row[0] for row in identity_project.query("describe staging.stg_cdp__events")}
    resolved_columns = {row[0] for row in identity_project.query("describe intermediate.int_events_resolved")}
    assert resolved_columns == events_columns | {"profile_id"}
    assert identity_project.query(
        "select email, user_id from profiles where profile_id = ?".replace("?", f"'{alice}'")
    ) == [("alice@x.com", "alice")]

    # A second build with nothing new changes no id.
    before = set(identity_project.query("select id_type, id_value, profile_id from identity_graph"))
    identity_project.build(vars=AS_OF)
    assert set(identity_project.query("select id_type, id_value, profile_id from identity_graph")) == before

    write_raw_events(identity_project.warehouse, FIRST_DAY + SECOND_DAY)
    identity_project.build(vars=AS_OF)
    assert profile_of(identity_project, "user_id", "alice") == alice, "a new identifier joining keeps the id"
    assert profile_of(identity_project, "anonymous_id", "cookie-alice-2") == alice
    assert profile_of(identity_project, "user_id", "bob") == bob
    carol = profile_of(identity_project, "user_id", "carol")
    assert carol == profile_of(identity_project, "anonymous_id", "phone-carol")
    assert carol in {carol_phone, carol_laptop}, "the survivor keeps one of the previous ids"
    absorbed = ({carol_phone, carol_laptop} - {carol}).pop()
    merges = identity_project.query("select from_profile_id, to_profile_id, reason from profile_merges")
    assert len(merges) == 1
    from_id, to_id, reason = merges[0]
    assert (from_id, to_id) == (absorbed, carol)
    assert reason.split(":", 1)[0] in {"email", "user_id", "anonymous_id"} and reason.split(":", 1)[1] in {
        "carol@z.com", "carol", "laptop-carol", "phone-carol"
    }  # fmt: skip

    # A rebuild from scratch is deterministic: a fresh warehouse with the first day's events gives the first ids.
    fresh = DbtProjectRun(home=tmp_path_factory.mktemp("fresh"), target=identity_project.target)
    write_raw_events(fresh.warehouse, FIRST_DAY)
    fresh.build(vars=AS_OF)
    assert set(fresh.query("select id_type, id_value, profile_id from identity_graph")) == before


def test_build_fails_when_rounds_run_out_before_every_edge_is_contracted(
    identity_project: DbtProjectRun,
) -> None:
    # A 40-identifier alias chain cannot be contracted in one round: the build must fail, not under-merge.
    chain = [
        event(f"e{i}", i, anonymous_id=f"anon-{i + 1}", previous_id=f"anon-{i}", type="alias")
        for i in range(40)
    ]
    write_raw_events(identity_project.warehouse, chain)
    result = identity_project.invoke(
        ["build", "--select", "+int_identity_components", "--exclude", "test_type:unit"],
        vars={**AS_OF, "identity_max_rounds": 1},
    )
    assert not result.success
    failed = {r.node.name for r in result.result.results if r.status in ("fail", "error")}
    assert any("int_identity_components" in name for name in failed), failed
