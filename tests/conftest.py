"""Session fixtures shared by the whole suite: the demo pipeline is generated, built and synced once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

# Small enough for CI, large enough to contain every kind of identity mess the generator plants.
DEMO_EVENTS = 20_000
DEMO_PROFILES = 2_000
DEMO_DAYS = 60


@contextmanager
def cdp_home(path: Path) -> Iterator[Path]:
    """Point CDP_HOME at `path` for the duration, then restore whatever was there."""
    previous = os.environ.get("CDP_HOME")
    os.environ["CDP_HOME"] = str(path)
    try:
        yield path
    finally:
        if previous is None:
            os.environ.pop("CDP_HOME", None)
        else:
            os.environ["CDP_HOME"] = previous


@dataclass(frozen=True)
class DemoRuns:
    home: Path
    first: object  # orchestration.demo.DemoSummary
    second: object

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def ground_truth(self) -> Path:
        return self.home / "demo_input" / "_ground_truth"


@pytest.fixture(scope="session")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> DemoRuns:
    """`cdp demo` twice in a row on a fresh CDP_HOME (the second run must find nothing to sync)."""
    from orchestration.demo import run_demo

    home = tmp_path_factory.mktemp("cdp_home")
    with cdp_home(home):
        first = run_demo(events=DEMO_EVENTS, profiles=DEMO_PROFILES, days=DEMO_DAYS)
        second = run_demo(events=DEMO_EVENTS, profiles=DEMO_PROFILES, days=DEMO_DAYS)
    return DemoRuns(home, first, second)
