"""`cdp ingest` lands event data only, and says when a file is mostly rejected (issue 10, defect 10).

`cdp ingest /etc` used to copy 320 files into the landing zone without a word: `/etc/alternatives`
links to gzipped man pages, and any `.gz` or `.json` name passed for an event file.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from orchestration.cli import app
from tests.conftest import cdp_home
from tests.ingestion.conftest import event, line, write_lines

runner = CliRunner()

MAN_PAGE = b'.TH LS 1 "2024" "GNU coreutils"\n.SH NAME\nls \\- list directory contents\n' * 40


def _system_folder(root: Path) -> Path:
    """Something like /etc: man pages behind symlinks, JSON configuration, gzipped logs."""
    (root / "man").mkdir(parents=True)
    (root / "alternatives").mkdir()
    for name in ("ls.1.gz", "cp.1.gz", "SELECT.7.gz"):
        (root / "man" / name).write_bytes(gzip.compress(MAN_PAGE))
        (root / "alternatives" / name).symlink_to(root / "man" / name)
    (root / "docker").mkdir()
    (root / "docker" / "daemon.json").write_text(json.dumps({"log-driver": "json-file", "type": "overlay2"}))
    (root / "logrotate.log.gz").write_bytes(gzip.compress(b"rotating /var/log/syslog\n" * 10))
    return root


def _landed(home: Path) -> list[Path]:
    landing = home / "landing"
    return sorted(p for p in landing.rglob("*") if p.is_file()) if landing.exists() else []


def test_a_folder_without_event_data_is_refused_and_nothing_lands(tmp_path: Path) -> None:
    folder = _system_folder(tmp_path / "etc")
    home = tmp_path / "home"
    with cdp_home(home):
        result = runner.invoke(app, ["ingest", str(folder)])
    assert result.exit_code == 1, result.output
    message = " ".join(result.output.split())
    assert f"no event files in {folder}" in message and "nothing was landed" in message
    assert len(result.output.strip().splitlines()) <= 2  # one line, maybe wrapped by the console
    assert _landed(home) == []
    assert not (home / "warehouse.duckdb").exists()


def test_a_path_list_with_a_folder_or_file_that_is_not_event_data_lands_nothing(tmp_path: Path) -> None:
    events = write_lines(tmp_path / "events" / "2026-11-02" / "web" / "a.jsonl", [line(event("e1"))])
    system = _system_folder(tmp_path / "etc")
    home = tmp_path / "home"
    with cdp_home(home):
        with_folder = runner.invoke(app, ["ingest", str(events), str(system)])
        with_file = runner.invoke(app, ["ingest", str(events), str(system / "man" / "ls.1.gz")])
    assert (with_folder.exit_code, with_file.exit_code) == (1, 1)
    assert "not an event file" in " ".join(with_file.output.split())
    assert _landed(home) == []


def test_only_the_event_files_of_a_mixed_folder_land_and_the_others_are_named(tmp_path: Path) -> None:
    folder = _system_folder(tmp_path / "export")
    write_lines(folder / "2026-11-02" / "web" / "part-0.json.gz", [line(event("e1"))], compress=True)
    batch = {"batch": [event("e2"), event("e3")], "sentAt": "2026-11-02T10:00:01Z"}
    (folder / "2026-11-02" / "web" / "batch.json").write_text(json.dumps(batch, indent=2))
    home = tmp_path / "home"
    with cdp_home(home):
        result = runner.invoke(app, ["ingest", str(folder)])
    assert result.exit_code == 0, result.output
    assert [p.name for p in _landed(home)] == ["batch.json", "part-0.json.gz"]
    message = " ".join(result.output.split())
    assert "skipped 8 files that hold no event data" in message
    assert "loaded 3 events, rejected 0" in message


def test_a_mostly_rejected_file_is_named_with_its_counts_and_where_to_look(tmp_path: Path) -> None:
    day = tmp_path / "in" / "2026-11-02" / "web"
    good = write_lines(day / "good.jsonl", [line(event(f"g{n}")) for n in range(10)] + [b"{broken"])
    bad_lines = [line(event(f"b{n}", type="purchase")) for n in range(7)] + [
        line(event(f"ok{n}")) for n in range(3)
    ]
    bad = write_lines(day / "bad.jsonl", bad_lines)
    home = tmp_path / "home"
    with cdp_home(home):
        result = runner.invoke(app, ["ingest", str(tmp_path / "in")])
    assert result.exit_code == 0, result.output
    message = " ".join(result.output.split())
    landed_bad = home / "landing" / "2026-11-02" / "web" / bad.name
    assert f"warning: {landed_bad}: 7 of 10 records rejected" in message
    assert "unknown type 'purchase'" in message and f"cdp rejected --file {landed_bad}" in message
    assert good.name not in message  # 1 of 11 rejected is no cause for a warning
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from rejected_events").fetchone() == (8,)
