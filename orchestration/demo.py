"""`cdp demo`: a realistic sample through the whole pipeline into a local demo destination."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from orchestration.defs.runner import materialization_metadata, run_all
from orchestration.ingestion.landing import land_files
from orchestration.settings import cdp_home, destinations_file, landing_dir, warehouse_path
from orchestration.warehouse import connect_warehouse

_DEMO_DESTINATIONS_TEMPLATE = """\
# Written by `cdp demo`. The demo destination is a webhook receiver that every sync starts on 127.0.0.1
# and stops again; it keeps what it received in `folder` (state.json, received.jsonl). Real destinations
# take their addresses and secrets as ${{ENV_VAR}} references: see reverse_etl/README.md.
destinations:
  demo_webhook:
    type: demo
    folder: {folder}
syncs:
  - audience: trial_support_inactive
    destination: demo_webhook
    mode: mirror
"""
# What earlier versions wrote: it named variables that existed only while `cdp demo` ran.
_TRANSIENT_DEMO_DESTINATIONS_YML = """\
# Written by `cdp demo`. Secrets and addresses are ${ENV_VAR} references, resolved only at sync time.
destinations:
  demo_webhook:
    type: webhook
    url: ${CDP_DEMO_WEBHOOK_URL}
    secret: ${CDP_DEMO_WEBHOOK_SECRET}
syncs:
  - audience: trial_support_inactive
    destination: demo_webhook
    mode: mirror
"""


@dataclass(frozen=True)
class DemoSummary:
    events_loaded: int
    events_rejected: int
    profiles: int
    audience_sizes: dict[str, int]
    rows_synced: dict[str, int]
    destination_members: dict[str, int]


def prepare_sample(folder: Path, events: int, profiles: int, days: int, seed: int) -> Path:
    """Generate the sample once; later demos reuse it, so a second run finds nothing new to sync."""
    from orchestration.generator import generate

    if not (folder / "_ground_truth").exists():
        generate(events=events, profiles=profiles, days=days, seed=seed, out=folder)
    return folder


def demo_destinations_yml(folder: Path) -> str:
    """destinations.yml syncing the demo audience to the demo receiver keeping its state in `folder`."""
    # A JSON string is a YAML string: any path, quoted.
    return _DEMO_DESTINATIONS_TEMPLATE.format(folder=json.dumps(str(folder)))


def write_demo_destinations(home: Path) -> None:
    """Write the demo's destinations.yml unless the user has one (an old demo's file is replaced)."""
    path = destinations_file()
    if not path.exists() or path.read_text() == _TRANSIENT_DEMO_DESTINATIONS_YML:
        path.write_text(demo_destinations_yml(home / "demo_destination"))


def destination_members(home: Path) -> dict[str, int]:
    """Members per audience that the demo receiver holds (what it was sent, applied)."""
    state = home / "demo_destination" / "state.json"
    held = json.loads(state.read_text()) if state.exists() else {}
    return {audience: len(keys) for audience, keys in held.items()}


# 180 days: the predictive models train at a cutoff 90 days back (var `predictive_cutoff_days`), so the
# demo needs history before it to show scores, not only skips.
def run_demo(events: int = 50_000, profiles: int = 5_000, days: int = 180, seed: int = 42) -> DemoSummary:
    home = cdp_home()
    sample = prepare_sample(home / "demo_input", events, profiles, days, seed)
    land_files([sample], landing_dir())
    write_demo_destinations(home)
    results = run_all()
    members = destination_members(home)
    synced = {
        key: int(meta.get("added", 0)) + int(meta.get("changed", 0)) + int(meta.get("removed", 0))
        for key, meta in materialization_metadata(results["pipeline"]).items()
        if key.startswith("sync/")
    }
    with connect_warehouse(warehouse_path(), read_only=True) as con:
        loaded, rejected = con.execute(
            "select (select count(*) from raw_events), (select count(*) from rejected_events)"
        ).fetchone()
        (profile_count,) = con.execute("select count(*) from profiles").fetchone()
        sizes = dict(
            con.execute("select audience, count(*) from audience_membership group by 1 order by 1").fetchall()
        )
    return DemoSummary(loaded, rejected, profile_count, sizes, synced, members)
