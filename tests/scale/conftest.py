"""The identity tests' dbt fixtures: a fresh warehouse per test, one dbt target folder per session."""

from tests.identity.conftest import dbt_target, identity_project

__all__ = ["dbt_target", "identity_project"]
