"""The warehouse side: feature frames in, `profile_predictions` and `model_runs` out (DuckDB, set-based)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import duckdb
import pandas as pd

from orchestration.predictive.models import ModelOutcome
from orchestration.predictive.run import PredictionRun
from orchestration.predictive.settings import PredictiveSettings

FEATURES_TABLE = "intermediate.int_profile_features"
RECOMMENDATIONS = 3

MODEL_RUNS_DDL = """
create table if not exists model_runs (
    run_id varchar,
    model varchar,
    trained_at timestamp,
    cutoff timestamp,
    scored_at timestamp,
    training_rows bigint,
    holdout_rows bigint,
    metrics json,
    baseline_metrics json,
    beats_baseline boolean,
    published boolean,
    skipped_reason varchar,
    state json
)
"""


def read_features(
    con: duckdb.DuckDBPyConnection, table: str = FEATURES_TABLE
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training rows, scoring rows) of int_profile_features, each sorted by profile_id."""
    frame = con.execute(f"select * from {table} order by profile_id, feature_set").df()
    training = frame[frame["feature_set"] == "training"].reset_index(drop=True)
    scoring = frame[frame["feature_set"] == "scoring"].reset_index(drop=True)
    return training, scoring


def previous_personas(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The personas of the latest published persona run, to match this run's against."""
    con.execute(MODEL_RUNS_DDL)
    row = con.execute(
        "select state from model_runs where model = 'personas' and published order by trained_at desc, run_id desc limit 1"
    ).fetchone()
    return json.loads(row[0]) if row and row[0] else None


def recommended_products(con: duckdb.DuckDBPyConnection, affinities: pd.DataFrame) -> pd.Series:
    """Top products not yet bought, per profile: the most bought products of the profile's two brands of
    highest affinity, by how often they are bought. `affinities`: profile_id index, one column per brand."""
    if affinities.empty:
        return pd.Series(dtype="object")
    long = affinities.reset_index().melt(id_vars="profile_id", var_name="brand", value_name="affinity")
    con.register("_affinities", long)
    try:
        rows = con.execute(
            f"""
            with orders as (
                select profile_id,
                    json_extract_string(properties, '$.products[0].product_id') as product_id,
                    json_extract_string(properties, '$.brand') as brand
                from intermediate.int_events_resolved
                where event_name = 'Order Completed'
            ),
            popular as (
                select brand, product_id, count(*) as bought,
                    row_number() over (partition by brand order by count(*) desc, product_id) as rank
                from orders where product_id is not null and brand is not null
                group by brand, product_id
            ),
            top_brands as (
                select profile_id, brand, affinity from (
                    select *, row_number() over (partition by profile_id order by affinity desc, brand) as rank
                    from _affinities
                ) where rank <= 2
            ),
            candidates as (
                select top_brands.profile_id, popular.product_id, top_brands.affinity * popular.bought as score
                from top_brands
                inner join popular on popular.brand = top_brands.brand and popular.rank <= {RECOMMENDATIONS + 3}
                anti join (select distinct profile_id, product_id from orders) as owned
                    on owned.profile_id = top_brands.profile_id and owned.product_id = popular.product_id
            )
            select profile_id, string_agg(product_id, ', ' order by score desc, product_id) as products
            from (
                select *, row_number() over (partition by profile_id order by score desc, product_id) as rank
                from candidates
            )
            where rank <= {RECOMMENDATIONS}
            group by profile_id
            """
        ).df()
    finally:
        con.unregister("_affinities")
    return rows.set_index("profile_id")["products"]


def publish(
    con: duckdb.DuckDBPyConnection,
    run: PredictionRun,
    settings: PredictiveSettings,
    run_id: str,
    scored_at: dt.datetime,
    cutoff: dt.datetime | None,
    columns: list[str],
) -> None:
    """Replace profile_predictions: published columns from this run, every other column keeps the value
    it had (a model that did not beat its baseline publishes nothing); append one model_runs row per model."""
    con.execute(MODEL_RUNS_DDL)
    trained_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # wall clock: orders runs of one as_of
    fresh = run.scores.copy()
    if settings.brands and all(c in fresh for c in settings.brand_columns.values()):
        brand_names = {column: brand for brand, column in settings.brand_columns.items()}
        fresh["recommended_products"] = recommended_products(
            con, fresh[list(brand_names)].rename(columns=brand_names)
        ).reindex(fresh.index)
    fresh.index.name = "profile_id"
    new_columns = [c for c in columns if c in fresh.columns]
    kept = [c for c in columns if c not in fresh.columns]
    con.register("_fresh", fresh.reset_index())
    try:
        has_previous = bool(
            con.execute(
                "select count(*) from information_schema.tables where table_schema = 'main' and table_name = 'profile_predictions'"
            ).fetchone()[0]
        )
        previous_columns = (
            {
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns where table_schema = 'main' and table_name = 'profile_predictions'"
                ).fetchall()
            }
            if has_previous
            else set()
        )
        select = ["_fresh.profile_id"]
        select += [f"_fresh.{c}" for c in new_columns]
        for column in kept:
            kind = "varchar" if column in ("persona", "persona_scores", "recommended_products") else "double"
            select.append(
                f"cast(previous.{column} as {kind}) as {column}"
                if column in previous_columns
                else f"cast(null as {kind}) as {column}"
            )
        joined = (
            "left join profile_predictions as previous on previous.profile_id = _fresh.profile_id"
            if has_previous and kept
            else ""
        )
        con.execute("begin transaction")
        con.execute(
            f"""create or replace table profile_predictions as
                select {", ".join(select)}, cast($scored_at as timestamp) as scored_at, cast($run_id as varchar) as model_run_id
                from _fresh {joined} order by _fresh.profile_id""",
            {"scored_at": scored_at, "run_id": run_id},
        )
        for outcome in run.all_outcomes:
            con.execute(
                "insert into model_runs values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                [
                    run_id,
                    outcome.model,
                    trained_at,
                    cutoff,
                    scored_at,
                    outcome.training_rows,
                    outcome.holdout_rows,
                    json.dumps(outcome.metrics, sort_keys=True),
                    json.dumps(outcome.baseline, sort_keys=True),
                    outcome.beats_baseline,
                    outcome.published,
                    outcome.skipped,
                    json.dumps(run.personas.state())
                    if outcome.model == "personas" and run.personas
                    else None,
                ],
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_fresh")


def outcome_summary(outcome: ModelOutcome) -> dict[str, Any]:
    return {
        "model": outcome.model,
        "published": outcome.published,
        "skipped": outcome.skipped,
        **outcome.metrics,
    }
