"""Every test here runs Spark (a local PySpark session, Java 17): marked `spark`, run on its own with `-m spark`."""

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/spark/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.spark)


@pytest.fixture(scope="session")
def spark_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CDP_HOME for in-process Spark runs, with raw_events staged (empty) as the dbt project's hook expects."""
    import duckdb

    from orchestration.ingestion.spark_staging import stage_raw_events

    home = tmp_path_factory.mktemp("spark_home")
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        stage_raw_events(con, home / "spark")
    return home


@pytest.fixture(scope="session")
def spark_session(spark_home: Path) -> Iterator[Any]:
    """The one in-process SparkSession of the test session, configured as profiles.yml configures dbt's
    (dbt-spark's session method, run in process by dbtRunner, picks this session up)."""
    from pyspark.sql import SparkSession

    if shutil.which("java") is None:
        pytest.skip("Spark needs Java 17 (`make java` installs it)")
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in {
        "spark.master": "local[2]",
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "4",
        "spark.sql.warehouse.dir": str(spark_home / "spark" / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={spark_home / 'spark' / 'metastore_db'};create=true"
        ),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={spark_home / 'spark'} -Duser.timezone=UTC",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.timestampType": "TIMESTAMP_NTZ",
        "spark.sql.ansi.enabled": "false",
        "spark.sql.analyzer.maxIterations": "1000",
        "spark.sql.optimizer.maxIterations": "1000",
    }.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
