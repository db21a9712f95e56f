"""The dbt project as Dagster sees it, built lazily so importing this module touches nothing."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from functools import cache
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from orchestration.errors import CdpError, dbt_message
from orchestration.settings import dbt_project_dir


class DbtProjectError(CdpError):
    """The dbt project does not parse (a bad trait declaration, a broken model): dbt's own sentence."""


def dbt_executable() -> str:
    """The dbt beside this interpreter, so the venv works without being activated (PATH may lack it)."""
    return str(Path(sys.executable).parent / "dbt")


def dbt_project() -> DbtProject:
    return _dbt_project(dbt_project_dir())


@cache
def _dbt_project(project_dir: Path) -> DbtProject:
    project = DbtProject(project_dir=project_dir, profiles_dir=project_dir)
    # `dagster dev` re-parses on every load, so analysts see their model changes (what prepare_if_dev does).
    if os.environ.get("DAGSTER_IS_DEV_CLI"):
        parse(project)
    return project


def parse(project: DbtProject) -> None:
    """`dbt parse`, raising DbtProjectError with dbt's error as one line (the trait and field of a bad
    trait declaration) rather than dagster-dbt's page of subprocess details."""
    # Always for the DuckDB target, whatever CDP_ENGINE says: the manifest gives Dagster its asset graph (the
    # same on every engine; `dbt build` parses for its own target) and the Python side the audiences'
    # compiled conditions, which `cdp why` evaluates in DuckDB, also over Spark's tables.
    invocation = DbtCliResource(project_dir=project, dbt_executable=dbt_executable()).cli(
        ["--quiet", "parse", "--target", "local"], target_path=project.target_path, raise_on_error=False
    )
    # dagster-dbt echoes every dbt event to stdout; the errors are collected and said once, below.
    with contextlib.redirect_stdout(io.StringIO()):
        errors = [
            event.raw_event["info"]["msg"] for event in invocation.stream_raw_events() if _is_error(event)
        ]
    if invocation.process.wait() != 0 or errors:
        log = Path(project.project_dir) / project.target_path / "dbt.log"
        found = dbt_message("\n".join(errors)) if errors else f"exit code {invocation.process.returncode}"
        raise DbtProjectError(f"dbt parse failed: {found} (dbt log: {log})")


def _is_error(event: object) -> bool:
    return getattr(event, "raw_event", {}).get("info", {}).get("level") == "error"


def _manifest_is_stale(project: DbtProject) -> bool:
    """True when any project source (SQL, YAML, macros) changed after the manifest was written."""
    if not project.manifest_path.exists():
        return True
    written = project.manifest_path.stat().st_mtime
    project_dir = Path(project.project_dir)
    # target_path is relative to the project: the compiled SQL of every build lies under it.
    generated = {(project_dir / project.target_path).resolve(), (project_dir / "logs").resolve()}
    sources = (
        path
        for path in project_dir.rglob("*")
        if path.suffix in {".sql", ".yml", ".yaml", ".csv"} and not any(p in generated for p in path.parents)
    )
    return any(path.stat().st_mtime > written for path in sources)


def ensure_manifest(force: bool = False) -> DbtProject:
    """Parse the dbt project when its manifest is missing or older than its sources, so the asset graph
    Dagster builds always matches what `dbt build` will run."""
    project = dbt_project()
    if force or _manifest_is_stale(project):
        parse(project)
    return project
