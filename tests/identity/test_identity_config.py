"""Bad identity configuration fails `dbt parse` with a message that names the entry and the problem."""

from __future__ import annotations

import pytest

from tests.identity.conftest import DbtProjectRun

BASE = {"user_id": {"priority": 1, "limit": 1}, "anonymous_id": {"priority": 6}}


@pytest.mark.parametrize(
    ("vars", "message"),
    [
        (
            {"identity_identifiers": {**BASE, "loyalty_card": {"priority": 3}}},
            "identity_identifiers.loyalty_card: unknown identifier type",
        ),
        (
            {"identity_identifiers": {**BASE, "email": {"priority": 2, "limit": -5}}},
            "identity_identifiers.email.limit: must be a positive integer or null",
        ),
        (
            {"identity_blocked_patterns": ["0+", "(unclosed"]},
            "identity_blocked_patterns[1] '(unclosed': has a '(' without a closing ')'",
        ),
    ],
    ids=["unknown_type", "negative_limit", "malformed_pattern"],
)
def test_bad_configuration_fails_parse_naming_the_entry(
    identity_project: DbtProjectRun, vars: dict, message: str
) -> None:
    result = identity_project.invoke(["parse"], vars=vars)
    assert not result.success
    assert message in str(result.exception)
