"""The connected-components SQL agrees with a reference union-find on random graphs (no limits involved)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.identity.conftest import DbtProjectRun

Graph = tuple[int, list[tuple[int, int]]]


class UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, node: int) -> int:
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)


def reference_partition(node_count: int, edges: list[tuple[int, int]]) -> set[frozenset[int]]:
    forest = UnionFind(node_count + 1)
    for a, b in edges:
        forest.union(a, b)
    groups: dict[int, set[int]] = {}
    for node in range(1, node_count + 1):
        groups.setdefault(forest.find(node), set()).add(node)
    return {frozenset(group) for group in groups.values()}


@st.composite
def graphs(draw: st.DrawFn, max_nodes: int = 40) -> Graph:
    """Random graphs mixing arbitrary edges with the shapes that break naive algorithms: paths, cycles, stars."""
    node_count = draw(st.integers(min_value=1, max_value=max_nodes))
    node = st.integers(min_value=1, max_value=node_count)
    edges = draw(st.lists(st.tuples(node, node), max_size=2 * node_count))
    order = draw(st.permutations(range(1, node_count + 1)))
    shape = draw(st.sampled_from(["random", "path", "cycle", "star"]))
    if shape == "path":
        edges += list(zip(order, order[1:], strict=False))
    elif shape == "cycle":
        edges += list(zip(order, [*order[1:], order[0]], strict=True))
    elif shape == "star":
        edges += [(order[0], other) for other in order[1:]]
    return node_count, edges


def sql_partition(con: duckdb.DuckDBPyConnection, compiled_sql: str, graph: Graph) -> set[frozenset[int]]:
    node_count, edges = graph
    normalised = sorted({(min(a, b), max(a, b)) for a, b in edges if a != b})
    con.execute("delete from warehouse.intermediate.int_identity_nodes")
    con.execute("delete from warehouse.intermediate.int_identity_edges")
    con.execute(
        "insert into warehouse.intermediate.int_identity_nodes select range from range(1, ?)",
        [node_count + 1],
    )
    if normalised:
        con.executemany(
            "insert into warehouse.intermediate.int_identity_edges values (?, ?, null)", normalised
        )
    rows = con.execute(f"select node_id, component_id, remaining_edges from ({compiled_sql})").fetchall()
    assert all(remaining == 0 for _, _, remaining in rows), "contraction stopped with edges left"
    assert sorted(node for node, _, _ in rows) == list(range(1, node_count + 1)), (
        "every node gets one component"
    )
    groups: dict[int, set[int]] = {}
    for node, component, _ in rows:
        groups.setdefault(component, set()).add(node)
    assert all(component == min(group) for component, group in groups.items()), (
        "components are named by their smallest node"
    )
    return {frozenset(group) for group in groups.values()}


@pytest.fixture(scope="module")
def unrolled_components_sql(tmp_path_factory: pytest.TempPathFactory, dbt_target: Path) -> str:
    """The components model compiled with unrolled rounds: the same round SQL the loop runs, as one query."""
    home = tmp_path_factory.mktemp("components_property")
    project = DbtProjectRun(home=home, target=dbt_target)
    result = project.invoke(
        ["compile", "--select", "int_identity_components"],
        vars={"identity_components_strategy": "unrolled", "identity_max_rounds": 24},
    )
    assert result.success, result.exception
    return (dbt_target / "compiled/cdp/models/intermediate/int_identity_components.sql").read_text()


@pytest.fixture(scope="module")
def graph_database() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("attach ':memory:' as warehouse")
    con.execute("create schema warehouse.intermediate")
    con.execute("create table warehouse.intermediate.int_identity_nodes (node_id bigint)")
    con.execute(
        "create table warehouse.intermediate.int_identity_edges (node_a bigint, node_b bigint, dropped_by varchar)"
    )
    return con


def side_by_side(batch: list[Graph]) -> Graph:
    """Disjoint graphs as one: each query's fixed cost (the 24 unrolled rounds) is paid per batch."""
    offset, edges = 0, []
    for node_count, graph_edges in batch:
        edges += [(a + offset, b + offset) for a, b in graph_edges]
        offset += node_count
    return offset, edges


# ~125 graphs in 50 queries (one query per graph took ~0.9 s, 150 of them two minutes of the suite).
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(graphs(), min_size=1, max_size=4))
def test_components_match_union_find_on_random_graphs(
    batch: list[Graph], unrolled_components_sql: str, graph_database: duckdb.DuckDBPyConnection
) -> None:
    graph = side_by_side(batch)
    assert sql_partition(graph_database, unrolled_components_sql, graph) == reference_partition(*graph)


# Each example is a real dbt run (seconds), so no shrinking: a failure prints the whole batch instead.
@settings(
    max_examples=2,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(batch=st.lists(graphs(max_nodes=60), min_size=5, max_size=25))
def test_looped_components_in_dbt_match_union_find(
    batch: list[Graph], tmp_path_factory: pytest.TempPathFactory, dbt_target: Path
) -> None:
    """The production path: `dbt run` with rounds looped until no edge is left, on many graphs side by side."""
    home = tmp_path_factory.mktemp("components_loop")
    offset, nodes, edges, expected = 0, [], [], set()
    for node_count, graph_edges in batch:
        nodes += range(offset + 1, offset + node_count + 1)
        shifted = [(a + offset, b + offset) for a, b in graph_edges if a != b]
        edges += sorted({(min(a, b), max(a, b)) for a, b in shifted})
        expected |= {
            frozenset(n + offset for n in group) for group in reference_partition(node_count, graph_edges)
        }
        offset += node_count
    edges = sorted(set(edges))
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("create schema intermediate")
        con.execute(
            "create table intermediate.int_identity_nodes as select unnest(?::bigint[]) as node_id", [nodes]
        )
        con.execute(
            "create table intermediate.int_identity_edges (node_a bigint, node_b bigint, dropped_by varchar)"
        )
        if edges:
            con.executemany("insert into intermediate.int_identity_edges values (?, ?, null)", edges)
    project = DbtProjectRun(home=home, target=dbt_target)
    result = project.invoke(["run", "--select", "int_identity_components"])
    assert result.success, result.exception
    rows = project.query(
        "select node_id, component_id, remaining_edges from intermediate.int_identity_components"
    )
    assert {remaining for *_, remaining in rows} <= {0}
    groups: dict[int, set[int]] = {}
    for node, component, _ in rows:
        groups.setdefault(component, set()).add(node)
    assert {frozenset(group) for group in groups.values()} == expected
    leftovers = project.query(
        "select count(*) from information_schema.tables where table_name like 'int_identity_components__%'"
    )
    assert leftovers == [(0,)], "the loop's scratch tables are dropped after the build"
