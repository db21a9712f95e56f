"""Replay after a loader fix: `cdp ingest --reload DAY|FILE` and `cdp rejected [--retry]`.

An earlier loader is played by moving accepted records to `rejected_events` exactly as a loader that
refused them would have left them (their raw line, file and line number, a reason, the file's counts).
Throughout, every record in is in `raw_events` or in `rejected_events`, once.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.ingestion.landing import event_files
from orchestration.ingestion.loader import load_files
from orchestration.ingestion.replay import LandedTargetError, landed_targets, reload_files, retry_rejected
from tests.conftest import cdp_home
from tests.ingestion.conftest import DAY, event, line, write_lines

runner = CliRunner()
OLD_REASON = "unknown type 'screen' (an earlier loader's bug)"


def reject_as_an_earlier_loader_did(con: duckdb.DuckDBPyConnection, message_ids: list[str]) -> None:
    rows = con.execute(
        "select message_id, source_file, line_number from raw_events where message_id in (select unnest($ids))",
        {"ids": message_ids},
    ).fetchall()
    assert len(rows) == len(message_ids)
    for message_id, source_file, line_number in rows:
        path = Path(source_file)
        text = (
            gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
        ).decode()
        if path.name.endswith(".json"):  # a batch body: the record is its item
            raw = json.dumps(json.loads(text)["batch"][line_number - 1])
        else:
            raw = text.split("\n")[line_number - 1]
        assert json.loads(raw).get("messageId") == message_id
        con.execute(
            "insert into rejected_events values ($raw, $reason, $file, $line, now())",
            {"raw": raw, "reason": OLD_REASON, "file": source_file, "line": line_number},
        )
        con.execute(
            "update loaded_files set events_loaded = events_loaded - 1, events_rejected = events_rejected + 1 "
            "where source_file = $file",
            {"file": source_file},
        )
    con.execute("delete from raw_events where message_id in (select unnest($ids))", {"ids": message_ids})


def state(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    return {
        "raw": sorted(
            con.execute(
                "select message_id, source_file, line_number, event_date, source from raw_events"
            ).fetchall()
        ),
        "rejected": sorted(
            con.execute("select raw, reason, source_file, line_number from rejected_events").fetchall()
        ),
        "files": sorted(
            con.execute(
                "select source_file, events_loaded, events_rejected, content_hash from loaded_files"
            ).fetchall()
        ),
    }


def assert_every_record_once(con: duckdb.DuckDBPyConnection, records_in: int) -> None:
    raw, rejected, counted = con.execute(
        "select (select count(*) from raw_events), (select count(*) from rejected_events), "
        "(select sum(events_loaded + events_rejected) from loaded_files)"
    ).fetchone()
    assert raw + rejected == records_in == counted
    assert con.execute("select count(*) - count(distinct message_id) from raw_events").fetchone() == (0,)


@pytest.fixture
def day_of_files(landing: Path) -> tuple[Path, int]:
    """A day of files: clean, with bad lines and duplicates, gzipped, a batch body; and the records in it."""
    write_lines(landing / "clean.jsonl", [line(event(f"c{n}", type="screen", name="Home")) for n in range(6)])
    write_lines(
        landing / "mixed.jsonl",
        [
            line(event("m1")),
            b"{not json",
            line(event("c0")),  # a duplicate of clean.jsonl's first event
            line(event("m2", type="screen", name="Cart")),
            b"",
            line(event("m1")),  # repeated within the file
            line(event("m3", userId=None)),
        ],
    )
    write_lines(landing / "zipped.jsonl.gz", [line(event(f"z{n}")) for n in range(4)], compress=True)
    batch = {
        "batch": [event("b1", type="screen", name="Feed"), event("b2", type="screen", name="Feed")],
        "sentAt": "2026-11-02T10:00:05.000Z",
        "context": {"library": {"name": "analytics-ios", "version": "4.1.0"}},
    }
    for item in batch["batch"]:
        item.pop("context")
    (landing / "batch.json").write_text(json.dumps(batch))
    return landing, 6 + 6 + 4 + 2


def test_reloading_unchanged_files_changes_nothing(
    day_of_files: tuple[Path, int], warehouse: duckdb.DuckDBPyConnection
) -> None:
    folder, records = day_of_files
    load_files(warehouse, event_files([folder]), DAY)
    before = state(warehouse)
    assert_every_record_once(warehouse, records)
    result = reload_files(warehouse, event_files([folder]), DAY)
    assert (result.files, result.loaded, result.rejected_after) == (4, 0, result.rejected_before)
    after = state(warehouse)
    assert after["raw"] == before["raw"] and after["files"] == before["files"]
    # Same records rejected for the same rules (a repeat may now name the loaded copy instead).
    assert [r[2:] for r in after["rejected"]] == [r[2:] for r in before["rejected"]]
    assert_every_record_once(warehouse, records)


def test_reload_loads_what_an_earlier_loader_rejected_and_keeps_what_still_fails(
    day_of_files: tuple[Path, int], warehouse: duckdb.DuckDBPyConnection
) -> None:
    folder, records = day_of_files
    load_files(warehouse, event_files([folder]), DAY)
    good = state(warehouse)
    reject_as_an_earlier_loader_did(warehouse, ["c1", "c2", "m2", "b1", "b2"])
    assert_every_record_once(warehouse, records)
    result = reload_files(warehouse, event_files([folder]), DAY)
    assert result.loaded == 5 and result.rejected_before - result.rejected_after == 5
    reloaded = state(warehouse)
    assert [r[:4] for r in reloaded["raw"]] == [r[:4] for r in good["raw"]]
    assert reloaded["files"] == good["files"]
    assert not any(OLD_REASON in r[1] for r in reloaded["rejected"])
    assert_every_record_once(warehouse, records)
    # The batch's sentAt and context reached its items, as on the first load.
    assert warehouse.execute(
        "select sent_at, context ->> '$.library.name' from raw_events where message_id = 'b1'"
    ).fetchone() == (dt.datetime(2026, 11, 2, 10, 0, 5), "analytics-ios")
    # And again: nothing more.
    assert reload_files(warehouse, event_files([folder]), DAY).loaded == 0
    assert state(warehouse)["raw"] == reloaded["raw"]


def test_retry_loads_the_quarantined_records_that_now_pass_once(
    day_of_files: tuple[Path, int], warehouse: duckdb.DuckDBPyConnection
) -> None:
    folder, records = day_of_files
    load_files(warehouse, event_files([folder]), DAY)
    good = state(warehouse)
    reject_as_an_earlier_loader_did(warehouse, ["c1", "z2", "m2", "b1"])
    result = retry_rejected(warehouse)
    assert (result.loaded, result.rejected_before - result.rejected_after) == (4, 4)
    retried = state(warehouse)
    assert [r[:4] for r in retried["raw"]] == [r[:4] for r in good["raw"]]
    assert retried["rejected"] == good["rejected"]  # bad JSON, no ids, duplicates: still there, as they were
    assert retried["files"] == good["files"]
    assert warehouse.execute(
        "select sent_at, context ->> '$.library.name', source from raw_events where message_id = 'b1'"
    ).fetchone() == (dt.datetime(2026, 11, 2, 10, 0, 5), "analytics-ios", "web")
    assert_every_record_once(warehouse, records)
    again = retry_rejected(warehouse)
    assert again.loaded == 0 and state(warehouse) == retried


def test_retry_keeps_damage_and_invalid_bytes_rejected(
    landing: Path, warehouse: duckdb.DuckDBPyConnection
) -> None:
    whole = gzip.compress(b"".join(line(event(f"t{n}")) + b"\n" for n in range(300)))
    (landing / "truncated.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    write_lines(
        landing / "bytes.jsonl",
        [line(event("u1")), b'{"messageId":"u2","type":"track","event":"caf\xe9","userId":"u"}'],
    )
    load_files(warehouse, event_files([landing]), DAY)
    before = state(warehouse)
    reasons = {r[1].split(":")[0].split(" (")[0] for r in before["rejected"]}
    assert reasons == {"not valid UTF-8", "the gzip stream ends early"}
    assert retry_rejected(warehouse).loaded == 0
    assert state(warehouse) == before


def test_cdp_ingest_reload_and_cdp_rejected_retry(tmp_path: Path) -> None:
    source = tmp_path / "export" / DAY.isoformat() / "ios"
    original = write_lines(
        source / "events.jsonl",
        [line(event(f"e{n}", type="screen", name="Home")) for n in range(8)] + [b"{bad", line(event("e0"))],
    )
    home = tmp_path / "home"
    with cdp_home(home):
        assert runner.invoke(app, ["ingest", str(tmp_path / "export")]).exit_code == 0
        landed = home / "landing" / DAY.isoformat() / "ios" / "events.jsonl"
        with duckdb.connect(str(home / "warehouse.duckdb")) as con:
            reject_as_an_earlier_loader_did(con, ["e1", "e2", "e3"])
        shown = runner.invoke(app, ["rejected", "--json"])
        by_file = runner.invoke(app, ["rejected", "--file", "events.jsonl", "--reason", "earlier loader"])
        by_day = runner.invoke(app, ["ingest", "--reload", DAY.isoformat()])
        with duckdb.connect(str(home / "warehouse.duckdb")) as con:
            reject_as_an_earlier_loader_did(con, ["e4"])
        by_original = runner.invoke(app, ["ingest", "--reload", str(original)])
        with duckdb.connect(str(home / "warehouse.duckdb")) as con:
            reject_as_an_earlier_loader_did(con, ["e5", "e6"])
        retried = runner.invoke(app, ["rejected", "--retry"])
        retried_again = runner.invoke(app, ["rejected", "--retry"])
        unknown = runner.invoke(app, ["ingest", "--reload", "2020-01-01"])
        both = runner.invoke(app, ["ingest", str(original), "--reload", DAY.isoformat()])
    assert shown.exit_code == 0, shown.output
    quarantine = json.loads(shown.output)
    assert quarantine["total"] == 5
    assert {(k["reason"], k["records"]) for k in quarantine["by_reason"]} == {
        ("unknown type", 3),
        ("not valid JSON", 1),
        ("duplicate messageId", 1),
    }
    assert {(r["source_file"], r["line_number"]) for r in quarantine["records"]} == {
        (str(landed), n) for n in (2, 3, 4, 9, 10)
    }
    assert by_file.exit_code == 0 and "3 rejected records" in by_file.output
    said = [" ".join(r.output.split()) for r in (by_day, by_original, retried, retried_again)]
    assert said[0] == f"reloaded 1 files of {DAY}: 3 events newly loaded; rejected 2 (was 5)"
    assert said[1] == f"reloaded 1 files of {DAY}: 1 events newly loaded; rejected 2 (was 3)"
    assert (
        said[2]
        == "retried the rejected records of 1 files: 2 now loaded into raw_events, 2 still rejected (of 4)"
    )
    assert (
        said[3]
        == "retried the rejected records of 1 files: 0 now loaded into raw_events, 2 still rejected (of 2)"
    )
    assert unknown.exit_code == 1 and "nothing landed on 2020-01-01" in unknown.output
    assert both.exit_code == 2
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert_every_record_once(con, 10)
        assert con.execute("select count(*) from raw_events").fetchone() == (8,)


def test_reload_targets_a_copy_through_the_file_loaded_and_loads_files_never_loaded(
    landing: Path, warehouse: duckdb.DuckDBPyConnection
) -> None:
    content = [line(event(f"d{n}")) for n in range(3)]
    first = write_lines(landing / "first.jsonl", content)
    copy = write_lines(landing / "copy.jsonl", content)
    load_files(warehouse, [first, copy], DAY)
    late = write_lines(landing / "late.jsonl", [line(event("late-1")), b"{bad"])
    root = landing.parent.parent
    targets = landed_targets(warehouse, root, [str(copy), str(late)])
    assert targets == {DAY: [first, late]}
    result = reload_files(warehouse, targets[DAY], DAY)
    assert (result.loaded, result.rejected_after) == (1, 1)
    assert_every_record_once(warehouse, 5)
    with pytest.raises(LandedTargetError, match="never landed"):
        landed_targets(
            warehouse, root, [str(write_lines(root.parent / "elsewhere.jsonl", [line(event("x"))]))]
        )
