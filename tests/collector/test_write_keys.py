"""Write keys from the command line and from CDP_HOME/collector.yml, with ${ENV} references."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.collector.write_keys import WriteKeyError, write_keys


def test_keys_come_from_the_file_and_the_command_line_with_env_references_resolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDP_WEB_WRITE_KEY", "from-env")
    config = tmp_path / "collector.yml"
    config.write_text("write_keys:\n  web: ${CDP_WEB_WRITE_KEY}\n  ios: literal-ios-key\n")
    keys = write_keys(["cli-key=backend", "literal-ios-key=ios-override"], config)
    assert dict(keys) == {"from-env": "web", "literal-ios-key": "ios-override", "cli-key": "backend"}


def test_a_missing_env_variable_or_no_key_at_all_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CDP_MISSING_KEY", raising=False)
    config = tmp_path / "collector.yml"
    config.write_text("write_keys:\n  web: ${CDP_MISSING_KEY}\n")
    with pytest.raises(WriteKeyError, match="CDP_MISSING_KEY is not set"):
        write_keys([], config)
    with pytest.raises(WriteKeyError, match="no write keys"):
        write_keys([], tmp_path / "absent.yml")
    with pytest.raises(WriteKeyError, match="KEY=SOURCE"):
        write_keys(["no-source-given"], tmp_path / "absent.yml")
    config.write_text("write_keys:\n  '../etc': k\n")
    with pytest.raises(WriteKeyError, match="names a folder"):
        write_keys([], config)
