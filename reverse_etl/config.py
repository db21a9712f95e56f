"""`destinations.yml`: destinations and which audience syncs where, validated before anything is sent.

```yaml
destinations:
  crm:
    type: hubspot
    access_token: ${HUBSPOT_TOKEN}      # secrets only as ${ENV_VAR} references, resolved at sync time
    rate_limit_per_second: 9
syncs:
  - audience: trial_support_inactive
    destination: crm
    mode: mirror                        # upsert | mirror | insert | update
    key: profile_id                     # unique, non-null column of the audience
    fields: {email: email, user_id: user_id}   # destination field: audience column (default: all)
    max_removal_share: 0.5              # stop (unless forced) when a run would remove more of them
```
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from reverse_etl.destinations import DESTINATION_TYPES
from reverse_etl.destinations.base import Destination
from reverse_etl.redaction import redact, register_secret

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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

    def resolved(self, name: str) -> dict[str, Any]:
        """The settings with `${VAR}` references resolved; call only when about to sync."""
        return {
            key: resolve_env(value, f"destination {name!r}, setting {key!r}")
            for key, value in {"type": self.type, **(self.model_extra or {})}.items()
        }


class SyncConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    audience: str
    destination: str
    mode: Literal["upsert", "mirror", "insert", "update"] = "mirror"
    key: str = "profile_id"
    fields: dict[str, str] | None = None  # destination field -> audience column; None: every payload column
    batch_size: int | None = Field(default=None, gt=0)
    # A run that would remove more than this share of the members the destination holds is stopped
    # unless forced: an audience that suddenly empties is far more often a bug than a fact.
    max_removal_share: float = Field(default=0.5, ge=0, le=1)

    @field_validator("audience", "key")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _IDENTIFIER.match(value):
            raise ValueError(f"{value!r} must be letters, digits and underscores")
        return value

    @field_validator("fields")
    @classmethod
    def _field_names(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for target, column in (value or {}).items():
            if not _IDENTIFIER.match(column):
                raise ValueError(f"field {target!r} maps to {column!r}, which is not a column name")
        return value


class DestinationsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    destinations: dict[str, DestinationConfig] = Field(default_factory=dict)
    syncs: list[SyncConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _syncs_name_destinations(self) -> DestinationsFile:
        seen: set[tuple[str, str]] = set()
        for sync in self.syncs:
            if sync.destination not in self.destinations:
                raise ValueError(
                    f"sync of audience {sync.audience!r} names unknown destination {sync.destination!r} "
                    f"(defined: {', '.join(sorted(self.destinations)) or 'none'})"
                )
            if (sync.audience, sync.destination) in seen:
                raise ValueError(f"audience {sync.audience!r} is synced to {sync.destination!r} twice")
            seen.add((sync.audience, sync.destination))
        return self

    def select(self, audience: str | None = None, destination: str | None = None) -> list[SyncConfig]:
        return [
            s
            for s in self.syncs
            if (audience is None or s.audience == audience)
            and (destination is None or s.destination == destination)
        ]


def resolve_env(value: Any, where: str) -> Any:
    if isinstance(value, dict):
        return {k: resolve_env(v, where) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_env(v, where) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ConfigError(
                f"environment variable {name} is not set (needed by {where} in destinations.yml)"
            )
        resolved = os.environ[name]
        register_secret(resolved)  # anything from the environment is treated as a secret in all output
        return resolved

    return _ENV_REFERENCE.sub(substitute, value)


def _friendly(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "file"
        lines.append(f"  {where}: {item['msg']}")
    return "\n".join(lines)


def load_destinations(path: Path) -> DestinationsFile:
    if not path.exists():
        return DestinationsFile()
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from error
    try:
        config = DestinationsFile.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(f"{path} has problems:\n{_friendly(error)}") from error
    _refuse_literal_secrets(config, path)
    return config


def secret_settings(destination_type: str) -> list[str]:
    """Settings that hold credentials (declared with `repr=False` in the destination's Settings)."""
    fields = DESTINATION_TYPES[destination_type].Settings.model_fields
    return [name for name, field in fields.items() if field.repr is False]


def _refuse_literal_secrets(config: DestinationsFile, path: Path) -> None:
    """Credentials must be `${ENV_VAR}` references: the file is committed and reviewed, secrets are not."""
    for name, destination in config.destinations.items():
        extra = destination.model_extra or {}
        for setting in secret_settings(destination.type):
            value = extra.get(setting)
            values = value.values() if isinstance(value, dict) else [value]
            if any(v is not None and not _ENV_REFERENCE.search(str(v)) for v in values):
                raise ConfigError(
                    f"{path}: destination {name!r} has a literal value for {setting!r}; write it as an "
                    f"environment variable reference such as ${{{name.upper()}_{setting.upper()}}} so the "
                    "secret never sits in the file"
                )


def build_destination(name: str, config: DestinationConfig) -> Destination:
    """Resolve secrets and validate the destination's own settings; nothing is sent yet."""
    cls = DESTINATION_TYPES[config.type]
    try:
        settings = cls.Settings.model_validate(config.resolved(name))
    except ValidationError as error:
        # Never echo the input values: they may be secrets.
        problems = "\n".join(
            f"  {'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()
        )
        raise ConfigError(f"destination {name!r} ({config.type}) has problems:\n{problems}") from None
    for setting in secret_settings(config.type):
        register_secret(getattr(settings, setting, None))
    try:
        return cls(name, settings)
    except ValueError as error:
        # `from None`: the cause's message may quote the URL, and tracebacks print causes unredacted.
        raise ConfigError(f"destination {name!r} ({config.type}): {redact(str(error))}") from None
