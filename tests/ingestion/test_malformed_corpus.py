"""A corpus of malformed input mixed with good events: every good event lands once, every bad record
is quarantined with its reason, file and line, and nothing else is lost."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from orchestration.ingestion.landing import event_files
from orchestration.ingestion.loader import load_files
from tests.ingestion.conftest import DAY, event, line, write_lines


@dataclass(frozen=True)
class Case:
    name: str
    raw: bytes
    reason: str  # a fragment the rejection reason must contain


def _e(case_id: str, /, **fields: object) -> bytes:
    return line(event(f"bad-{case_id}", **fields))


def _without(name: str, *keys: str, **fields: object) -> bytes:
    value = event(f"bad-{name}", **fields)
    for key in keys:
        value.pop(key, None)
    return line(value)


# Kinds of bad line, each with the reason a person should read.
CASES = [
    Case("truncated object", b'{"messageId":"t1","type":"track","event":"A","userId":"u"', "not valid JSON"),
    Case("truncated string", b'{"messageId":"t2","type":"track","event":"Ord', "not valid JSON"),
    Case("unquoted keys", b'{messageId:"t3",type:"track",event:"A",userId:"u"}', "not valid JSON"),
    Case(
        "two objects on a line",
        b'{"messageId":"t4","type":"track"}{"event":"A","userId":"u"}',
        "not valid JSON",
    ),
    Case(
        "extra closing brace",
        b'{"messageId":"t6","type":"track","event":"A","userId":"u"}}',
        "not valid JSON",
    ),
    Case("single quotes", b"{'messageId':'t5','type':'track'}", "not valid JSON"),
    Case("plain text", b"hello world", "not valid JSON"),
    Case("array line", b"[1, 2, 3]", "not a JSON object"),
    Case("string line", b'"just a string"', "not a JSON object"),
    Case("number line", b"42", "not a JSON object"),
    Case("null line", b"null", "not a JSON object"),
    Case("missing type", _without("missing-type", "type"), "missing 'type'"),
    Case("type null", _e("type-null", type=None), "missing 'type'"),
    Case("type number", _e("type-number", type=5), "'type' must be a string"),
    Case("unknown type", _e("unknown-type", type="purchase"), "unknown type 'purchase'"),
    Case("type empty", _e("type-empty", type=""), "unknown type"),
    Case("no ids", _without("no-ids", "userId"), "neither 'userId' nor 'anonymousId'"),
    Case("null ids", _e("null-ids", userId=None, anonymousId=None), "neither 'userId' nor 'anonymousId'"),
    Case("blank ids", _e("blank-ids", userId="", anonymousId="   "), "neither 'userId' nor 'anonymousId'"),
    Case(
        "userId object",
        _e("uid-object", userId={"id": 1}),
        "'userId' must be a string or a number, got an object",
    ),
    Case(
        "anonymousId array", _e("aid-array", userId=None, anonymousId=["a"]), "'anonymousId' must be a string"
    ),
    Case(
        "userId boolean", _e("uid-bool", userId=True), "'userId' must be a string or a number, got a boolean"
    ),
    Case("track without event", _without("no-event", "event"), "track call without an 'event' name"),
    Case("track event null", _e("event-null", event=None), "track call without an 'event' name"),
    Case("track event blank", _e("event-blank", event="  "), "track call without an 'event' name"),
    Case("event number", _e("event-number", event=12), "'event' must be a string"),
    Case("alias without previousId", _e("alias", type="alias"), "alias call without 'previousId'"),
    Case("group without groupId", _e("group", type="group"), "group call without 'groupId'"),
    Case("groupId object", _e("group-obj", type="group", groupId={"g": 1}), "'groupId' must be a string"),
    Case("page name object", _e("page-name", type="page", name={"n": 1}), "'name' must be a string"),
    Case("timestamp words", _e("ts-words", timestamp="yesterday"), "'timestamp' is not an ISO-8601"),
    Case("timestamp number", _e("ts-number", timestamp=1700000000), "'timestamp' is not an ISO-8601"),
    Case(
        "sentAt impossible date", _e("sent-bad", sentAt="2026-13-45T99:00:00Z"), "'sentAt' is not an ISO-8601"
    ),
    Case("receivedAt boolean", _e("recv-bool", receivedAt=False), "'receivedAt' is not an ISO-8601"),
    Case("originalTimestamp garbage", _e("orig-bad", originalTimestamp="soon"), "'originalTimestamp' is not"),
    Case(
        "no timestamp at all",
        _without("no-ts", "timestamp"),
        "no 'timestamp', 'originalTimestamp' or 'receivedAt'",
    ),
    Case(
        "properties string",
        _e("props-string", properties="a=1"),
        "'properties' must be an object, got a string",
    ),
    Case(
        "traits array",
        _e("traits-array", type="identify", traits=[1]),
        "'traits' must be an object, got an array",
    ),
    Case("context number", _e("context-number", context=7), "'context' must be an object, got a number"),
    Case("huge event", _e("huge", properties={"blob": "x" * 40_000}), "over the Segment limit of 32 KB"),
    Case("messageId object", _e("mid-object", messageId={"id": 1}), "'messageId' must be a string"),
    Case(
        "nulls everywhere",
        line({k: None for k in ("messageId", "type", "event", "userId", "anonymousId", "timestamp")}),
        "missing 'type'",
    ),
    Case("NUL byte", b'{"messageId":"nul","type":"track","event":"A\x00","userId":"u"}', "not valid JSON"),
    Case("control characters", b"\x01\x02\x03", "not valid JSON"),
    Case(
        "invalid UTF-8",
        b'{"messageId":"utf","type":"track","event":"\xff\xfe","userId":"u"}',
        "not valid UTF-8",
    ),
    Case(
        "latin-1 text",
        b'{"messageId":"lat","type":"track","event":"caf\xe9","userId":"u"}',
        "not valid UTF-8",
    ),
]


def _good(n: int) -> bytes:
    return line(event(f"good-{n}", anonymousId=f"anon-{n}"))


def test_every_good_event_lands_once_and_every_bad_one_is_quarantined_with_its_reason(
    tmp_path: Path, warehouse: duckdb.DuckDBPyConnection
) -> None:
    day = tmp_path / "landing" / DAY.isoformat()
    web = day / "web"
    expected_rejects: list[tuple[str, int | None, str]] = []
    good_ids: list[str] = []

    # One file interleaving every kind of bad line with good ones, plus blank lines (not events).
    mixed: list[bytes] = []
    for n, case in enumerate(CASES):
        good_ids.append(f"good-{n}")
        mixed.append(_good(n))
        if n % 10 == 0:
            mixed.append(b"   ")
        mixed.append(case.raw)
        expected_rejects.append((str(web / "mixed.jsonl"), len(mixed), case.reason))
    # A duplicate messageId inside the file, and one across files.
    mixed.append(_good(0))
    expected_rejects.append((str(web / "mixed.jsonl"), len(mixed), "duplicate messageId: first seen in"))
    write_lines(web / "mixed.jsonl", mixed)

    # A clean gzipped file that repeats a messageId of the mixed file (whichever loads first wins).
    clean = [line(event(f"clean-{n}")) for n in range(50)] + [_good(1)]
    good_ids += [f"clean-{n}" for n in range(50)]
    write_lines(web / "clean.jsonl.gz", clean, compress=True)

    # A truncated gzip: the complete lines before the cut load, the cut is recorded.
    whole = gzip.compress(b"".join(line(event(f"trunc-{n}")) + b"\n" for n in range(2000)))
    (web / "truncated.jsonl.gz").write_bytes(whole[: len(whole) // 2])

    # A gzip that is corrupt from its first block, a file with a line longer than DuckDB's line limit.
    (web / "corrupt.jsonl.gz").write_bytes(b"\x1f\x8b\x08\x00" + b"\x00garbage" * 20)
    expected_rejects.append((str(web / "corrupt.jsonl.gz"), 1, "corrupt gzip data"))
    write_lines(web / "long-line.jsonl", [line(event("long-ok")), b'{"pad":"' + b"y" * 3_000_000 + b'"}'])
    good_ids.append("long-ok")
    expected_rejects.append((str(web / "long-line.jsonl"), 2, "over the Segment limit of 32 KB"))

    # Empty files: nothing to load, nothing to reject.
    (web / "empty.jsonl").write_bytes(b"")
    (web / "empty.jsonl.gz").write_bytes(gzip.compress(b""))

    # A Segment /v1/batch body with a bad item, and a batch file that is not valid JSON at all.
    batch_items = [
        event("batch-good"),
        {"type": "identify", "traits": {"plan": "pro"}, "messageId": "batch-bad"},
    ]
    (web / "batch.json").write_bytes(line({"batch": batch_items, "sentAt": "2026-11-02T10:00:01Z"}))
    good_ids.append("batch-good")
    expected_rejects.append((str(web / "batch.json"), 2, "neither 'userId' nor 'anonymousId'"))
    (web / "broken-batch.json").write_bytes(b'{"batch": [{"type": "track",\n  "event": ')
    expected_rejects.append(
        (str(web / "broken-batch.json"), None, "neither JSON lines nor one valid JSON document")
    )

    # Parquet rows (warehouse-style snake_case columns), one without any id.
    pq.write_table(
        pa.table(
            {
                "message_id": ["pq-good", "pq-bad"],
                "type": ["page", "page"],
                "name": ["Home", "Home"],
                "user_id": ["u-pq", None],
                "timestamp": ["2026-11-02T09:00:00Z", "2026-11-02T09:00:00Z"],
            }
        ),
        web / "rows.parquet",
    )
    good_ids.append("pq-good")
    expected_rejects.append((str(web / "rows.parquet"), 2, "neither 'userId' nor 'anonymousId'"))

    result = load_files(warehouse, event_files([day]), DAY)

    loaded = warehouse.execute("select message_id, count(*) from raw_events group by 1").fetchall()
    counts = dict(loaded)
    assert all(n == 1 for n in counts.values()), "an event was loaded twice"
    truncated_ids = {m for m in counts if m.startswith("trunc-")}
    assert len(truncated_ids) > 100  # the readable half of the truncated gzip
    assert set(counts) - truncated_ids == set(good_ids)

    rejected = warehouse.execute(
        "select source_file, line_number, reason, raw from rejected_events order by source_file, line_number"
    ).fetchall()
    for source_file, line_number, reason in expected_rejects:
        matches = [r for r in rejected if r[0] == source_file and r[1] == line_number and reason in r[2]]
        assert matches, f"no rejection '{reason}' for {Path(source_file).name} line {line_number}"
    repeated = [r for r in rejected if r[3] is not None and '"good-1"' in r[3]]
    assert len(repeated) == 1 and "duplicate messageId" in repeated[0][2]
    truncation = [r for r in rejected if r[0].endswith("truncated.jsonl.gz")]
    assert len(truncation) == 1 and "truncated" in truncation[0][2]
    assert truncation[0][1] == len(truncated_ids) + 1

    # Raw text is kept for every rejected line of the mixed file, exactly as written (bad bytes as U+FFFD).
    mixed_rejects = {r[1]: r[3] for r in rejected if r[0].endswith("mixed.jsonl")}
    for (_, line_number, _), case in zip(expected_rejects, CASES, strict=False):
        if case.name == "invalid UTF-8" or case.name == "latin-1 text":
            continue  # raw text has U+FFFD where the bytes were invalid, checked below
        assert mixed_rejects[line_number] == case.raw.decode("utf-8", errors="replace")

    assert "\ufffd" in mixed_rejects[next(r[1] for r in expected_rejects if "UTF-8" in r[2])]
    assert result.accepted == len(counts)
    assert result.rejected == len(rejected)
    # Nothing else is quarantined (blank lines, empty files): the expected ones, the cross-file repeat, the cut.
    assert len(rejected) == len(expected_rejects) + 2
    assert not [r for r in rejected if r[0].endswith("empty.jsonl") or r[0].endswith("empty.jsonl.gz")]

    # Loading the same files again adds nothing anywhere.
    again = load_files(warehouse, event_files([day]), DAY)
    assert again.files == 0
    assert warehouse.execute("select count(*) from raw_events").fetchone()[0] == len(counts)
    assert warehouse.execute("select count(*) from rejected_events").fetchone()[0] == len(rejected)


def test_corpus_has_at_least_forty_kinds_of_malformed_input() -> None:
    # The mixed file's kinds plus the file-level ones built in the test above (duplicates within and
    # across files, truncated gzip, corrupt gzip, over-long line, empty files, bad batch, bad Parquet row).
    assert len({case.name for case in CASES}) + 9 >= 40
