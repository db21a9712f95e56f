"""Write keys: one per source, so every event is tagged with the source it came from.

From `cdp collect --write-key KEY=SOURCE` and from `CDP_HOME/collector.yml`:

    write_keys:
      web: ${CDP_WEB_WRITE_KEY}     # source: key; `${VAR}` is read from the environment
      ios: a-literal-key

Keys are secrets: they are never logged, and never written into landing files.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError, field_validator

_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_SOURCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class WriteKeyError(ValueError):
    """A write-key configuration a user must fix; the message says what and where."""


class CollectorConfig(BaseModel):
    write_keys: dict[str, str] = {}

    @field_validator("write_keys")
    @classmethod
    def _sources_are_folder_names(cls, value: dict[str, str]) -> dict[str, str]:
        for source in value:
            if not _SOURCE.match(source):
                raise ValueError(
                    f"source {source!r} must be letters, digits, '_', '-' or '.' (it names a folder)"
                )
        return value


def _resolve(value: str, where: str) -> str:
    match = _ENV_REF.match(value.strip())
    if not match:
        return value
    resolved = os.environ.get(match[1])
    if not resolved:
        raise WriteKeyError(f"{where}: environment variable {match[1]} is not set")
    return resolved


def parse_cli_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """`KEY=SOURCE` pairs from the command line, as {key: source}."""
    keys: dict[str, str] = {}
    for pair in pairs:
        key, sep, source = pair.rpartition("=")
        if not sep or not key or not _SOURCE.match(source):
            raise WriteKeyError("--write-key takes KEY=SOURCE (SOURCE: letters, digits, '_', '-', '.')")
        keys[_resolve(key, "--write-key")] = source
    return keys


def load_config_file(path: Path) -> dict[str, str]:
    """The write keys in a `collector.yml`, as {key: source}; {} if the file does not exist."""
    if not path.exists():
        return {}
    try:
        config = CollectorConfig.model_validate(yaml.safe_load(path.read_text()) or {})
    except (yaml.YAMLError, ValidationError) as error:
        raise WriteKeyError(f"{path}: {error}") from error
    return {_resolve(key, f"{path}: source {source!r}"): source for source, key in config.write_keys.items()}


def write_keys(cli_pairs: Iterable[str], config_file: Path) -> Mapping[str, str]:
    """All configured write keys, {key: source}; the command line wins over the file."""
    keys = {**load_config_file(config_file), **parse_cli_pairs(cli_pairs)}
    if not keys:
        raise WriteKeyError(
            f"no write keys: pass --write-key KEY=SOURCE or list them under write_keys in {config_file}"
        )
    return keys
