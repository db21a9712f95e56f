"""The `properties` of tracks that repeat: products, orders, tickets and subscriptions, JSON-encoded once."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.generator import vocabulary as vocab
from orchestration.generator.catalog import Catalog
from orchestration.generator.commerce import ServerEvents
from orchestration.generator.formatting import decimal_amounts, random_tokens, zero_padded
from orchestration.generator.json_fragments import encoded, json_array, json_object, quoted, take
from orchestration.generator.population import PRO, Persons


def product_properties(catalog: Catalog) -> pa.Array:
    """Product Viewed properties, one per catalogue product."""
    return encoded([_product(catalog, i) for i in range(catalog.products)])


def subscription_properties(rng: np.random.Generator, persons: Persons, server: ServerEvents) -> pa.Array:
    p = len(persons)
    interval = server.billing_interval
    pro = persons.paid_plan == PRO
    monthly = np.where(pro, vocab.PLAN_PRICE_CENTS["pro"], vocab.PLAN_PRICE_CENTS["basic"])
    return json_object(
        [
            ("plan", take(encoded(vocab.PLANS), persons.paid_plan)),
            ("subscription_id", quoted(random_tokens(rng, p, 14, prefix="sub_"))),
            ("billing_interval", take(encoded(vocab.BILLING_INTERVALS), interval)),
            ("amount", decimal_amounts(np.where(interval == 1, monthly * 10, monthly))),
            ("currency", '"USD"'),
        ],
        p,
    )


def _product(catalog: Catalog, i: int) -> dict[str, object]:
    return {
        "product_id": catalog.product_id[i],
        "sku": catalog.sku[i],
        "category": vocab.CATEGORIES[catalog.category[i]][0],
        "name": catalog.name[i],
        "brand": vocab.BRANDS[catalog.brand[i]],
        "price": int(catalog.price_cents[i]) / 100,
        "currency": "USD",
    }


def order_properties(rng: np.random.Generator, catalog: Catalog, server: ServerEvents) -> pa.Array:
    orders = server.orders
    product = orders.line_product
    m = len(product)
    brand_names = encoded(vocab.BRANDS)
    items = json_object(
        [
            ("product_id", encoded(catalog.product_id).take(pa.array(product))),
            ("sku", encoded(catalog.sku).take(pa.array(product))),
            ("name", encoded(catalog.name).take(pa.array(product))),
            ("brand", brand_names.take(pa.array(catalog.brand[product]))),
            ("category", encoded([c[0] for c in vocab.CATEGORIES]).take(pa.array(catalog.category[product]))),
            ("price", decimal_amounts(catalog.price_cents[product])),
            ("quantity", pc.cast(pa.array(orders.line_quantity), pa.string())),
        ],
        m,
    )
    n = len(orders.person)
    main_product = product[orders.line_offsets[:-1]]
    order_number = zero_padded(rng.permutation(n) + 10_000_000, 8, prefix="ORD-")
    return json_object(
        [
            ("order_id", quoted(order_number)),
            ("revenue", decimal_amounts(orders.revenue_cents)),
            ("currency", '"USD"'),
            ("products", json_array(items, orders.line_offsets)),
            ("brand", brand_names.take(pa.array(catalog.brand[main_product]))),
        ],
        n,
    )


def ticket_properties(rng: np.random.Generator, server: ServerEvents) -> pa.Array:
    tickets = server.tickets
    n = len(tickets.person)
    subjects = vocab.TICKET_SUBJECTS + vocab.TRIAL_TICKET_SUBJECTS
    return json_object(
        [
            ("ticket_id", quoted(pc.cast(pa.array(rng.permutation(n) + 40_000), pa.string()))),
            ("priority", encoded(vocab.TICKET_PRIORITIES).take(pa.array(tickets.priority))),
            ("subject", encoded(subjects).take(pa.array(tickets.subject))),
        ],
        n,
    )
