"""Every test here runs Spark (a local PySpark session, Java 17): marked `spark`, run on its own with `-m spark`."""

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/spark/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.spark)
