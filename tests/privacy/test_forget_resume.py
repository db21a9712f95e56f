"""`cdp forget` interrupted at each step, then run again, ends exactly where an uninterrupted one does;
forgetting twice changes nothing more. Small real warehouses (fast and exact loader paths, gzip)."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from orchestration.ingestion.loader import load_files
from orchestration.privacy import forget as forget_module
from orchestration.privacy import landing_rewrite
from orchestration.privacy.forget import forget

DAY = dt.date(2026, 3, 1)
NOW = dt.datetime(2026, 3, 2)
PERSON = "carol@example.com"


class Interrupted(BaseException):
    """Stands in for the process dying at that point (not an Exception: nothing may catch it)."""


def _event(n: int, **fields: object) -> str:
    base = {"messageId": f"m{n}", "type": "track", "event": "Viewed", "timestamp": "2026-03-01T10:00:00Z"}
    return json.dumps({**base, **fields})


def _lines(first: int) -> list[str]:
    """Carol's lines between other people's, so the lines after hers move up. Two name her only by an
    id the identity graph links to her email: a rerun after the graph forgot her finds them by hash."""
    return [
        _event(first, userId="dave"),
        _event(first + 1, userId="u-carol", traits={"email": "Carol@Example.com"}, type="identify"),
        _event(first + 2, userId="erin"),
        _event(first + 3, anonymousId="x", properties={"note": "friend of carol@example.com"}),
        _event(first + 4, anonymousId="anon-carol"),
        _event(first + 5, userId="frank"),
        _event(first + 6, userId="u-carol", type="identify"),
    ]


def _build(home: Path) -> None:
    folder = home / "landing" / DAY.isoformat() / "web"
    folder.mkdir(parents=True)
    (folder / "fast.jsonl").write_text("\n".join(_lines(1)) + "\n")
    (folder / "exact.jsonl").write_text("\n".join([*_lines(10), "{broken", _event(30, userId="gina")]) + "\n")
    (folder / "zipped.jsonl.gz").write_bytes(gzip.compress(("\n".join(_lines(40)) + "\n").encode()))
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        load_files(con, sorted(folder.iterdir()), DAY, NOW)
        # What an identity build would say: Carol's three identifiers are one profile.
        con.execute(
            """
            create table identity_graph as select * from (values
                ('email', 'carol@example.com', 'p-carol'), ('user_id', 'u-carol', 'p-carol'),
                ('anonymous_id', 'anon-carol', 'p-carol'), ('user_id', 'dave', 'p-dave')
            ) v(id_type, id_value, profile_id)
            """
        )
        con.execute("create table profiles as select distinct profile_id from identity_graph")


def _state(home: Path) -> dict[str, object]:
    """Everything a forget changes, with paths relative to the home."""
    files, sizes = {}, {}
    for path in sorted((home / "landing").rglob("*.jsonl*")):
        data = path.read_bytes()
        sizes[path.name] = len(data)
        files[path.name] = (gzip.decompress(data) if path.suffix == ".gz" else data).decode()
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select message_id, replace(source_file, ?, ''), line_number from raw_events order by all",
            [str(home)],
        ).fetchall()
        rejected = con.execute(
            "select raw, replace(source_file, ?, ''), line_number from rejected_events order by all",
            [str(home)],
        ).fetchall()
        loaded = con.execute(
            "select replace(source_file, ?, ''), size_bytes, events_loaded, events_rejected from loaded_files "
            "order by all",
            [str(home)],
        ).fetchall()
        steps = con.execute(
            "select count(*), count(warehouse_completed_at), count(landing_completed_at), "
            "count(destinations_completed_at) from deletion_requests"
        ).fetchone()
        (journal,) = con.execute("select count(*) from deletion_landing_lines").fetchone()
        graph = con.execute("select * from identity_graph order by all").fetchall()
    return {
        "files": files,
        "sizes": sizes,
        "rows": rows,
        "rejected": rejected,
        "loaded": loaded,
        "steps": steps,
        "journal": journal,
        "graph": graph,
    }


def _forget(home: Path):
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        return forget(con, home, PERSON)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    home = tmp_path_factory.mktemp("reference")
    _build(home)
    _forget(home)
    return _state(home)


def test_uninterrupted_forget_leaves_consistent_files_and_line_numbers(reference: dict[str, object]) -> None:
    files = reference["files"]
    assert all("carol" not in text.lower() for text in files.values())
    assert reference["graph"] == [("user_id", "dave", "p-dave")]
    kept = [f"m{n}" for first in (1, 10, 40) for n in (first, first + 2, first + 5)] + ["m30"]
    assert sorted(m for m, _, _ in reference["rows"]) == sorted(kept)
    for message_id, source, line in reference["rows"]:
        assert json.loads(files[Path(source).name].splitlines()[line - 1])["messageId"] == message_id
    # The broken line moved up by the four lines of hers before it, and its file's counts follow.
    assert [(r[0], r[2]) for r in reference["rejected"]] == [("{broken", 4)]
    sizes = {Path(f).name: (size, loaded, rejected) for f, size, loaded, rejected in reference["loaded"]}
    assert sizes["exact.jsonl"][1:] == (4, 1) and sizes["fast.jsonl"][1:] == (3, 0)
    assert {Path(f).name: size for f, size, _, _ in reference["loaded"]} == reference["sizes"]
    assert reference["steps"] == (1, 1, 1, 1) and reference["journal"] == 0


@pytest.mark.parametrize(
    ("target", "calls_before_dying"),
    [
        ("_delete_warehouse", 0),  # after the request is recorded, before any deletion
        ("_durable_replace", 0),  # a landing file rewritten and journalled, not yet renamed
        ("_durable_replace", 1),  # one file renamed, the next not
        ("_renumber", 0),  # every file renamed, the warehouse not yet told
    ],
)
def test_rerun_after_an_interruption_ends_where_an_uninterrupted_forget_does(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    reference: dict[str, object],
    target: str,
    calls_before_dying: int,
) -> None:
    home = tmp_path / "home"
    _build(home)
    module = landing_rewrite if target == "_durable_replace" else forget_module
    real = getattr(module, target)
    calls = {"n": 0}

    def dying(*args, **kwargs):
        if calls["n"] >= calls_before_dying:
            raise Interrupted
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(module, target, dying)
    with pytest.raises(Interrupted):
        _forget(home)
    monkeypatch.undo()
    report = _forget(home)
    assert report.resumed
    assert _state(home) == reference


def test_forgetting_twice_changes_nothing_more(tmp_path: Path, reference: dict[str, object]) -> None:
    home = tmp_path / "home"
    _build(home)
    _forget(home)
    again = _forget(home)
    assert sum(again.deleted.values()) == 0 and again.landing_lines == 0
    state = _state(home)
    assert state["steps"] == (2, 2, 2, 2)
    assert {k: v for k, v in state.items() if k != "steps"} == {
        k: v for k, v in reference.items() if k != "steps"
    }


def test_parquet_files_and_batch_documents_are_rewritten_without_her(tmp_path: Path) -> None:
    home = tmp_path / "home"
    folder = home / "landing" / DAY.isoformat() / "export"
    folder.mkdir(parents=True)
    events = [json.loads(line) for line in _lines(1)]
    (folder / "batch.json").write_text(json.dumps({"batch": events, "sentAt": "2026-03-01T10:00:00Z"}))
    (folder / "zipped.json.gz").write_bytes(gzip.compress(json.dumps(events).encode()))
    with duckdb.connect() as scratch:
        scratch.execute(
            "copy (select * from (values ('p1', 'track', 'Viewed', 'dave', null::varchar, "
            "'2026-03-01T10:00:00Z'), ('p2', 'track', 'Viewed', 'U-Carol', null, '2026-03-01T10:00:00Z'), "
            "('p3', 'track', 'Viewed', null, 'anon-carol', '2026-03-01T10:00:00Z')) "
            "v(message_id, type, event, user_id, anonymous_id, timestamp)) to "
            f"'{folder / 'rows.parquet'}' (format parquet)"
        )
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        load_files(con, sorted(folder.iterdir()), DAY, NOW)
        (loaded,) = con.execute("select count(*) from raw_events").fetchone()
        con.execute(
            "create table identity_graph as select * from (values ('email', 'carol@example.com', 'p-carol'), "
            "('user_id', 'u-carol', 'p-carol'), ('anonymous_id', 'anon-carol', 'p-carol')) v(id_type, id_value, profile_id)"
        )
        con.execute("create table profiles as select distinct profile_id from identity_graph")
        report = forget(con, home, PERSON)
        kept = sorted(m for (m,) in con.execute("select message_id from raw_events").fetchall())
    batch = json.loads((folder / "batch.json").read_text())
    assert [e["messageId"] for e in batch["batch"]] == ["m1", "m3", "m6"] and batch["sentAt"]
    assert [
        e["messageId"] for e in json.loads(gzip.decompress((folder / "zipped.json.gz").read_bytes()))
    ] == [
        "m1",
        "m3",
        "m6",
    ]
    with duckdb.connect() as scratch:
        rows = scratch.execute(f"select message_id from '{folder / 'rows.parquet'}' order by 1").fetchall()
    assert rows == [("p1",)]
    assert report.landing_files == 3 and report.landing_lines == 4 + 4 + 2
    # The loader saw the batch and the array as one document each, with messageIds repeated: only
    # the first copies loaded; hers are gone from the warehouse too.
    assert loaded > len(kept) and "m2" not in kept and "p2" not in kept and "p3" not in kept


def test_lines_a_live_collector_still_holds_wait_for_a_rerun(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _build(home)
    segment = home / "landing" / DAY.isoformat() / "web" / ".collector-20260301T100000-1-1.jsonl.open"
    segment.write_text(_event(90, userId="dave") + "\n" + _event(91, userId="u-carol") + "\n")
    first = _forget(home)
    assert first.landing_waiting == 1 and first.steps["landing"] is None
    segment.rename(segment.with_name("collector-20260301T100000-1-1.jsonl"))  # the collector seals it
    second = _forget(home)
    sealed = (segment.parent / "collector-20260301T100000-1-1.jsonl").read_text()
    assert second.resumed and second.landing_lines == 1 and second.steps["landing"] is not None
    assert "u-carol" not in sealed and "dave" in sealed


def test_a_shared_tablet_keeps_the_rest_of_the_family(tmp_path: Path) -> None:
    home = tmp_path / "home"
    folder = home / "landing" / DAY.isoformat() / "web"
    folder.mkdir(parents=True)
    tablet = {"device": {"id": "family-tablet-0042"}}
    lines = [
        _event(1, userId="u-carol", context=tablet),
        _event(2, userId="dave", context=tablet),
        _event(3, anonymousId="anon-dave", context=tablet),
    ]
    (folder / "events.jsonl").write_text("\n".join(lines) + "\n")
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        load_files(con, [folder / "events.jsonl"], DAY, NOW)
        # The build gave the tablet to Carol (first seen), as identity rules do for a shared device.
        con.execute(
            "create table identity_graph as select * from (values ('user_id', 'u-carol', 'p-carol'), "
            "('device_id', 'family-tablet-0042', 'p-carol'), ('user_id', 'dave', 'p-dave'), "
            "('anonymous_id', 'anon-dave', 'p-dave')) v(id_type, id_value, profile_id)"
        )
        con.execute("create table profiles as select distinct profile_id from identity_graph")
        forget(con, home, "u-carol", suppress_future=True)
        kept = sorted(m for (m,) in con.execute("select message_id from raw_events").fetchall())
        graph = con.execute("select id_value from identity_graph order by 1").fetchall()
        (suppressed,) = con.execute("select count(*) from suppressed_identifiers").fetchone()
    assert kept == ["m2", "m3"] and graph == [("anon-dave",), ("dave",)]
    assert (folder / "events.jsonl").read_text().count("family-tablet-0042") == 2
    assert suppressed == 2  # her user id and her profile id; not the tablet


def test_a_landing_that_identifies_files_by_content_gets_the_new_content_hash(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _build(home)
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        before = dict(con.execute("select source_file, content_hash from loaded_files").fetchall())
        forget(con, home, PERSON)
        hashes = dict(con.execute("select source_file, content_hash from loaded_files").fetchall())
    assert hashes == {f: hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in hashes}
    assert any(hashes[f] != before[f] for f in hashes), "no landing file was rewritten"
