"""The connected-components SQL on Spark agrees with a reference union-find on random graphs, through the
production path: a real in-process `dbt run` looping contraction rounds over scratch tables.
Fewer examples than on DuckDB (each is a dbt run of Spark jobs), each a batch of graphs side by side. The
unrolled strategy (one query of many CTE rounds) is DuckDB's test only: Spark takes minutes to plan it."""

from __future__ import annotations

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


def _load_graph(spark: Any, nodes: list[int], edges: list[tuple[int, int]]) -> None:
    """int_identity_nodes / int_identity_edges as the model reads them: tables in schema `intermediate`."""
    node_frame = spark.createDataFrame([(n,) for n in nodes], "node_id bigint")
    edge_frame = spark.createDataFrame(
        [(a, b, None) for a, b in edges], "node_a bigint, node_b bigint, dropped_by string"
    )
    spark.sql("create schema if not exists intermediate")
    node_frame.write.mode("overwrite").format("parquet").saveAsTable("intermediate.int_identity_nodes")
    edge_frame.write.mode("overwrite").format("parquet").saveAsTable("intermediate.int_identity_edges")


@settings(max_examples=2, phases=[Phase.generate], **SETTINGS)
@given(batch=st.lists(graphs(max_nodes=60), min_size=5, max_size=15))
def test_looped_components_in_dbt_on_spark(
    batch: list[Graph], spark_session: Any, spark_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The production path on Spark: `dbt run` looping rounds over scratch tables until no edge is left."""
    offset, nodes, edges, expected = 0, [], set(), set()
    for node_count, graph_edges in batch:
        nodes += range(offset + 1, offset + node_count + 1)
        edges |= {(min(a, b) + offset, max(a, b) + offset) for a, b in graph_edges if a != b}
        expected |= {
            frozenset(n + offset for n in group) for group in reference_partition(node_count, graph_edges)
        }
        offset += node_count
    _load_graph(spark_session, nodes, sorted(edges))
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
        t.name
        for t in spark_session.catalog.listTables("intermediate")
        if t.name.startswith("int_identity_components__")
    ]
    assert leftovers == [], "the loop's scratch tables are dropped after the build"
