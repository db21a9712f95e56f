"""The Dagster UI on the operated home: one webserver for the module, on a free 127.0.0.1 port. GraphQL
finds every asset group, the checks, schedules and sensors; headless Chromium (Debian's, driven by
Playwright) renders the asset graph and a run page without an error page, with screenshots."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration.settings import PROJECT_ROOT
from tests.operations.conftest import OperatedHome

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_SECONDS = 240


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ui(operated: OperatedHome, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("ui") / "webserver.log"
    env = {
        **os.environ,
        "CDP_HOME": str(operated.home),
        "DAGSTER_HOME": str(operated.dagster_home),
    }
    webserver = Path(sys.executable).parent / "dagster-webserver"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(webserver), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                # The code location loads in its own process after the server answers.
                if _graphql(url, ASSETS).get("data", {}).get("assetNodes"):
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(1)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


ASSETS = "{ assetNodes { assetKey { path } groupName assetChecksOrError { ... on AssetChecks { checks { name } } } } }"
INSTIGATORS = """
{ repositoriesOrError { ... on RepositoryConnection { nodes {
    schedules { name scheduleState { status } }
    sensors { name sensorState { status } }
} } } }
"""


def test_graphql_finds_every_group_check_schedule_and_sensor(ui: str) -> None:
    nodes = _graphql(ui, ASSETS)["data"]["assetNodes"]
    groups = {n["groupName"] for n in nodes}
    assert {"ingestion", "staging", "intermediate", "marts", "audiences", "reverse_etl"} <= groups, groups
    checks = {
        ("/".join(n["assetKey"]["path"]), c["name"])
        for n in nodes
        for c in (n["assetChecksOrError"].get("checks") or [])
    }
    names = {name for _, name in checks}
    assert "freshness_check" in names and "size_moved_less_than_share" in names, names
    assert "no_rows_keep_failing" in names and any(n.startswith("unique_") for n in names)
    (repository,) = _graphql(ui, INSTIGATORS)["data"]["repositoriesOrError"]["nodes"]
    schedules = {s["name"] for s in repository["schedules"]}
    sensors = {s["name"]: s["sensorState"]["status"] for s in repository["sensors"]}
    assert {"hourly_refresh", "nightly_full_rebuild"} <= schedules
    # On by default: no manual toggle in `make dev`.
    for sensor in ("new_landing_files", "cdp_automation", "freshness_checks_sensor", "alert_on_run_failure"):
        assert sensors.get(sensor) == "RUNNING", sensors


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium from Debian (make browser) is not installed")
def test_the_browser_renders_the_asset_graph_and_a_run(
    ui: str, operated: OperatedHome, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    run_id = operated.results["pipeline"].run_id
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(
                f"{ui}/locations/cdp/asset-groups/marts/lineage", wait_until="networkidle", timeout=120_000
            )
            _dismiss_welcome(page)
            for name in ("profiles", "identity_graph", "profile_traits"):
                page.get_by_text(name, exact=True).first.wait_for(timeout=60_000)
            page.screenshot(path=str(tmp_path / "asset_graph.png"))
            _assert_no_error_page(page.content())

            page.goto(
                f"{ui}/locations/cdp/asset-groups/ingestion/lineage",
                wait_until="networkidle",
                timeout=120_000,
            )
            page.get_by_text("raw_events", exact=True).first.wait_for(timeout=60_000)
            page.screenshot(path=str(tmp_path / "ingestion.png"))
            _assert_no_error_page(page.content())

            page.goto(f"{ui}/runs/{run_id}", wait_until="networkidle", timeout=120_000)
            page.get_by_text("cdp_dbt_models").first.wait_for(timeout=60_000)
            page.get_by_text("Success").first.wait_for(timeout=60_000)
            page.screenshot(path=str(tmp_path / "run.png"))
            _assert_no_error_page(page.content())
        finally:
            browser.close()
    assert (tmp_path / "asset_graph.png").stat().st_size > 10_000
    assert (tmp_path / "run.png").stat().st_size > 10_000


def _dismiss_welcome(page) -> None:
    """The UI greets a new instance with a newsletter dialog over the graph."""
    page.wait_for_timeout(2000)
    skip = page.get_by_role("button", name="Skip")
    if skip.count():
        skip.click()


def _assert_no_error_page(html: str) -> None:
    for marker in ("Unexpected Application Error", "Page not found", "Something went wrong"):
        assert marker not in html, marker
