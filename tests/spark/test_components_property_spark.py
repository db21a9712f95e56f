"""The connected-components SQL on Spark agrees with a reference union-find on random graphs: the unrolled
rounds as one Spark query, and the production loop (cached scratch views) through a real in-process dbt run.
Fewer examples than on DuckDB: every one is a Spark job."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.identity.conftest import DbtProjectRun
from tests.identity.test_components_property import Graph, graphs, reference_partition
from tests.spark.engines import environment

SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture]}


def _partition(rows: list[Any]) -> set[frozenset[int]]:
    assert {row["remaining_edges"] for row in rows} <= {0}, "contraction stopped with edges left"
    groups: dict[int, set[int]] = {}
    for row in rows:
        groups.setdefault(row["component_id"], set()).add(row["node_id"])
    assert all(component == min(group) for component, group in groups.items()), (
        "components are named by their smallest node"
    )
    return {frozenset(group) for group in groups.values()}


def _load_graph(spark: Any, nodes: list[int], edges: list[tuple[int, int]], where: str) -> None:
    """int_identity_nodes / int_identity_edges as `where` says: temporary views, or tables in `intermediate`."""
    node_frame = spark.createDataFrame([(n,) for n in nodes], "node_id bigint")
    edge_frame = spark.createDataFrame(
        [(a, b, None) for a, b in edges], "node_a bigint, node_b bigint, dropped_by string"
    )
    if where == "views":
        node_frame.createOrReplaceTempView("int_identity_nodes")
        edge_frame.createOrReplaceTempView("int_identity_edges")
        return
    spark.sql("create schema if not exists intermediate")
    node_frame.write.mode("overwrite").format("parquet").saveAsTable("intermediate.int_identity_nodes")
    edge_frame.write.mode("overwrite").format("parquet").saveAsTable("intermediate.int_identity_edges")


@pytest.fixture(scope="module")
def unrolled_spark_sql(spark_session: Any, spark_home: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The components model compiled for Spark with unrolled rounds, reading the graph's temporary views."""
    target = tmp_path_factory.mktemp("spark_components_target")
    with environment(CDP_ENGINE="spark"):
        result = DbtProjectRun(home=spark_home, target=target).invoke(
            ["compile", "--select", "int_identity_components"],
            vars={"identity_components_strategy": "unrolled", "identity_max_rounds": 24},
        )
    assert result.success, result.exception
    compiled = (target / "compiled/cdp/models/intermediate/int_identity_components.sql").read_text()
    return re.sub(r"`?intermediate`?\.`?(int_identity_(?:nodes|edges))`?", r"\1", compiled)


@settings(max_examples=12, **SETTINGS)
@given(graph=graphs(max_nodes=30))
def test_components_match_union_find_on_spark(
    graph: Graph, unrolled_spark_sql: str, spark_session: Any
) -> None:
    node_count, edges = graph
    normalised = sorted({(min(a, b), max(a, b)) for a, b in edges if a != b})
    _load_graph(spark_session, list(range(1, node_count + 1)), normalised, "views")
    rows = spark_session.sql(unrolled_spark_sql).collect()
    assert sorted(row["node_id"] for row in rows) == list(range(1, node_count + 1)), (
        "every node gets one component"
    )
    assert _partition(rows) == reference_partition(*graph)


@settings(max_examples=1, phases=[Phase.generate], **SETTINGS)
@given(batch=st.lists(graphs(max_nodes=60), min_size=5, max_size=15))
def test_looped_components_in_dbt_on_spark(
    batch: list[Graph], spark_session: Any, spark_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The production path on Spark: `dbt run` looping rounds over cached scratch views until no edge is left."""
    offset, nodes, edges, expected = 0, [], set(), set()
    for node_count, graph_edges in batch:
        nodes += range(offset + 1, offset + node_count + 1)
        edges |= {(min(a, b) + offset, max(a, b) + offset) for a, b in graph_edges if a != b}
        expected |= {
            frozenset(n + offset for n in group) for group in reference_partition(node_count, graph_edges)
        }
        offset += node_count
    _load_graph(spark_session, nodes, sorted(edges), "tables")
    target = tmp_path_factory.mktemp("spark_components_loop")
    with environment(CDP_ENGINE="spark"):
        result = DbtProjectRun(home=spark_home, target=target).invoke(
            ["run", "--select", "int_identity_components"]
        )
    assert result.success, result.exception
    rows = spark_session.sql(
        "select node_id, component_id, remaining_edges from intermediate.int_identity_components"
    ).collect()
    assert _partition(rows) == expected
    leftovers = [
        t.name for t in spark_session.catalog.listTables() if t.name.startswith("int_identity_components__")
    ]
    assert leftovers == [], "the loop's scratch views are dropped after the build"
