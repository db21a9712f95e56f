"""A failed step ends every command with one line and a non-zero exit, fast (issue 10, defect 2).

Dagster re-raises a step's own exception while handling the wrapper whose cause it is, so the chain loops
(`error.__context__.__cause__ is error`); typer's pretty printer (rich) walked that loop forever at 100% CPU.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import duckdb
import pytest

from orchestration.defs import runner
from orchestration.errors import format_traceback, one_line
from tests.cli.conftest import cdp_env, run_cdp, warehouse_held
from tests.conftest import cdp_home
from tests.ingestion.conftest import event, line, write_lines

LIMIT_SECONDS = 60
MAX_OUTPUT_LINES = 5  # a summary line or two, then the error


def cyclic_error() -> ValueError:
    """An exception whose chain loops back on itself, built the way Dagster's in-process executor does."""
    try:
        try:
            raise ValueError("the step's own error")
        except ValueError as own:
            raise RuntimeError("step failed") from own
    except RuntimeError as wrapper:
        try:
            raise wrapper.__cause__  # noqa: B904 - re-raising the cause inside the wrapper's handler is the point
        except ValueError as error:
            return error
    raise AssertionError("unreachable")


def printer_walk_length(error: BaseException | None, limit: int = 100) -> int:
    """How many links a printer that follows cause, else context, visits (`limit` means it never ends)."""
    steps = 0
    while error is not None and steps < limit:
        error = error.__cause__ or error.__context__
        steps += 1
    return steps


def small_event_folder(root: Path) -> Path:
    write_lines(root / "2026-11-02" / "web" / "events.jsonl", [line(event("m-1")), line(event("m-2"))])
    return root


def test_cyclic_chain_is_formatted_in_bounded_time() -> None:
    error = cyclic_error()
    assert error.__context__ is not None and error.__context__.__cause__ is error  # the loop
    formatted: dict[str, str] = {}
    worker = threading.Thread(target=lambda: formatted.update(text=format_traceback(error)), daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "formatting a cyclic chain did not finish"
    text = formatted["text"]
    assert "the step's own error" in text and "step failed" in text
    assert text.count("\n") < 60
    assert printer_walk_length(error) < 100  # and the chain is cut for every later printer too
    assert one_line(error) == "ValueError: the step's own error"


@pytest.mark.parametrize("flags", [[], ["--verbose"]], ids=["plain", "verbose"])
def test_command_failing_with_a_cyclic_chain_exits_with_one_line(tmp_path: Path, flags: list[str]) -> None:
    script = textwrap.dedent(
        """
        import sys
        import orchestration.defs.runner

        def fail(**_):
            try:
                try:
                    raise ValueError("the step's own error")
                except ValueError as own:
                    raise RuntimeError("step failed") from own
            except RuntimeError as wrapper:
                raise wrapper.__cause__

        orchestration.defs.runner.run_all = fail
        from orchestration.cli import app
        app(sys.argv[1:], prog_name="cdp")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *flags, "run"],
        env=cdp_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=LIMIT_SECONDS,
        check=False,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ValueError: the step's own error"), done.stderr[-2000:]
    assert len(done.stderr.splitlines()) < (80 if flags else 3)
    assert ("Traceback" in done.stderr) == bool(flags)


def test_run_and_ingest_end_with_one_line_while_another_process_holds_the_warehouse(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    warehouse = home / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    events = small_event_folder(tmp_path / "input")
    with warehouse_held(warehouse) as holder:
        for args in (["run"], ["ingest", str(events)]):
            done = run_cdp(home, *args, timeout=LIMIT_SECONDS)
            output = done.stdout + done.stderr
            assert done.returncode == 1, output[-2000:]
            assert len(done.error_lines) == 1, output[-2000:]
            (message,) = done.error_lines
            assert f"the warehouse is locked by another process (PID {holder.pid}" in message
            assert done.stderr.strip().splitlines()[-1] == message
            assert len(output.splitlines()) <= MAX_OUTPUT_LINES, output[-2000:]
            assert done.seconds < LIMIT_SECONDS


def test_failed_step_is_reported_without_a_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the quick check (the lock is taken after it), the step itself fails: still one clean error."""
    from orchestration.defs.runner import PipelineFailed

    home = tmp_path / "home"
    home.mkdir()
    warehouse = home / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    small_event_folder(home / "landing")
    monkeypatch.setattr(runner, "check_warehouse_free", lambda: None)
    with cdp_home(home), warehouse_held(warehouse) as holder, pytest.raises(PipelineFailed) as caught:
        runner.load_days([dt.date(2026, 11, 2)])
    failed = caught.value
    assert list(failed.failures) == ["raw_events"]
    assert f"locked by another process (PID {holder.pid}" in failed.failures["raw_events"]
    assert str(failed).startswith("raw_events failed: the warehouse is locked")
    assert printer_walk_length(failed) < 100
