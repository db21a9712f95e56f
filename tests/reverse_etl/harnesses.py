"""Each HTTP destination with its contract server, and how to compare what it holds with the audience.

Fault tests run the same scenarios over every harness here.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import duckdb

from reverse_etl.contract_server import ContractServer
from reverse_etl.demo_server import WebhookServer
from reverse_etl.destinations.meta import sha256
from tests.reverse_etl.conftest import AUDIENCE, expected_members
from tests.reverse_etl.servers.braze import BrazeServer
from tests.reverse_etl.servers.hubspot import HubSpotServer
from tests.reverse_etl.servers.meta import MetaServer
from tests.reverse_etl.servers.salesforce import SalesforceServer
from tests.reverse_etl.servers.segment import SegmentServer


def _email_of(key: str) -> str:
    return f"user{int(key[1:])}@example.com"  # the convention of conftest.create_audience


@dataclass(frozen=True)
class Harness:
    name: str
    server: Callable[[], AbstractContextManager[ContractServer]]
    settings: Callable[[ContractServer], dict[str, Any]]
    held: Callable[[ContractServer], Any]  # what the destination holds, comparable with `expected`
    expected: Callable[[duckdb.DuckDBPyConnection], Any]
    batch_size: int = 10  # records per request in the fault scenarios
    reject: Callable[[ContractServer, set[str]], None] = field(
        default=lambda server, keys: server.reject_keys.update(keys)
    )


def _with_flag(flag: Any, drop: tuple[str, ...] = ()) -> Callable[[duckdb.DuckDBPyConnection], Any]:
    def expected(con):
        return {
            key: {**{k: v for k, v in payload.items() if k not in drop}, AUDIENCE: flag}
            for key, payload in expected_members(con).items()
        }

    return expected


HARNESSES = [
    Harness(
        name="webhook",
        server=lambda: WebhookServer(secret="hook-secret"),
        settings=lambda s: {"type": "webhook", "url": s.url, "secret": "hook-secret"},
        held=lambda s: s.members(AUDIENCE),
        expected=expected_members,
    ),
    Harness(
        name="segment",
        server=lambda: SegmentServer(write_key="wk"),
        settings=lambda s: {"type": "segment", "base_url": s.address, "write_key": "wk"},
        held=lambda s: {user: traits for user, traits in s.users.items() if traits.get(AUDIENCE) is True},
        expected=lambda con: {p["user_id"]: {**p, AUDIENCE: True} for p in expected_members(con).values()},
    ),
    Harness(
        name="hubspot",
        server=lambda: HubSpotServer(token="hs-token"),
        settings=lambda s: {
            "type": "hubspot",
            "base_url": s.address,
            "access_token": "hs-token",
            "rate_limit_per_second": 1000,
        },
        held=lambda s: {email: p for email, p in s.contacts.items() if p.get(AUDIENCE) == "true"},
        expected=lambda con: {
            p["email"]: {
                "profile_id": p["profile_id"],
                "user_id": p["user_id"],
                "plan": p["plan"],
                AUDIENCE: "true",
            }
            for p in expected_members(con).values()
        },
    ),
    Harness(
        name="salesforce",
        server=lambda: SalesforceServer(token="sf-token"),
        settings=lambda s: {"type": "salesforce", "instance_url": s.address, "access_token": "sf-token"},
        held=lambda s: {
            key: {k: v for k, v in fields.items() if k not in ("CDP_Profile_Id__c", "Vip__c")}
            for key, fields in s.records.items()
            if fields.get("Vip__c") is True
        },
        expected=expected_members,
    ),
    Harness(
        name="meta",
        server=lambda: MetaServer(token="fb-token", audience_id="6123456789"),
        settings=lambda s: {
            "type": "meta_custom_audience",
            "base_url": s.address,
            "access_token": "fb-token",
            "audience_id": "6123456789",
        },
        held=lambda s: set(s.members),
        expected=lambda con: {sha256(p["email"]) for p in expected_members(con).values()},
        reject=lambda server, keys: server.reject_hashes.update(sha256(_email_of(k)) for k in keys),
    ),
    Harness(
        name="braze",
        server=lambda: BrazeServer(api_key="bz-key"),
        settings=lambda s: {"type": "braze", "rest_endpoint": s.address, "api_key": "bz-key"},
        held=lambda s: {
            uid: {k: v for k, v in attrs.items() if k != AUDIENCE}
            for uid, attrs in s.users.items()
            if attrs.get(AUDIENCE) is True
        },
        expected=lambda con: {
            p["user_id"]: {k: v for k, v in p.items() if k != "user_id"}
            for p in expected_members(con).values()
        },
    ),
]
