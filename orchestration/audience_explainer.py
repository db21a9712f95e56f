"""`cdp why` and `cdp audiences preview`: an audience's compiled conditions evaluated against the warehouse.

The SQL comes from the audience's declaration in the dbt manifest (see orchestration/audience_catalog.py),
the same SQL `int_audience_members_evaluated` runs, so the answer cannot disagree with the build. Every
query here is a read: the warehouse is opened read-only.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb

from orchestration.audience_catalog import (
    EVENT_FACTS,
    HISTORY,
    MEMBERSHIP,
    PROFILES,
    SIZES,
    TRAITS,
    AudienceDeclaration,
    fill_placeholders,
    render_query_refs,
)
from orchestration.explorer import (
    ExplorerError,
    Match,
    _existing_tables,
    _json_default,
    _rows,
    resolve_identifier,
)


@dataclass(frozen=True)
class ConditionCheck:
    path: str  # where the condition sits in the file's tree, e.g. conditions.all[1]
    kind: str  # trait, event, event_aggregate, funnel, audience, reachability, account
    label: str
    passed: bool
    values: dict[str, Any]  # the values that decided it: the trait, the event count, the step times ...
    description: str | None = None
    trait: str | None = None  # trait conditions: the trait's name
    actual: Any = None  # the first deciding value


@dataclass(frozen=True)
class AudienceExplanation:
    audience: str
    profile_id: str
    match: Match
    evaluated_at: Any  # the evaluation moment of the last build (conditions are checked at it)
    checks: list[ConditionCheck]
    qualifies: bool  # the conditions hold at evaluated_at on the warehouse as it is now
    is_member: bool  # in audience_membership as last built
    stays: list[dict[str, Any]] = field(default_factory=list)  # entered_at / exited_at, from history
    row: dict[str, Any] | None = None  # the audience_membership row (payload), if a member
    note: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=_json_default, indent=2)


def _timestamp_literal(value: Any) -> str:
    if isinstance(value, dt.datetime):
        value = value.isoformat(sep=" ")
    return f"cast('{value}' as timestamp)"


def last_evaluated_at(con: duckdb.DuckDBPyConnection, audience: str, tables: set[str]) -> Any:
    """The evaluation moment of the latest build of the audience (now, if it was never built)."""
    if SIZES in tables:
        found = con.execute(
            f"select evaluated_at from {SIZES} where audience = ? order by built_at desc limit 1", [audience]
        ).fetchone()
        if found:
            return found[0]
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _base(facts_relation: str) -> str:
    return (
        f"from {TRAITS} as traits "
        f"left join {facts_relation} as facts on facts.profile_id = traits.profile_id "
        f"left join {PROFILES} as profiles on profiles.profile_id = traits.profile_id"
    )


def _require_facts(
    con: duckdb.DuckDBPyConnection, declaration: AudienceDeclaration, tables: set[str]
) -> None:
    if not declaration.fact_columns:
        return
    if EVENT_FACTS not in tables:
        raise ExplorerError("int_audience_event_facts is not built yet: run `cdp run` first.")
    schema, table = EVENT_FACTS.split(".")
    built = {
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()
    }
    missing = [column for column in declaration.fact_columns if column not in built]
    if missing:
        raise ExplorerError(
            f"Audience '{declaration.name}' changed since the last build ({declaration.file}): run `cdp run` "
            f"to build it, or `cdp audiences preview {declaration.file}` to try it without building."
        )


def explain_audience(
    con: duckdb.DuckDBPyConnection,
    declaration: AudienceDeclaration,
    identifier: str,
    id_type: str | None = None,
) -> AudienceExplanation:
    """Each condition of the audience with the values that decided it, for the profile behind `identifier`."""
    match = resolve_identifier(con, identifier, id_type)
    profile_id = match.profile_id
    tables = _existing_tables(con)
    if TRAITS not in tables:
        raise ExplorerError("profile_traits is not built yet: run `cdp run` first.")
    evaluated_at = last_evaluated_at(con, declaration.name, tables)
    as_of = _timestamp_literal(evaluated_at)
    stays: list[dict[str, Any]] = []
    if HISTORY in tables:
        stays = _rows(
            con,
            f"select entered_at, exited_at from {HISTORY} where audience = ? and profile_id = ? "
            "order by entered_at desc",
            [declaration.name, profile_id],
        )
    row: dict[str, Any] | None = None
    if MEMBERSHIP in tables:
        found = _rows(
            con,
            f"select * from {MEMBERSHIP} where audience = ? and profile_id = ?",
            [declaration.name, profile_id],
        )
        row = found[0] if found else None
    is_member = row is not None

    if declaration.kind == "sql":
        query = render_query_refs(declaration.query or "")
        (qualifies,) = con.execute(
            f"select count(*) > 0 from ({query}) as hand_written where profile_id = ?", [profile_id]
        ).fetchone()
        return AudienceExplanation(
            declaration.name,
            profile_id,
            match,
            evaluated_at,
            [],
            bool(qualifies),
            is_member,
            stays,
            row,
            note="A hand-written SQL audience: its query decides, so there is no per-condition breakdown.",
        )

    _require_facts(con, declaration, tables)
    selects = []
    for position, check in enumerate(declaration.checks):
        selects.append(f"{fill_placeholders(check['sql'], as_of)} as passed_{position}")
        for number, sql in enumerate(check["values"].values()):
            selects.append(f"{fill_placeholders(sql, as_of)} as value_{position}_{number}")
    selects.append(
        f"coalesce({fill_placeholders(declaration.predicate or 'false', as_of)}, false) as qualifies"
    )
    found = _rows(
        con, f"select {', '.join(selects)} {_base(EVENT_FACTS)} where traits.profile_id = ?", [profile_id]
    )
    if not found:
        raise ExplorerError(f"Profile {profile_id} has no row in profile_traits yet: run `cdp run`.")
    values = found[0]
    checks = []
    for position, check in enumerate(declaration.checks):
        decided = {name: values[f"value_{position}_{number}"] for number, name in enumerate(check["values"])}
        checks.append(
            ConditionCheck(
                path=check["path"],
                kind=check["kind"],
                label=check["label"],
                passed=bool(values[f"passed_{position}"]),
                values=decided,
                description=check.get("description"),
                trait=next(iter(check["values"])) if check["kind"] == "trait" else None,
                actual=next(iter(decided.values()), None),
            )
        )
    return AudienceExplanation(
        declaration.name,
        profile_id,
        match,
        evaluated_at,
        checks,
        bool(values["qualifies"]),
        is_member,
        stays,
        row,
    )


def audience_members_sql(declaration: AudienceDeclaration, as_of_literal: str) -> str:
    """SQL selecting the profile ids of an audience evaluated now from its declaration, built or not."""
    if declaration.kind == "sql":
        return (
            f"select distinct profile_id from ({render_query_refs(declaration.query or '')}) as hand_written"
        )
    facts = (
        f"({fill_placeholders(declaration.facts_sql, as_of_literal)})"
        if declaration.facts_sql
        else EVENT_FACTS
    )
    predicate = fill_placeholders(declaration.predicate or "false", as_of_literal)
    return f"select traits.profile_id {_base(facts)} where {predicate}"


@dataclass(frozen=True)
class AudiencePreview:
    audience: str
    file: str
    evaluated_at: Any
    size: int
    profiles: int
    sample: list[dict[str, Any]]
    passing: list[dict[str, Any]]  # per condition: path, label, profiles passing it

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=_json_default, indent=2)


def preview_audience(
    con: duckdb.DuckDBPyConnection,
    declaration: AudienceDeclaration,
    facts_sql: str | None,
    sample: int = 10,
) -> AudiencePreview:
    """Size, a sample and per-condition pass counts of an audience evaluated now, writing nothing.

    `facts_sql` is the compiled `int_audience_event_facts` of a project holding the audience (so event
    facts the warehouse has not built yet are computed on the fly)."""
    tables = _existing_tables(con)
    if TRAITS not in tables:
        raise ExplorerError("profile_traits is not built yet: run `cdp run` first.")
    evaluated_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    (profiles,) = con.execute(f"select count(*) from {TRAITS}").fetchone()
    if declaration.kind == "sql":
        query = render_query_refs(declaration.query or "")
        members = f"select distinct profile_id from ({query}) as hand_written"
        (size,) = con.execute(f"select count(*) from ({members}) as m").fetchone()
        rows = _rows(con, f"select profile_id from ({members}) as m order by profile_id limit ?", [sample])
        return AudiencePreview(declaration.name, declaration.file, evaluated_at, size, profiles, rows, [])
    as_of = _timestamp_literal(evaluated_at)
    facts = f"({fill_placeholders(facts_sql, as_of)})" if facts_sql else EVENT_FACTS
    counts = [
        f"count(case when {fill_placeholders(check['sql'], as_of)} then 1 end) as passing_{position}"
        for position, check in enumerate(declaration.checks)
    ]
    predicate = fill_placeholders(declaration.predicate or "false", as_of)
    totals = _rows(
        con,
        f"select count(case when {predicate} then 1 end) as size{''.join(', ' + c for c in counts)} {_base(facts)}",
        [],
    )[0]
    rows = _rows(
        con,
        f"select traits.profile_id, profiles.user_id {_base(facts)} where {predicate} "
        "order by traits.profile_id limit ?",
        [sample],
    )
    passing = [
        {"path": check["path"], "label": check["label"], "profiles": totals[f"passing_{position}"]}
        for position, check in enumerate(declaration.checks)
    ]
    return AudiencePreview(
        declaration.name, declaration.file, evaluated_at, totals["size"], profiles, rows, passing
    )
