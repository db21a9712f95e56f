"""`cdp demo`: a realistic sample through the whole pipeline into a local demo destination."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.ingestion.landing import land_files
from orchestration.runner import materialization_metadata, run_all
from orchestration.settings import cdp_home, destinations_file, landing_dir, warehouse_path
from reverse_etl.demo_server import DemoDestination

DEMO_DESTINATIONS_YML = """\
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


def run_demo(events: int = 50_000, profiles: int = 5_000, days: int = 90, seed: int = 42) -> DemoSummary:
    home = cdp_home()
    sample = prepare_sample(home / "demo_input", events, profiles, days, seed)
    land_files([sample], landing_dir())
    dest_file = destinations_file()
    if not dest_file.exists():
        dest_file.write_text(DEMO_DESTINATIONS_YML)
    os.environ.setdefault("CDP_DEMO_WEBHOOK_SECRET", secrets.token_hex(16))
    with DemoDestination(home / "demo_destination") as destination:
        os.environ["CDP_DEMO_WEBHOOK_URL"] = destination.url
        results = run_all()
        members = {audience: len(keys) for audience, keys in destination.state.items()}
    synced = {
        key: int(meta.get("added", 0)) + int(meta.get("changed", 0)) + int(meta.get("removed", 0))
        for key, meta in materialization_metadata(results["pipeline"]).items()
        if key.startswith("sync/")
    }
    with duckdb.connect(str(warehouse_path()), read_only=True) as con:
        loaded, rejected = con.execute(
            "select (select count(*) from raw_events), (select count(*) from rejected_events)"
        ).fetchone()
        (profile_count,) = con.execute("select count(*) from profiles").fetchone()
        sizes = dict(
            con.execute("select audience, count(*) from audience_membership group by 1 order by 1").fetchall()
        )
    return DemoSummary(loaded, rejected, profile_count, sizes, synced, members)
