"""The dbt project as Dagster sees it, built lazily so importing this module touches nothing."""

from __future__ import annotations

from functools import cache

from dagster_dbt import DbtProject

from orchestration.settings import DBT_PROJECT_DIR


@cache
def dbt_project() -> DbtProject:
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    # `dagster dev` re-parses on load; `cdp` commands and tests parse explicitly (see `ensure_manifest`).
    project.prepare_if_dev()
    return project


def ensure_manifest(force: bool = False) -> DbtProject:
    """Parse the dbt project when its manifest is missing (or when forced), so definitions can load."""
    project = dbt_project()
    if force or not project.manifest_path.exists():
        project.preparer.prepare(project)
    return project
