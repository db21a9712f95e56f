"""Landing never overwrites: a landed file is its content, so files that share a name all load, and the
same content loads once (issue 10, defect 1)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.ingestion.landing import content_hash, event_files, land
from orchestration.ingestion.loader import load_files
from tests.conftest import cdp_home
from tests.ingestion.conftest import DAY, event, line, write_lines

runner = CliRunner()
END = "2026-11-30"


def _generate(out: Path, seed: int) -> None:
    result = runner.invoke(
        app,
        ["generate", "--events", "2000", "--profiles", "200", "--days", "3", "--seed", str(seed)]
        + ["--end-date", END, "--out", str(out)],
    )
    assert result.exit_code == 0, result.output


def _distinct_ids(*folders: Path) -> tuple[int, int]:
    """Lines and distinct messageIds in the generated event files of the folders."""
    files = [str(f) for folder in folders for f in event_files([folder])]
    with duckdb.connect() as con:
        lines, ids = con.execute(
            "select count(*), count(distinct \"messageId\") from read_ndjson($files, columns = {messageId: 'VARCHAR'})",
            {"files": files},
        ).fetchone()
    return lines, ids


def _tables(home: Path) -> tuple[int, int]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(
            "select (select count(*) from raw_events), (select count(*) from rejected_events)"
        ).fetchone()


def _loaded(output: str) -> int:
    found = re.search(r"loaded (\d+) events, rejected (\d+)", " ".join(output.split()))
    assert found, output
    return int(found[1])


@pytest.fixture
def two_generates(tmp_path: Path) -> tuple[Path, Path]:
    """Two `cdp generate` runs, seeds 1 and 2, same end date: the same file names, other events."""
    first, second = tmp_path / "seed1", tmp_path / "seed2"
    _generate(first, 1)
    _generate(second, 2)
    names = {f.relative_to(first) for f in event_files([first])}
    assert names == {f.relative_to(second) for f in event_files([second])}
    return first, second


def test_two_generates_with_the_same_file_names_ingested_one_after_the_other_load_every_event(
    tmp_path: Path, two_generates: tuple[Path, Path]
) -> None:
    first, second = two_generates
    home = tmp_path / "home"
    with cdp_home(home):
        one = runner.invoke(app, ["ingest", str(first)])
        two = runner.invoke(app, ["ingest", str(second)])
    assert one.exit_code == 0, one.output
    assert two.exit_code == 0, two.output
    lines, ids = _distinct_ids(first, second)
    raw, rejected = _tables(home)
    assert (raw, raw + rejected) == (ids, lines)
    # What each ingest says it loaded is what it added to raw_events.
    assert _loaded(one.output) == _distinct_ids(first)[1]
    assert _loaded(one.output) + _loaded(two.output) == raw


def test_ingest_of_two_folders_with_the_same_file_names_in_one_call_loads_both(
    tmp_path: Path, two_generates: tuple[Path, Path]
) -> None:
    first, second = two_generates
    home = tmp_path / "home"
    with cdp_home(home):
        result = runner.invoke(app, ["ingest", str(first), str(second)])
    assert result.exit_code == 0, result.output
    lines, ids = _distinct_ids(first, second)
    assert _tables(home) == (ids, lines - ids)
    assert _loaded(result.output) == ids
    landed = event_files([home / "landing"])
    assert len(landed) == len(event_files([first])) + len(event_files([second]))
    assert len({content_hash(f) for f in landed}) == len(landed)


def test_the_same_input_twice_lands_once_and_loads_nothing_new(
    tmp_path: Path, two_generates: tuple[Path, Path]
) -> None:
    first, _ = two_generates
    home = tmp_path / "home"
    with cdp_home(home):
        runner.invoke(app, ["ingest", str(first)])
        before = (_tables(home), sorted(event_files([home / "landing"])))
        again = runner.invoke(app, ["ingest", str(first), str(first)])
    assert again.exit_code == 0, again.output
    assert _loaded(again.output) == 0
    assert "0 copied" in " ".join(again.output.split())
    assert (_tables(home), sorted(event_files([home / "landing"]))) == before


def test_a_file_with_a_landed_name_and_size_but_other_content_lands_beside_it(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    a = write_lines(tmp_path / "a" / DAY.isoformat() / "web" / "events.jsonl", [line(event("a-1"))])
    b = write_lines(tmp_path / "b" / DAY.isoformat() / "web" / "events.jsonl", [line(event("b-1"))])
    assert a.stat().st_size == b.stat().st_size
    first = land([a], landing)
    second = land([b], landing)
    (landed_a,) = first.files
    (landed_b,) = second.files
    assert landed_a != landed_b and second.renamed == [landed_b]
    assert (landed_a.read_bytes(), landed_b.read_bytes()) == (a.read_bytes(), b.read_bytes())
    assert landed_b.name.endswith(".jsonl")  # the suffix still says the format
    # The same content again, under any name, is found where it landed.
    c = write_lines(tmp_path / "c" / DAY.isoformat() / "web" / "renamed.jsonl", [line(event("b-1"))])
    third = land([c], landing)
    assert (third.files, third.copied, third.already_landed) == ([landed_b], 0, 1)


def test_the_same_content_under_two_names_in_the_landing_zone_is_loaded_once(
    landing: Path, warehouse: duckdb.DuckDBPyConnection
) -> None:
    content = [line(event(f"m{n}")) for n in range(5)]
    write_lines(landing / "collector-1.jsonl", content)
    write_lines(landing / "copy-of-collector-1.jsonl", content)
    result = load_files(warehouse, event_files([landing]), DAY)
    assert (result.accepted, result.rejected) == (5, 0)
    assert warehouse.execute("select count(*) from rejected_events").fetchone() == (0,)
    rows = warehouse.execute(
        "select parse_filename(source_file), events_loaded, events_rejected, parse_filename(duplicate_of), "
        "content_hash from loaded_files order by 1"
    ).fetchall()
    digest = content_hash(landing / "collector-1.jsonl")
    assert rows == [
        ("collector-1.jsonl", 5, 0, None, digest),
        ("copy-of-collector-1.jsonl", 0, 0, "collector-1.jsonl", digest),
    ]
    # Loading again, or the same content in a later day's folder, adds nothing.
    later = write_lines(landing.parent.parent / "2026-11-03" / "web" / "again.jsonl", content)
    assert load_files(warehouse, [*event_files([landing]), later], dt.date(2026, 11, 3)).accepted == 0
    assert warehouse.execute("select count(*) from rejected_events").fetchone() == (0,)
