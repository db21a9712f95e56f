"""`cdp docs`: the dbt docs site, one static page, whose lineage ends at each sync's destination."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from orchestration.settings import DBT_PROJECT_DIR, PROJECT_ROOT
from tests.operations.conftest import OperatedHome, copy_home


def test_cdp_docs_builds_the_site_with_syncs_as_exposures(operated: OperatedHome, tmp_path: Path) -> None:
    copy = copy_home(operated, tmp_path)
    # A copy of the dbt project: the exposures file is written into the project that is built.
    project = tmp_path / "dbt_project"
    shutil.copytree(
        DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "cdp_syncs.yml")
    )
    cdp = Path(sys.executable).parent / "cdp"
    done = subprocess.run(
        [str(cdp), "docs"],
        cwd=PROJECT_ROOT,
        env={"PATH": str(cdp.parent), "HOME": str(tmp_path), "CDP_HOME": str(copy.home),
             "CDP_DBT_PROJECT_DIR": str(project)},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    page = Path(re.search(r"dbt docs: (\S+)", done.stdout).group(1))
    assert page == copy.home / "docs" / "static_index.html" and page.stat().st_size > 100_000
    manifest = json.loads((copy.home / "docs" / "manifest.json").read_text())
    (exposure,) = manifest["exposures"].values()
    assert exposure["meta"]["destination"] == "demo_webhook"
    assert "model.cdp.trial_support_inactive" in exposure["depends_on"]["nodes"]
    # Column docs reach the site's catalog.
    catalog = json.loads((copy.home / "docs" / "catalog.json").read_text())
    assert "model.cdp.profiles" in catalog["nodes"]
