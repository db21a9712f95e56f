"""What the backend sources report: orders and subscriptions (billing), support tickets, CRM contact syncs.

`plan_server_events` decides how many of each a person gets, before sessions are laid out, because they come
out of the same event budget. `build_server_events` then places them in time: orders follow a logged-in
session, tickets come some hours after one, trials convert after a few days, and nothing falls outside the
person's active time (so planted churners stay silent).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from orchestration.generator import kinds
from orchestration.generator import vocabulary as vocab
from orchestration.generator.catalog import Catalog, pick_products
from orchestration.generator.formatting import DAY_MS
from orchestration.generator.population import (
    BIG_SPENDER,
    BRAND_LOVER,
    KEY_ACCOUNT_VOLUME,
    SUPPORT_HEAVY,
    TRIAL_NEVER_SUBSCRIBED,
    Persons,
    Window,
)
from orchestration.generator.sessions import HOUR_MS, ClientEvents, Sessions

if TYPE_CHECKING:
    from orchestration.generator.checkouts import Checkouts

MINUTE_MS = 60_000
# Orders per ten events of budget, by persona (vocab.PERSONAS order).
_ORDER_RATE = np.array([0.08, 0.5, 0.6, 0.35, 0.5])


@dataclass(frozen=True)
class ServerPlan:
    orders: np.ndarray
    tickets: np.ndarray
    subscriptions: np.ndarray
    crm_identifies: np.ndarray
    legacy_aliases: np.ndarray
    billing_identifies: np.ndarray

    @property
    def per_person(self) -> np.ndarray:
        return (
            self.orders
            + self.tickets
            + self.subscriptions
            + self.crm_identifies
            + self.legacy_aliases
            + self.billing_identifies
        )


@dataclass(frozen=True)
class Orders:
    person: np.ndarray
    time_ms: np.ndarray
    line_offsets: (
        np.ndarray
    )  # lines of order i: line_offsets[i]:line_offsets[i + 1]; line 0 is the main product
    line_product: np.ndarray
    line_quantity: np.ndarray
    revenue_cents: np.ndarray


@dataclass(frozen=True)
class Tickets:
    person: np.ndarray
    time_ms: np.ndarray
    priority: np.ndarray
    subject: np.ndarray  # index into vocab.TICKET_SUBJECTS + vocab.TRIAL_TICKET_SUBJECTS


@dataclass(frozen=True)
class ServerEvents:
    person: np.ndarray
    kind: np.ndarray
    time_ms: np.ndarray
    order: np.ndarray  # Order Completed: index into orders, else -1
    ticket: np.ndarray  # Support Ticket Opened: index into tickets, else -1
    orders: Orders
    tickets: Tickets
    subscription_ms: np.ndarray  # per person, -1 if they never subscribe in the window
    billing_interval: np.ndarray  # per person: index into vocab.BILLING_INTERVALS
    checkouts: Checkouts | None = None  # Checkout Started rows: `order` indexes these (see checkouts.py)


def plan_server_events(rng: np.random.Generator, persons: Persons) -> ServerPlan:
    p = len(persons)
    known = persons.known
    budget = persons.budget
    big = persons.in_group(BIG_SPENDER)
    brand = persons.in_group(BRAND_LOVER)
    support = persons.in_group(SUPPORT_HEAVY)
    tns = persons.in_group(TRIAL_NEVER_SUBSCRIBED)

    subscriptions = persons.subscribes.astype(np.int64)
    crm = np.where(persons.in_crm, 1 + rng.poisson(0.4, p), 0)
    legacy = persons.legacy_alias.astype(np.int64)
    # Keep about a third of the budget for browsing, and room for signup and login calls.
    room = budget - (budget * 3) // 10 - np.where(persons.new, 5, 4) - subscriptions - crm - legacy - 1
    ticket_floor = np.where(support, 6, np.where(tns, 1, 0))
    order_floor = np.where(big, 8, np.where(brand, 3, 0))
    tickets = np.where(known, rng.poisson(0.12, p), 0)
    tickets = np.maximum(
        tickets, np.where(support, 6 + rng.poisson(4, p), np.where(tns, 1 + rng.poisson(0.5, p), 0))
    )
    tickets = np.minimum(tickets, np.maximum(room // 3, ticket_floor))
    orders = np.where(known, rng.poisson(_ORDER_RATE[persons.persona] * budget / 10), 0)
    orders = np.maximum(
        orders, np.where(big, 8 + rng.poisson(6, p), np.where(brand, 3 + rng.poisson(1, p), 0))
    )
    orders = np.minimum(orders, np.maximum(room - tickets, order_floor))
    billing = (known & (orders + subscriptions > 0)).astype(np.int64)
    return ServerPlan(
        orders=orders,
        tickets=tickets,
        subscriptions=subscriptions,
        crm_identifies=crm,
        legacy_aliases=legacy,
        billing_identifies=billing,
    )


def build_server_events(
    rng: np.random.Generator,
    persons: Persons,
    plan: ServerPlan,
    sessions: Sessions,
    client: ClientEvents,
    catalog: Catalog,
    window: Window,
) -> ServerEvents:
    p = len(persons)
    latest = persons.latest_ms - 1_000  # client events end 2 s before, so signups come first
    earliest = np.minimum(np.where(persons.new, client.signup_ms + MINUTE_MS, window.start_ms), latest)
    identified, offsets = sessions.identified_by_person(p)

    def after_a_session(person: np.ndarray, lag_ms: np.ndarray) -> np.ndarray:
        """A random logged-in session of each person, plus a lag, kept inside the person's active time."""
        count = offsets[person + 1] - offsets[person]
        pick = identified[offsets[person] + np.floor(rng.random(len(person)) * count).astype(np.int64)]
        time_ms = sessions.start_ms[pick] + lag_ms.astype(np.int64)
        return np.clip(time_ms, earliest[person], latest[person])

    order_person = np.repeat(np.arange(p), plan.orders)
    order_ms = after_a_session(order_person, rng.uniform(3, 25, len(order_person)) * MINUTE_MS)
    orders = _orders(rng, persons, catalog, order_person, order_ms)
    ticket_person = np.repeat(np.arange(p), plan.tickets)
    tns = persons.in_group(TRIAL_NEVER_SUBSCRIBED)[ticket_person]
    general, trial = len(vocab.TICKET_SUBJECTS), len(vocab.TRIAL_TICKET_SUBJECTS)
    tickets = Tickets(
        person=ticket_person,
        time_ms=after_a_session(ticket_person, rng.lognormal(np.log(3 * HOUR_MS), 1.0, len(ticket_person))),
        priority=rng.choice(len(vocab.TICKET_PRIORITIES), len(ticket_person), p=vocab.TICKET_PRIORITY_SHARE),
        subject=np.where(
            tns,
            general + rng.integers(0, trial, len(ticket_person)),
            rng.integers(0, general, len(ticket_person)),
        ),
    )

    subscriber = np.flatnonzero(plan.subscriptions > 0)
    # Trials convert after some days; people who skip the trial pay within minutes of signing up.
    lag = np.where(
        persons.trial[subscriber],
        rng.uniform(3, vocab.TRIAL_DAYS, len(subscriber)) * DAY_MS,
        rng.uniform(2, 20, len(subscriber)) * MINUTE_MS,
    ).astype(np.int64)
    subscription_ms = np.full(p, -1, dtype=np.int64)
    subscription_ms[subscriber] = np.clip(
        client.signup_ms[subscriber] + lag, earliest[subscriber], latest[subscriber]
    )

    crm_person = np.repeat(np.arange(p), plan.crm_identifies)
    crm_ms = after_a_session(crm_person, rng.uniform(1, 72, len(crm_person)) * HOUR_MS)
    legacy_person = np.flatnonzero(plan.legacy_aliases > 0)
    legacy_ms = after_a_session(legacy_person, -rng.uniform(1, 48, len(legacy_person)) * HOUR_MS)

    # Billing identifies the customer (with its Stripe id) just before its first charge.
    first_charge = np.full(p, np.iinfo(np.int64).max)
    np.minimum.at(first_charge, orders.person, orders.time_ms)
    first_charge[subscriber] = np.minimum(first_charge[subscriber], subscription_ms[subscriber])
    billing_person = np.flatnonzero(plan.billing_identifies > 0)
    billing_ms = first_charge[billing_person] - rng.integers(1_000, 3_000, len(billing_person))
    signed_up = client.signup_ms[billing_person]
    billing_ms = np.maximum(billing_ms, np.where(signed_up >= 0, signed_up + 1_000, window.start_ms))

    parts = (
        (orders.person, kinds.ORDER_COMPLETED, orders.time_ms),
        (tickets.person, kinds.SUPPORT_TICKET_OPENED, tickets.time_ms),
        (subscriber, kinds.SUBSCRIPTION_STARTED, subscription_ms[subscriber]),
        (crm_person, kinds.IDENTIFY_CRM, crm_ms),
        (legacy_person, kinds.ALIAS_LEGACY, legacy_ms),
        (billing_person, kinds.IDENTIFY_BILLING, billing_ms),
    )
    kind = np.concatenate([np.full(len(who), code, dtype=np.int8) for who, code, _ in parts])
    n_orders, n_tickets = len(orders.person), len(tickets.person)
    return ServerEvents(
        person=np.concatenate([who for who, _, _ in parts]),
        kind=kind,
        time_ms=np.concatenate([time for _, _, time in parts]),
        order=np.concatenate([np.arange(n_orders), np.full(len(kind) - n_orders, -1)]),
        ticket=np.concatenate(
            [np.full(n_orders, -1), np.arange(n_tickets), np.full(len(kind) - n_orders - n_tickets, -1)]
        ),
        orders=orders,
        tickets=tickets,
        subscription_ms=subscription_ms,
        billing_interval=(rng.random(p) < 0.25).astype(np.int64),
    )


def _orders(
    rng: np.random.Generator, persons: Persons, catalog: Catalog, person: np.ndarray, time_ms: np.ndarray
) -> Orders:
    n = len(person)
    b2b = persons.persona[person] == vocab.PERSONAS.index("b2b_buyer")
    big = persons.in_group(BIG_SPENDER)[person]
    lines = 1 + rng.poisson(np.where(big, 1.5, np.where(b2b, 1.2, 0.6)), n)
    line_order = np.repeat(np.arange(n), lines)
    buyer = person[line_order]
    m = len(line_order)
    line_b2b, line_big = b2b[line_order], big[line_order]
    favorite = persons.favorite_brand[buyer]
    # Brand lovers buy the favourite brand except every fifth line at most, always as a single item, so the
    # favourite's share stays at or above 80 % of items.
    line_rank = _rank_by_person(buyer)
    stray = (favorite >= 0) & (line_rank % 5 == 4) & (rng.random(m) < 0.8)
    product = pick_products(
        rng,
        catalog,
        favorite_brand=np.where(stray, -1, favorite),
        brand_share=np.ones(m),
        bargain=persons.persona[buyer] == vocab.PERSONAS.index("bargain_hunter"),
        premium=line_big,
    )
    quantity = np.where(
        line_b2b,
        1 + rng.poisson(4, m),
        np.where(line_big, 1 + rng.poisson(1.0, m), rng.choice([1, 2, 3], m, p=[0.8, 0.15, 0.05])),
    )
    quantity = np.where(stray, 1, quantity)
    # Key account buyers order the same mix in bulk (brand shares, by quantity, stay as they were).
    quantity = np.where(persons.key_account_buyer[buyer], quantity * KEY_ACCOUNT_VOLUME, quantity)
    line_value = catalog.price_cents[product] * quantity
    offsets = np.concatenate([[0], np.cumsum(lines)])
    return Orders(
        person=person,
        time_ms=time_ms,
        line_offsets=offsets,
        line_product=product,
        line_quantity=quantity,
        revenue_cents=np.add.reduceat(line_value, offsets[:-1]) if n else np.zeros(0, np.int64),
    )


def _rank_by_person(person: np.ndarray) -> np.ndarray:
    """0, 1, 2 … over each person's rows, in row order (rows are grouped by person)."""
    starts = np.concatenate([[True], person[1:] != person[:-1]]) if len(person) else np.zeros(0, bool)
    first = np.maximum.accumulate(np.where(starts, np.arange(len(person)), 0))
    return np.arange(len(person)) - first
