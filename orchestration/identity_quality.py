"""How well identity resolution recovers the people behind generated events: pairwise precision and recall.

Every identifier the generator attributes to exactly one person (ground truth `person_id` not null) that
also appears in `identity_graph` is one item; a pair of items is a true pair when they share a person and
a predicted pair when they share a profile. Precision = true predicted pairs / predicted pairs, recall =
true predicted pairs / true pairs, all counted set-based in DuckDB.

    python -m orchestration.identity_quality --events 50000 --profiles 5000 --days 60 --seed 7
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.settings import DBT_PROJECT_DIR, environment_variable

IDENTITY_MARTS = (
    "+identity_graph +profiles +profile_merges +identity_dropped_edges +identity_dropped_identifiers"
)

_QUALITY_SQL = """
with
truth as (
    select id_type, id_value, person_id
    from read_parquet($identifiers)
    where person_id is not null
),
items as (
    select truth.person_id, graph.profile_id
    from truth
    inner join identity_graph as graph using (id_type, id_value)
),
cells as (select person_id, profile_id, count(*) as n from items group by all),
per_person as (select person_id, sum(n) as n, count(*) as profiles from cells group by person_id),
per_profile as (select profile_id, sum(n) as n, count(*) as persons from cells group by profile_id)
select
    (select sum(n * (n - 1) / 2) from cells) as true_positive_pairs,
    (select sum(n * (n - 1) / 2) from per_profile) as predicted_pairs,
    (select sum(n * (n - 1) / 2) from per_person) as true_pairs,
    (select count(*) from items) as identifiers_evaluated,
    (select count(*) from truth) as identifiers_in_truth,
    (select count(*) from per_person) as persons,
    (select count(*) from per_profile where persons > 1) as profiles_mixing_persons,
    (select count(*) from per_person where profiles > 1) as persons_split
"""

# The same pairwise recall for the connected components before any limit: what the events can support at all
# (people who never link their devices, e.g. anonymous visitors on two browsers, cannot be recovered).
_CEILING_SQL = """
with
truth as (select id_type, id_value, person_id from read_parquet($identifiers) where person_id is not null),
items as (
    select truth.person_id, components.component_id
    from truth
    inner join intermediate.int_identity_nodes as nodes using (id_type, id_value)
    inner join intermediate.int_identity_components as components using (node_id)
),
cells as (select person_id, component_id, count(*) as n from items group by all),
per_person as (select person_id, sum(n) as n from cells group by person_id),
per_component as (select component_id, sum(n) as n from cells group by component_id)
select
    (select sum(n * (n - 1) / 2) from cells) / nullif((select sum(n * (n - 1) / 2) from per_person), 0),
    (select sum(n * (n - 1) / 2) from cells) / nullif((select sum(n * (n - 1) / 2) from per_component), 0)
"""

_SHARED_SQL = """
select count(distinct graph.profile_id)
from read_parquet($identifiers) as truth
inner join identity_graph as graph using (id_type, id_value)
inner join identity_graph as others on others.profile_id = graph.profile_id
inner join read_parquet($identifiers) as other_truth
    on other_truth.id_type = others.id_type and other_truth.id_value = others.id_value
where (truth.is_shared or truth.is_junk)
group by graph.profile_id
having count(distinct other_truth.person_id) > 1
"""


@dataclass(frozen=True)
class IdentityQuality:
    precision: float
    recall: float
    recall_ceiling: float
    precision_without_limits: float
    identifiers_evaluated: int
    identifiers_in_truth: int
    persons: int
    profiles_mixing_persons: int
    persons_split: int
    profiles_joining_strangers_through_shared_ids: int

    def summary(self) -> str:
        return (
            f"pairwise precision {self.precision:.4f}  recall {self.recall:.4f}  "
            f"(linkable ceiling {self.recall_ceiling:.4f}: {self.recall / self.recall_ceiling:.4f} of it; "
            f"plain components without limits: precision {self.precision_without_limits:.4f})  "
            f"({self.identifiers_evaluated} of {self.identifiers_in_truth} ground-truth identifiers found, "
            f"{self.persons} persons; {self.profiles_mixing_persons} profiles mix persons, "
            f"{self.persons_split} persons split; {self.profiles_joining_strangers_through_shared_ids} profiles "
            "join different persons through a shared or junk identifier)"
        )


def measure_quality(warehouse: Path, ground_truth: Path) -> IdentityQuality:
    """Pairwise precision and recall of `identity_graph` in `warehouse` against the generator's ground truth."""
    params = {"identifiers": str(ground_truth / "identifiers.parquet")}
    with duckdb.connect(str(warehouse)) as con:
        row = con.execute(_QUALITY_SQL, params).fetchone()
        shared = con.execute(_SHARED_SQL, params).fetchall()
        ceiling, unlimited_precision = con.execute(_CEILING_SQL, params).fetchone()
    true_positive, predicted, true_pairs, evaluated, in_truth, persons, mixing, split = row
    return IdentityQuality(
        precision=float(true_positive / predicted) if predicted else 1.0,
        recall=float(true_positive / true_pairs) if true_pairs else 1.0,
        recall_ceiling=float(ceiling) if ceiling is not None else 1.0,
        precision_without_limits=float(unlimited_precision) if unlimited_precision is not None else 1.0,
        identifiers_evaluated=int(evaluated),
        identifiers_in_truth=int(in_truth),
        persons=int(persons),
        profiles_mixing_persons=int(mixing),
        persons_split=int(split),
        profiles_joining_strangers_through_shared_ids=len(shared),
    )


def load_sample(sample: Path, warehouse: Path) -> int:
    """Load a generated sample (one folder per day) into raw_events with the project's own loader."""
    from orchestration.ingestion.landing import event_files
    from orchestration.ingestion.loader import load_files

    accepted = 0
    with duckdb.connect(str(warehouse)) as con:
        for day_folder in sorted(p for p in sample.iterdir() if p.is_dir() and not p.name.startswith("_")):
            day = dt.date.fromisoformat(day_folder.name)
            accepted += load_files(con, event_files([day_folder]), day).accepted
    return accepted


def build_identity(home: Path, target: Path | None = None) -> None:
    """`dbt build` of the identity models (and their staging) against the warehouse in `home`."""
    from dbt.cli.main import dbtRunner

    target = target or home / "dbt_target"
    with environment_variable("CDP_HOME", str(home)):
        result = dbtRunner().invoke(
            ["build", "--select", IDENTITY_MARTS, "--exclude", "test_type:unit", "--indirect-selection", "cautious",
             "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
             "--target-path", str(target), "--log-path", str(target / "logs"), "--quiet"]
        )  # fmt: skip
    if not result.success:
        raise RuntimeError(f"dbt build of the identity models failed: {result.exception}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--profiles", type=int, default=5_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the sample and warehouse here")
    args = parser.parse_args()

    from orchestration.generator import generate

    with tempfile.TemporaryDirectory() as scratch:
        home = args.workdir or Path(scratch)
        home.mkdir(parents=True, exist_ok=True)
        sample = home / "sample"
        if not (sample / "_ground_truth").exists():
            generate(events=args.events, profiles=args.profiles, days=args.days, seed=args.seed, out=sample,
                     end_date=dt.date(2026, 6, 30))  # fmt: skip
        load_sample(sample, home / "warehouse.duckdb")
        build_identity(home)
        print(measure_quality(home / "warehouse.duckdb", sample / "_ground_truth").summary())


if __name__ == "__main__":
    main()
