"""Planted futures: people whose behaviour after a cutoff is known, with signal before it, for the
predictive traits (churn, purchase, value, brand affinity) and the machine-found personas.

    generate_futures(profiles, seed, out, end_date) -> FuturesSummary

The window is `PRE_DAYS + POST_DAYS` whole UTC days ending with `end_date`; the cutoff is `POST_DAYS` days
before its end, so a model trained on features at `as_of - 90 days` (the end of the window) sees exactly
the planted futures in its labels. Before the cutoff each person behaves after a planted persona
(loyal high-value buyers, window shoppers, support-heavy customers, casual mobile users) and a planted
risk: the riskier, the fewer visits in the last 30 days before the cutoff, the earlier the last of them, and
the more support contacts.
After it:

 - churners (drawn from risk) produce no event at all;
 - the others log in at least once in the 30 days after the cutoff and order at their own (observable)
   rate, higher for people who browsed a lot in the week before the cutoff (purchase intent);
 - brand lovers browse and buy one favourite brand (about 85 % of items); some others buy the two new
   brands Nimbus and Oakhurst together, so those two are each other's most similar brand.

Events are Segment track/identify messages of one `userId` per person (identity is not the subject here),
written with DuckDB as NDJSON, one file per source (`web`, `ios`, `billing`, `support`) under a folder named
for `end_date`. `OUT/_ground_truth/futures.parquet` has one row per person: person_id, user_id, persona,
cutoff, will_churn_30d, will_purchase_30d, revenue_90d, brand_lover, favorite_brand.
Deterministic for a given (profiles, seed, end_date).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

PRE_DAYS = 60
POST_DAYS = 90
LABEL_DAYS = 30  # churn and purchase look this far past the cutoff
DAY_MS = 86_400_000

BRANDS = ("Northwind", "Bluepeak", "Copperline", "Nimbus", "Oakhurst")
NEW_BRAND_PAIR = (3, 4)  # Nimbus and Oakhurst: bought together
PRODUCTS_PER_BRAND = 12
PERSONAS = ("loyal_high_value", "window_shopper", "support_heavy", "mobile_casual")
PERSONA_SHARE = np.array([0.25, 0.30, 0.20, 0.25])
# Per persona: visits a month, product views a visit, orders a month, mean order value, tickets a month,
# share of visits on the iOS app.
VISITS_30D = np.array([6.0, 7.0, 3.0, 4.0])
VIEWS_PER_VISIT = np.array([1.5, 7.0, 1.0, 1.2])
ORDERS_30D = np.array([2.0, 0.25, 0.5, 0.6])
ORDER_VALUE = np.array([180.0, 45.0, 70.0, 30.0])
TICKETS_30D = np.array([0.1, 0.1, 2.5, 0.1])
MOBILE_SHARE = np.array([0.2, 0.15, 0.2, 0.95])
BRAND_LOVER_SHARE = 0.3
NEW_BRAND_FAN_SHARE = 0.15
INTENT_SHARE = 0.2


@dataclass(frozen=True)
class FuturesSummary:
    files: list[Path]
    events: int
    profiles: int
    cutoff: dt.datetime
    ground_truth: Path


def _day_start_ms(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)


def _times(rng: np.random.Generator, owners: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """One uniform time per row in [start, start + length) of its owner."""
    return start[owners] + (rng.random(len(owners)) * length[owners]).astype(np.int64)


def generate_futures(profiles: int, seed: int, out: Path, end_date: dt.date) -> FuturesSummary:
    rng = np.random.default_rng(seed)
    p = profiles
    end_ms = _day_start_ms(end_date) + DAY_MS
    cutoff_ms = end_ms - POST_DAYS * DAY_MS
    start_ms = cutoff_ms - PRE_DAYS * DAY_MS
    ids = np.arange(p)

    persona = rng.choice(len(PERSONAS), p, p=PERSONA_SHARE)
    vigour = rng.lognormal(0.0, 0.3, p)  # each person's own level around their persona's
    risk = np.where(persona == PERSONAS.index("support_heavy"), rng.beta(4, 2, p), rng.beta(2, 3, p))
    will_churn = rng.random(p) < 1 / (1 + np.exp(-20 * (risk - 0.6)))
    intent = rng.random(p) < INTENT_SHARE
    order_rate = ORDERS_30D[persona] * vigour
    order_value = ORDER_VALUE[persona] * rng.lognormal(0.0, 0.25, p)

    # Brand preference: lovers ~85 % on one brand, new-brand fans split between Nimbus and Oakhurst.
    brand_lover = rng.random(p) < BRAND_LOVER_SHARE
    new_brand_fan = ~brand_lover & (rng.random(p) < NEW_BRAND_FAN_SHARE / (1 - BRAND_LOVER_SHARE))
    favorite = np.where(brand_lover, rng.integers(0, len(BRANDS), p), -1)
    prefs = rng.dirichlet(np.ones(len(BRANDS)), p)
    lover_prefs = np.full((p, len(BRANDS)), 0.15 / (len(BRANDS) - 1))
    lover_prefs[ids, np.maximum(favorite, 0)] = 0.85
    fan_prefs = np.full((p, len(BRANDS)), 0.1 / (len(BRANDS) - 2))
    fan_prefs[:, list(NEW_BRAND_PAIR)] = 0.45
    prefs = np.where(brand_lover[:, None], lover_prefs, np.where(new_brand_fan[:, None], fan_prefs, prefs))

    # Before the cutoff: the first 30 days at the full rate, the last 30 slowed by risk.
    first_ms = start_ms + rng.integers(0, 10 * DAY_MS, p)
    early_len = np.maximum(cutoff_ms - 30 * DAY_MS - first_ms, DAY_MS)
    early_start = cutoff_ms - 30 * DAY_MS - early_len
    decline = 1.0 - 0.95 * risk**1.2
    visit_rate = VISITS_30D[persona] * vigour
    early_visits = 1 + rng.poisson(visit_rate * early_len / (30 * DAY_MS))
    late_visits = rng.poisson(visit_rate * decline)
    # ... and the riskier stop earlier in those 30 days, so their last visit is older at the cutoff.
    late_len = (30 * DAY_MS * (1.0 - 0.7 * risk)).astype(np.int64)
    ticket_rate = TICKETS_30D[persona] + 2.0 * risk**2
    pre_tickets = rng.poisson(ticket_rate * PRE_DAYS / 30)
    pre_orders = rng.poisson(order_rate * PRE_DAYS / 30 * (0.6 + 0.4 * decline))

    # After it: churners vanish; the others come back within 30 days and order at their rate.
    alive = ~will_churn
    future_rate = order_rate * np.where(intent, 4.0, 0.7) * (1.2 - 0.5 * risk)
    post_visits = np.where(alive, 1 + rng.poisson(1.0, p), 0)
    orders_30 = np.where(alive, rng.poisson(future_rate), 0)
    orders_60 = np.where(alive, rng.poisson(2 * future_rate), 0)

    zeros = np.zeros(p, dtype=np.int64)
    thirty = np.full(p, 30 * DAY_MS, dtype=np.int64)
    sixty = np.full(p, 60 * DAY_MS, dtype=np.int64)
    pre_len = cutoff_ms - first_ms

    def rows(
        counts: np.ndarray, start: np.ndarray | int, length: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        owners = np.repeat(ids, counts)
        start_array = np.broadcast_to(np.asarray(start, dtype=np.int64), (p,)) + zeros
        return owners, _times(rng, owners, start_array, length)

    visit_owner, visit_ms = zip(
        rows(early_visits, early_start, early_len),
        rows(late_visits, cutoff_ms - 30 * DAY_MS, late_len),
        rows(post_visits, cutoff_ms, thirty),
        strict=True,
    )
    visit_owner, visit_ms = np.concatenate(visit_owner), np.concatenate(visit_ms)
    is_pre_visit = visit_ms < cutoff_ms
    # Product views happen on visits before the cutoff; purchase intent shows as heavy browsing in the last week.
    views = rng.poisson(VIEWS_PER_VISIT[persona[visit_owner]]) * is_pre_visit
    intent_views = np.where(intent, 2 + rng.poisson(6.0, p), 0)
    view_owner = np.concatenate([np.repeat(visit_owner, views), np.repeat(ids, intent_views)])
    view_ms = np.concatenate(
        [
            np.repeat(visit_ms, views) + rng.integers(1_000, 600_000, int(views.sum())),
            _times(
                rng, np.repeat(ids, intent_views), np.full(p, cutoff_ms - 7 * DAY_MS), np.full(p, 7 * DAY_MS)
            ),
        ]
    )
    order_owner, order_ms = zip(
        rows(pre_orders, first_ms, pre_len),
        rows(orders_30, cutoff_ms, thirty),
        rows(orders_60, cutoff_ms + 30 * DAY_MS, sixty),
        strict=True,
    )
    order_owner, order_ms = np.concatenate(order_owner), np.concatenate(order_ms)
    ticket_owner, ticket_ms = rows(pre_tickets, first_ms, pre_len)

    def brands_for(owners: np.ndarray) -> np.ndarray:
        cumulative = np.cumsum(prefs[owners], axis=1)
        return (rng.random(len(owners))[:, None] > cumulative).sum(axis=1).clip(0, len(BRANDS) - 1)

    def products_for(brands: np.ndarray) -> np.ndarray:
        # Popularity falls with the product's rank inside its brand (Zipf-like).
        rank = np.minimum(rng.zipf(1.6, len(brands)) - 1, PRODUCTS_PER_BRAND - 1)
        return brands * PRODUCTS_PER_BRAND + rank

    view_brand, order_brand = brands_for(view_owner), brands_for(order_owner)
    view_product, order_product = products_for(view_brand), products_for(order_brand)
    revenue = np.round(order_value[order_owner] * rng.lognormal(0.0, 0.25, len(order_owner)), 2)
    # Visits are logins, on the app for mobile users; views and orders come from the visit's device.
    visit_mobile = rng.random(len(visit_owner)) < MOBILE_SHARE[persona[visit_owner]]
    view_mobile = rng.random(len(view_owner)) < MOBILE_SHARE[persona[view_owner]]

    kinds = pa.dictionary(pa.int8(), pa.string())
    n_visits, n_views, n_orders, n_tickets = (
        len(visit_owner),
        len(view_owner),
        len(order_owner),
        len(ticket_owner),
    )
    event = np.concatenate(
        [
            np.full(p, "Identify"),
            np.full(n_visits, "Logged In"),
            np.full(n_views, "Product Viewed"),
            np.full(n_orders, "Order Completed"),
            np.full(n_tickets, "Support Ticket Opened"),
        ]
    )
    table = pa.table(
        {
            "owner": np.concatenate([ids, visit_owner, view_owner, order_owner, ticket_owner]),
            "ms": np.concatenate([first_ms, visit_ms, view_ms, order_ms, ticket_ms]),
            "event": pa.array(event).cast(kinds),
            "mobile": np.concatenate(
                [np.zeros(p, bool), visit_mobile, view_mobile, np.zeros(n_orders + n_tickets, bool)]
            ),
            "brand": np.concatenate(
                [np.full(p + n_visits, -1), view_brand, order_brand, np.full(n_tickets, -1)]
            ),
            "product": np.concatenate(
                [np.full(p + n_visits, -1), view_product, order_product, np.full(n_tickets, -1)]
            ),
            "revenue": np.concatenate([np.zeros(p + n_visits + n_views), revenue, np.zeros(n_tickets)]),
            "priority": np.concatenate(
                [np.zeros(p + n_visits + n_views + n_orders, np.int64), rng.integers(0, 3, n_tickets)]
            ),
        }
    )
    files = _write_events(table, out / end_date.isoformat(), seed)

    user_ids = [f"usr_fut{seed}_{i:07d}" for i in range(p)]
    truth = pa.table(
        {
            "person_id": [f"person-{i + 1:07d}" for i in range(p)],
            "user_id": user_ids,
            "persona": [PERSONAS[i] for i in persona],
            "cutoff": pa.array(np.full(p, cutoff_ms * 1000), pa.timestamp("us")),
            "will_churn_30d": will_churn,
            "will_purchase_30d": orders_30 > 0,
            "revenue_90d": np.round(
                np.bincount(order_owner, revenue * (order_ms >= cutoff_ms), minlength=p), 2
            ),
            "brand_lover": brand_lover,
            "favorite_brand": [BRANDS[f] if f >= 0 else None for f in favorite],
        }
    )
    truth_path = out / "_ground_truth" / "futures.parquet"
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(truth, truth_path)
    return FuturesSummary(
        files=files,
        events=table.num_rows,
        profiles=p,
        cutoff=dt.datetime.fromtimestamp(cutoff_ms / 1000, dt.UTC).replace(tzinfo=None),
        ground_truth=truth_path,
    )


_MESSAGES = """
    select
        source,
        'fut{seed}-' || lpad(cast(row_number() over (order by ms, owner, event) as varchar), 9, '0') as "messageId",
        case when event = 'Identify' then 'identify' else 'track' end as type,
        case when event <> 'Identify' then event end as event,
        'usr_fut{seed}_' || lpad(cast(owner as varchar), 7, '0') as "userId",
        strftime(make_timestamp(ms * 1000), '%Y-%m-%dT%H:%M:%S.%g') || 'Z' as "timestamp",
        "timestamp" as "originalTimestamp", "timestamp" as "sentAt", "timestamp" as "receivedAt",
        case when event = 'Identify'
            then json_object('email', 'futures' || '{seed}' || '+' || cast(owner as varchar) || '@example.org')
        end as traits,
        case event
            when 'Product Viewed' then json_object(
                'product_id', product_id, 'brand', brand_name, 'price', 20 + product % 7 * 10)
            when 'Order Completed' then json_object(
                'order_id', 'ord_' || "messageId", 'revenue', revenue, 'currency', 'USD', 'brand', brand_name,
                'products', json_array(json_object(
                    'product_id', product_id, 'brand', brand_name, 'price', revenue, 'quantity', 1)))
            when 'Support Ticket Opened' then json_object(
                'ticket_id', 'tkt_' || "messageId", 'priority', ['low', 'normal', 'high'][priority + 1])
            when 'Logged In' then json_object('method', 'password')
        end as properties,
        case when mobile
            then json_object('os', json_object('name', 'iOS'), 'device', json_object('type', 'ios'))
            else json_object('library', json_object('name', 'analytics.js'))
        end as context
    from (
        select *,
            case when brand >= 0 then {brands}[brand + 1] end as brand_name,
            case when product >= 0 then 'prd_' || lpad(cast(product as varchar), 4, '0') end as product_id,
            case
                when event in ('Order Completed') then 'billing'
                when event = 'Support Ticket Opened' then 'support'
                when mobile then 'ios'
                else 'web'
            end as source
        from events
    )
"""


def _write_events(events: pa.Table, folder: Path, seed: int) -> list[Path]:
    """NDJSON per source, lines ordered by time (DuckDB builds and writes the JSON, no Python loop)."""
    brands = "[" + ", ".join(f"'{b}'" for b in BRANDS) + "]"
    con = duckdb.connect()
    try:
        con.register("events", events)
        con.execute(f"create table messages as {_MESSAGES.format(seed=int(seed), brands=brands)}")
        files = []
        for (source,) in con.execute("select distinct source from messages order by 1").fetchall():
            path = folder / source / "events-0000.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            con.execute(
                f"""copy (select * exclude (source) from messages where source = '{source}'
                    order by "messageId") to '{path}' (format json)"""
            )
            files.append(path)
        return files
    finally:
        con.close()
