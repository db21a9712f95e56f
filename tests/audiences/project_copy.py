"""A copy of the dbt project in a temporary folder, where a test adds audience files and runs dbt."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from orchestration.settings import DBT_PROJECT_DIR

GENERATED = ("target", "logs", "dbt_packages")


def copy_project(destination: Path) -> Path:
    shutil.copytree(DBT_PROJECT_DIR, destination, ignore=shutil.ignore_patterns(*GENERATED, ".user.yml"))
    return destination


def add_audience(project: Path, name: str, text: str) -> Path:
    path = project / "models" / "audiences" / f"{name}.sql"
    path.write_text(text)
    return path


def run_dbt(
    project: Path, home: Path, *args: str, as_of: str | None = None, timeout: int = 900
) -> subprocess.CompletedProcess[str]:
    """dbt in the copy; `as_of` goes in as Dagster passes it (CDP_AS_OF), so builds at different moments
    share one partial parse."""
    dbt = Path(sys.executable).parent / "dbt"
    env = {
        "PATH": str(dbt.parent),
        "CDP_HOME": str(home),
        "HOME": str(home),
        "DBT_PROFILES_DIR": str(project),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if as_of:
        env["CDP_AS_OF"] = as_of
    return subprocess.run(
        [str(dbt), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
