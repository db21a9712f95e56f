"""`destinations.yml`: destinations and which audience syncs where, validated before anything is sent."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from reverse_etl.destinations import DESTINATION_TYPES

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(ValueError):
    """A configuration problem, phrased for the person who wrote the file."""


class DestinationConfig(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str

    @model_validator(mode="after")
    def _known_type(self) -> DestinationConfig:
        if self.type not in DESTINATION_TYPES:
            known = ", ".join(sorted(DESTINATION_TYPES))
            raise ValueError(f"unknown destination type {self.type!r} (known: {known})")
        return self

    def settings(self) -> dict[str, Any]:
        """The destination's settings with `${VAR}` references resolved; call only when about to sync."""
        return {k: resolve_env(v) for k, v in (self.model_extra or {}).items()}


class SyncConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    audience: str
    destination: str
    mode: Literal["upsert", "mirror", "insert", "update"] = "mirror"
    key: str = "profile_id"
    batch_size: int | None = Field(default=None, gt=0)


class DestinationsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    destinations: dict[str, DestinationConfig] = Field(default_factory=dict)
    syncs: list[SyncConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _syncs_name_destinations(self) -> DestinationsFile:
        for sync in self.syncs:
            if sync.destination not in self.destinations:
                raise ValueError(
                    f"sync of audience {sync.audience!r} names unknown destination {sync.destination!r}"
                )
        return self


def resolve_env(value: Any) -> Any:
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ConfigError(f"environment variable {name} is not set (referenced in destinations.yml)")
        return os.environ[name]

    return _ENV_REFERENCE.sub(substitute, value)


def load_destinations(path: Path) -> DestinationsFile:
    if not path.exists():
        return DestinationsFile()
    try:
        raw = yaml.safe_load(path.read_text()) or {}
        return DestinationsFile.model_validate(raw)
    except (yaml.YAMLError, ValidationError) as error:
        raise ConfigError(f"{path}: {error}") from error
