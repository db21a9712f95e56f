"""Helpers for running `cdp` as a person does: a separate process, a fresh environment, a time limit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CDP = Path(sys.executable).parent / "cdp"


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]


def cdp_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a new shell: CDP_HOME set, nothing left over from a demo or a debug session."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CDP_", "DAGSTER_"))}
    return {**env, "CDP_HOME": str(home), "COLUMNS": "200", **extra}


def run_cdp(home: Path, *args: str, timeout: float = 120, **env: str) -> Finished:
    started = time.monotonic()
    done = subprocess.run(
        [str(CDP), *args],
        env=cdp_env(home, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Finished(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


@contextmanager
def warehouse_held(path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the warehouse open for writing, as a running pipeline or a notebook does."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\n"
            "con = duckdb.connect(sys.argv[1])\n"
            "print('holding', flush=True)\n"
            "time.sleep(300)\n",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        yield holder
    finally:
        holder.kill()
        holder.wait()
