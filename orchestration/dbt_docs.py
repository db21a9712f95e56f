"""`cdp docs`: the dbt docs site (lineage, column docs), with each sync declared as a dbt exposure so the
lineage ends at the destinations."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import yaml

from orchestration.errors import CdpError, dbt_message
from orchestration.settings import cdp_home, dbt_project_dir, destinations_file

# Written from destinations.yml on every `cdp docs` (not committed: the syncs live in CDP_HOME).
EXPOSURES_FILE = Path("models") / "exposures" / "cdp_syncs.yml"


def exposures_yaml(destinations: Path) -> str:
    """One dbt exposure per sync in destinations.yml, depending on its audience's model."""
    from reverse_etl.config import load_destinations

    config = load_destinations(destinations)
    exposures = []
    for sync in config.syncs:
        kind = config.destinations[sync.destination].type
        exposures.append(
            {
                "name": re.sub(r"[^a-z0-9_]", "_", f"sync_{sync.audience}_to_{sync.destination}".lower()),
                "label": f"{sync.audience} → {sync.destination}",
                "type": "application",
                "owner": {"name": "cdp reverse ETL"},
                "description": f"The `{sync.audience}` audience synced to `{sync.destination}` ({kind}, "
                f"{sync.mode}); Dagster asset sync/{sync.audience}/{sync.destination}.",
                "depends_on": [f"ref('{sync.audience}')", "ref('audience_membership')"],
                "meta": {"destination": sync.destination, "mode": sync.mode},
            }
        )
    return yaml.safe_dump({"version": 2, "exposures": exposures}, sort_keys=False, allow_unicode=True)


def write_exposures(project_dir: Path, destinations: Path) -> Path:
    path = project_dir / EXPOSURES_FILE
    text = exposures_yaml(destinations) if destinations.exists() else "version: 2\nexposures: []\n"
    if not path.exists() or path.read_text() != text:  # unchanged: keep the manifest fresh
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return path


def build_docs() -> Path:
    """`dbt docs generate --static` into CDP_HOME/docs; the page to open (one file, no server needed)."""
    from orchestration.defs.project import dbt_executable

    project = dbt_project_dir()
    write_exposures(project, destinations_file())
    target = cdp_home() / "docs"
    done = subprocess.run(
        [dbt_executable(), "--quiet", "docs", "generate", "--static", "--target-path", str(target)],
        cwd=project,
        env={**os.environ, "CDP_HOME": str(cdp_home()), "DBT_PROFILES_DIR": str(project)},
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise CdpError(f"dbt docs generate failed: {dbt_message(done.stdout + done.stderr)}")
    page = target / "static_index.html"
    if not page.exists():
        raise CdpError(f"dbt docs generate wrote no {page.name} in {target}")
    return page
