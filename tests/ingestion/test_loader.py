"""The loader's guarantees on clean and mixed files: idempotence, deduplication, timestamps, formats."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration.ingestion.landing import event_files
from orchestration.ingestion.loader import load_files, load_partitions
from tests.ingestion.conftest import DAY, event, line, write_lines

NOW = dt.datetime(2026, 11, 3, 12, 0, 0)


def test_clean_files_load_with_their_line_numbers_and_loading_again_adds_nothing(
    landing: Path, warehouse: duckdb.DuckDBPyConnection
) -> None:
    write_lines(landing / "a.jsonl.gz", [line(event(f"a{n}")) for n in range(300)], compress=True)
    write_lines(landing / "b.jsonl", [line(event(f"b{n}")) for n in range(200)])
    first = load_files(warehouse, event_files([landing]), DAY)
    second = load_files(warehouse, event_files([landing]), DAY)
    assert (first.files, first.accepted, first.rejected) == (2, 500, 0)
    assert (second.files, second.accepted) == (0, 0)
    rows = warehouse.execute(
        "select message_id, line_number, source, event_date from raw_events where message_id in ('a0', 'a299', 'b57')"
        " order by message_id"
    ).fetchall()
    assert rows == [("a0", 1, "web", DAY), ("a299", 300, "web", DAY), ("b57", 58, "web", DAY)]
    assert warehouse.execute("select count(*) from raw_events").fetchone()[0] == 500


def test_a_message_id_loaded_before_is_rejected_as_a_duplicate_naming_the_first_copy(
    landing: Path, warehouse: duckdb.DuckDBPyConnection
) -> None:
    write_lines(landing / "first.jsonl", [line(event("m1")), line(event("m2"))])
    load_files(warehouse, event_files([landing]), DAY)
    write_lines(landing / "retry.jsonl", [line(event("m2", event="Retried")), line(event("m3"))])
    result = load_files(warehouse, [landing / "retry.jsonl"], DAY)
    assert (result.accepted, result.rejected) == (1, 1)
    (reason, line_number, raw) = warehouse.execute(
        "select reason, line_number, raw from rejected_events"
    ).fetchone()
    assert reason == f"duplicate messageId: already loaded from {landing / 'first.jsonl'} line 2"
    assert line_number == 1 and '"Retried"' in raw
    assert warehouse.execute("select event from raw_events where message_id = 'm2'").fetchone() == (
        "Product Viewed",
    )


def test_repeats_within_one_load_keep_the_first_copy_and_reject_the_others_with_their_content(
    landing: Path, warehouse: duckdb.DuckDBPyConnection
) -> None:
    write_lines(landing / "a.jsonl", [line(event("r1")), line(event("r2"))])
    write_lines(
        landing / "b.jsonl", [line(event("b1")), b"", line(event("r2", event="Again")), line(event("r2"))]
    )
    result = load_files(warehouse, event_files([landing]), DAY)
    assert (result.accepted, result.rejected) == (3, 2)
    rejected = warehouse.execute(
        "select line_number, reason, raw from rejected_events order by line_number"
    ).fetchall()
    # Clean files take the fast path, which numbers records (the blank line is not counted).
    assert [(r[0], r[1]) for r in rejected] == [
        (2, f"duplicate messageId: first seen in {landing / 'a.jsonl'} line 2"),
        (3, f"duplicate messageId: first seen in {landing / 'a.jsonl'} line 2"),
    ]
    again = json.loads(rejected[0][2])
    assert (again["messageId"], again["event"], again["userId"]) == ("r2", "Again", "user-r2")
    assert again["timestamp"] == "2026-11-02T10:00:00.000Z" and again["properties"] == {
        "sku": "A-1",
        "price": 9.5,
    }
    kept = warehouse.execute(
        "select source_file, line_number from raw_events where message_id = 'r2'"
    ).fetchall()
    assert kept == [(str(landing / "a.jsonl"), 2)]


def test_clock_skew_is_corrected_from_received_at_as_segment_does(
    landing: Path, warehouse: duckdb.DuckDBPyConnection
) -> None:
    # The device clock is 1 hour fast: it stamped the event at 11:00 and sent it 5 s later by its clock;
    # the server received it at 10:00:06.
    skewed = event(
        "skew",
        timestamp="2026-11-02T11:00:00Z",
        sentAt="2026-11-02T11:00:05Z",
        receivedAt="2026-11-02T10:00:06Z",
    )
    write_lines(
        landing / "skew.jsonl", [line(skewed), line(event("plain", timestamp="2026-11-02T09:30:00+02:00"))]
    )
    load_files(warehouse, event_files([landing]), DAY, now=NOW)
    rows = dict(warehouse.execute('select message_id, "timestamp" from raw_events').fetchall())
    assert rows["skew"] == dt.datetime(2026, 11, 2, 10, 0, 1)
    assert rows["plain"] == dt.datetime(2026, 11, 2, 7, 30)  # offsets become naive UTC
    original = warehouse.execute(
        "select original_timestamp from raw_events where message_id = 'skew'"
    ).fetchone()
    assert original == (dt.datetime(2026, 11, 2, 11, 0),)


def test_far_future_timestamps_are_flagged_and_not_trusted(
    landing: Path, warehouse: duckdb.DuckDBPyConnection
) -> None:
    future = event("future", timestamp="2031-01-01T00:00:00Z", receivedAt="2026-11-03T11:59:00Z")
    soon = event("soon", timestamp="2026-11-03T20:00:00Z")  # within a day: clocks drift, still trusted
    write_lines(landing / "f.jsonl", [line(future), line(soon)])
    load_files(warehouse, event_files([landing]), DAY, now=NOW)
    rows = {
        r[0]: r[1:]
        for r in warehouse.execute(
            'select message_id, "timestamp", original_timestamp, is_future_timestamp from raw_events'
        ).fetchall()
    }
    assert rows["future"] == (dt.datetime(2026, 11, 3, 11, 59), dt.datetime(2031, 1, 1), True)
    assert rows["soon"] == (dt.datetime(2026, 11, 3, 20, 0), dt.datetime(2026, 11, 3, 20, 0), False)


def test_naive_timestamps_are_utc_whatever_the_session_time_zone(
    landing: Path, warehouse: duckdb.DuckDBPyConnection
) -> None:
    warehouse.execute("set TimeZone = 'America/New_York'")
    write_lines(landing / "n.jsonl", [line(event("naive", timestamp="2026-11-02T10:00:00"))])
    load_files(warehouse, event_files([landing]), DAY)
    assert warehouse.execute('select "timestamp" from raw_events').fetchone() == (
        dt.datetime(2026, 11, 2, 10, 0),
    )
    assert warehouse.execute("select current_setting('TimeZone')").fetchone() == ("America/New_York",)


def test_a_segment_batch_body_file_loads_with_the_batch_sent_at_and_context(
    landing: Path, warehouse: duckdb.DuckDBPyConnection
) -> None:
    body = {
        "batch": [
            {
                "type": "identify",
                "userId": "u1",
                "traits": {"plan": "pro"},
                "timestamp": "2026-11-02T10:00:00Z",
            },
            {
                "type": "track",
                "event": "A",
                "userId": "u1",
                "timestamp": "2026-11-02T10:00:01Z",
                "context": {"ip": "x"},
            },
        ],
        "sentAt": "2026-11-02T10:00:02Z",
        "context": {"library": {"name": "analytics.js"}},
    }
    (landing / "body.json.gz").write_bytes(gzip.compress(json.dumps(body, indent=2).encode()))
    result = load_files(warehouse, event_files([landing]), DAY)
    assert (result.accepted, result.rejected) == (2, 0)
    rows = warehouse.execute(
        "select type, sent_at, context ->> '$.library.name', context ->> '$.ip', line_number, message_id like 'md5-%'"
        " from raw_events order by line_number"
    ).fetchall()
    assert rows == [
        ("identify", dt.datetime(2026, 11, 2, 10, 0, 2), "analytics.js", None, 1, True),
        ("track", dt.datetime(2026, 11, 2, 10, 0, 2), None, "x", 2, True),
    ]


def test_parquet_with_warehouse_column_names_loads(
    landing: Path, warehouse: duckdb.DuckDBPyConnection
) -> None:
    pq.write_table(
        pa.table(
            {
                "message_id": ["p1"],
                "type": ["identify"],
                "anonymous_id": ["a1"],
                "traits": [json.dumps({"email": "x@y.z"})],
                "timestamp": [dt.datetime(2026, 11, 2, 10, 0)],
            }
        ),
        landing / "export.parquet",
    )
    load_files(warehouse, event_files([landing]), DAY)
    assert warehouse.execute(
        "select message_id, anonymous_id, traits ->> 'email', \"timestamp\", line_number from raw_events"
    ).fetchall() == [("p1", "a1", "x@y.z", dt.datetime(2026, 11, 2, 10, 0), 1)]


@pytest.mark.parametrize("killed_at_commit", [2, 3], ids=["before-settling-duplicates", "before-exact-path"])
def test_a_load_killed_before_commit_and_run_again_leaves_every_event_exactly_once(
    landing: Path, tmp_path: Path, killed_at_commit: int
) -> None:
    # A clean file (fast path: rows committed, then duplicates settled) and a mixed one (exact path);
    # the process is killed just before the 2nd or the 3rd commit.
    write_lines(landing / "clean.jsonl", [line(event(f"c{n}")) for n in range(100)] + [line(event("c0"))])
    write_lines(landing / "mixed.jsonl", [line(event(f"m{n}")) for n in range(100)] + [b"{broken"])
    warehouse = tmp_path / "warehouse.duckdb"
    script = textwrap.dedent(
        f"""
        import datetime as dt, os, signal
        import duckdb
        from pathlib import Path
        from orchestration.ingestion.landing import event_files
        from orchestration.ingestion.loader import load_files

        class KilledAtCommit:
            commits = 0
            def __init__(self, con): self.con = con
            def execute(self, sql, *args):
                if sql.strip() == "commit":
                    KilledAtCommit.commits += 1
                    if KilledAtCommit.commits == {killed_at_commit}:
                        os.kill(os.getpid(), signal.SIGKILL)
                return self.con.execute(sql, *args)
            def __getattr__(self, name): return getattr(self.con, name)

        con = KilledAtCommit(duckdb.connect({str(warehouse)!r}))
        load_files(con, event_files([Path({str(landing)!r})]), dt.date(2026, 11, 2))
        """
    )
    killed = subprocess.run([sys.executable, "-c", script], env=os.environ.copy(), capture_output=True)
    assert killed.returncode == -9, killed.stderr.decode()
    with duckdb.connect(str(warehouse)) as con:
        partial = con.execute("select count(*) from raw_events").fetchone()[0]
        # The clean file's rows committed (its repeat of c0 too, when killed before settling).
        assert partial == (101 if killed_at_commit == 2 else 100)
        load_files(con, event_files([landing]), DAY)
        counts = con.execute("select count(*), count(distinct message_id) from raw_events").fetchone()
        (rejected,) = con.execute("select count(*) from rejected_events").fetchone()
    assert counts == (200, 200)
    assert rejected == 2  # the repeated c0 and the broken line


@pytest.mark.parametrize("with_a_bad_line", [False, True], ids=["fast path", "exact path"])
def test_the_first_copy_in_file_order_wins_when_many_files_load_in_parallel(
    landing: Path, warehouse: duckdb.DuckDBPyConnection, with_a_bad_line: bool
) -> None:
    # Files of different sizes, read by several threads, each holding a copy of one messageId: a plan
    # that reorders rows would keep the wrong copy or misnumber lines.
    sizes = [3, 5_000, 1, 40, 700, 5, 2, 9]
    for number, size in enumerate(sizes):
        lines = [line(event(f"f{number}-{n + 1}")) for n in range(size)]
        lines.append(line(event("shared", event=f"copy from {number}")))
        if with_a_bad_line:
            lines.insert(0, b"{not json")  # forces the exact path, which counts physical lines
        write_lines(landing / f"{number}.jsonl", lines)
    result = load_files(warehouse, event_files([landing]), DAY)
    assert (result.accepted, result.rejected) == (
        sum(sizes) + 1,
        len(sizes) - 1 + with_a_bad_line * len(sizes),
    )
    assert warehouse.execute("select event from raw_events where message_id = 'shared'").fetchone() == (
        "copy from 0",
    )
    first = f"{landing / '0.jsonl'} line {sizes[0] + 1 + with_a_bad_line}"
    reasons = warehouse.execute(
        "select distinct reason from rejected_events where reason like 'duplicate%'"
    ).fetchall()
    assert reasons == [(f"duplicate messageId: first seen in {first}",)]
    for message_id, line_number in warehouse.execute(
        "select message_id, line_number from raw_events where message_id <> 'shared'"
    ).fetchall():
        assert line_number == int(message_id.split("-")[1]) + with_a_bad_line, message_id


KIND_CASES = {
    "number event": event("k1", event=5),
    "boolean userId": event("k2", userId=True),
    "number userId": event("k3", userId=42),
    "boolean page name": event("k4", type="page", name=False),
    "number messageId": event(7),
    "float anonymousId": event("k6", anonymousId=1.5),
    "string event starting with a digit": event("k7", event="404 Page"),
    "the string 'true' as userId": event("k8", userId="true"),
}


@pytest.mark.parametrize("record", KIND_CASES.values(), ids=KIND_CASES.keys())
def test_fast_and_exact_paths_agree_on_values_whose_json_kind_a_typed_reader_loses(
    tmp_path: Path, record: dict[str, object]
) -> None:
    outcomes = []
    for path in ("fast", "exact"):
        folder = tmp_path / path / "landing" / DAY.isoformat() / "web"
        lines = [line(record)] if path == "fast" else [b"{broken", line(record)]
        write_lines(folder / "events.jsonl", lines)
        con = duckdb.connect()
        load_files(con, event_files([folder]), DAY)
        outcomes.append(
            (
                con.execute(
                    "select message_id, user_id, anonymous_id, event, name from raw_events"
                ).fetchall(),
                con.execute("select reason from rejected_events where raw not like '{broken%'").fetchall(),
            )
        )
        con.close()
    assert outcomes[0] == outcomes[1]
    assert len(outcomes[0][0]) + len(outcomes[0][1]) == 1


def test_several_days_load_in_one_pass_each_row_with_its_files_day(
    tmp_path: Path, warehouse: duckdb.DuckDBPyConnection
) -> None:
    days = [DAY + dt.timedelta(days=n) for n in range(3)]
    by_day = {}
    for n, day in enumerate(days):
        folder = tmp_path / "landing" / day.isoformat() / ("web" if n % 2 == 0 else "ios")
        lines = [line(event(f"d{n}-{k}")) for k in range(50)]
        if n == 2:  # a re-delivery of day 0's first event, and a record only the exact path takes
            lines += [line(event("d0-0", event="Again")), b'{"messageId": "bad", "type": 7}']
        by_day[day] = [write_lines(folder / "events.jsonl", lines)]
    result = load_partitions(warehouse, by_day, now=NOW)
    assert (result.files, result.accepted, result.rejected) == (3, 150, 2)
    rows = warehouse.execute(
        "select event_date, source, count(*), count(distinct loaded_at) from raw_events group by all order by 1"
    ).fetchall()
    assert rows == [(days[0], "web", 50, 1), (days[1], "ios", 50, 1), (days[2], "web", 50, 1)]
    assert warehouse.execute("select partition_date from loaded_files order by 1").fetchall() == [
        (day,) for day in days
    ]
    reasons = warehouse.execute("select reason from rejected_events order by line_number").fetchall()
    assert reasons[0][0].startswith("duplicate messageId: ")
    assert str(by_day[days[0]][0]) in reasons[0][0]
    assert len(reasons) == 2
