"""The audiences the dbt project declares: one model per file under dbt_project/models/audiences/.

Each audience file calls `cdp.audience(...)`, which checks the declaration while dbt parses and keeps it,
compiled, in the model's `meta.audience`. This module reads those declarations from the dbt manifest, so
the CLI (`cdp why`, `cdp audiences`), the Dagster assets and the reverse-ETL guards all see the same list.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Tables the compiled audience SQL reads, by the alias or placeholder it uses.
TRAITS = "main.profile_traits"
PROFILES = "main.profiles"
EVENT_FACTS = "intermediate.int_audience_event_facts"
MEMBERSHIP = "main.audience_membership"
ACCOUNT_LINKS = "main.profile_accounts"
ACCOUNT_TRAITS = "main.account_traits"
SIZES = "main.audience_sizes"
RESOLVED_EVENTS = "intermediate.int_events_resolved"
HISTORY = "main.audience_membership_history"

_MEMBER = re.compile(r"@@member:([a-z0-9_]+)@@")


@dataclass(frozen=True)
class AudienceDeclaration:
    """One audience as its file declares it, with the SQL its conditions compile to."""

    name: str
    file: str
    description: str
    kind: str  # "conditions" (declared) or "sql" (hand-written query)
    predicate: str | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)
    facts: list[dict[str, Any]] = field(default_factory=list)
    funnels: list[dict[str, Any]] = field(default_factory=list)
    audiences: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    payload: list[str] = field(default_factory=list)
    query: str | None = None
    facts_sql: str | None = None  # this audience's event facts computed from the events, unbuilt

    @property
    def fact_columns(self) -> list[str]:
        """The columns of int_audience_event_facts this audience reads."""
        columns = [fact["column"] for fact in self.facts]
        for funnel in self.funnels:
            column = funnel["column"]
            columns += [column, f"{column}_first_at", f"{column}_then_at"]
        return columns


def audience_declarations(manifest_path: Path) -> dict[str, AudienceDeclaration]:
    """Every audience in the manifest, by name."""
    manifest = json.loads(manifest_path.read_text())
    found: dict[str, AudienceDeclaration] = {}
    for node in manifest["nodes"].values():
        if node.get("resource_type") != "model":
            continue
        spec = ((node.get("config") or {}).get("meta") or {}).get("audience")
        if not spec:
            continue
        found[node["name"]] = AudienceDeclaration(
            name=node["name"],
            file=spec.get("file", node.get("original_file_path", "")),
            description=spec.get("description", ""),
            kind=spec.get("kind", "conditions"),
            predicate=spec.get("predicate"),
            checks=list(spec.get("checks") or []),
            facts=list(spec.get("facts") or []),
            funnels=list(spec.get("funnels") or []),
            audiences=list(spec.get("audiences") or []),
            events=list(spec.get("events") or []),
            payload=list(spec.get("payload") or []),
            query=spec.get("query"),
            facts_sql=spec.get("facts_sql"),
        )
    return dict(sorted(found.items()))


def known_audiences(manifest_path: Path | None = None) -> set[str]:
    """Names of the audiences the project declares now (a sync naming any other is refused)."""
    if manifest_path is None:
        from orchestration.defs.project import ensure_manifest

        manifest_path = ensure_manifest().manifest_path
    return set(audience_declarations(manifest_path))


def fill_placeholders(sql: str, as_of_literal: str, membership: str = MEMBERSHIP) -> str:
    """The compiled SQL of a condition, ready to run against the warehouse outside dbt: the evaluation
    moment of the last build, membership of other audiences as they were last built."""
    filled = (
        sql.replace("@@as_of@@", as_of_literal)
        .replace("@@events@@", RESOLVED_EVENTS)
        .replace("@@profiles@@", PROFILES)
        .replace("@@account_links@@", ACCOUNT_LINKS)
        .replace("@@account_traits@@", ACCOUNT_TRAITS)
    )
    return _MEMBER.sub(
        lambda match: (
            f"exists (select 1 from {membership} as other_audience where other_audience.audience = "
            f"'{match.group(1)}' and other_audience.profile_id = traits.profile_id)"
        ),
        filled,
    )


def render_query_refs(query: str) -> str:
    """A hand-written audience query with `{{ ref('x') }}` pointing at the warehouse tables."""
    schemas = {"int_events_resolved": "intermediate"}
    return re.sub(
        r"\{\{\s*ref\(\s*['\"]([A-Za-z0-9_]+)['\"]\s*\)\s*\}\}",
        lambda match: f"{schemas.get(match.group(1), 'main')}.{match.group(1)}",
        query,
    )
