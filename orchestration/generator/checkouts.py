"""Checkouts and key-account support surges: the behaviour the shipped audiences `abandoned_checkout` and
`at_risk_key_accounts` look for, planted on top of the other server events.

 - Checkout Started (billing: the checkout service reports it with the userId): most orders are preceded by
   one a few minutes earlier, naming the order it became (`order_id`); some people also start a checkout
   after a logged-in session and never order (abandoned), often in their last session.
 - At-risk key accounts: some key accounts (whose buyers spend over $1M a year) have members who open
   several support tickets in the last three weeks of the window.

Both are counted out of the browsing part of each person's event budget before sessions are laid out, then
appended to the server events once the orders exist. The ground truth (checkouts.parquet,
account_members.parquet, accounts.at_risk) is written by ground_truth.write_checkouts/write_account_members.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa

from orchestration.generator import kinds
from orchestration.generator import vocabulary as vocab
from orchestration.generator.commerce import MINUTE_MS, ServerEvents, ServerPlan, Tickets
from orchestration.generator.formatting import DAY_MS, decimal_amounts, zero_padded
from orchestration.generator.json_fragments import json_object, quoted
from orchestration.generator.population import (
    CHURNER,
    KEY_ACCOUNTS,
    TRIAL_NEVER_SUBSCRIBED,
    Persons,
    Window,
)
from orchestration.generator.sessions import HOUR_MS, Sessions

ABANDONER_SHARE = 0.2  # of people with an account and a real email: at least one abandoned checkout
ABANDON_IN_LAST_SESSION = 0.7  # abandoners whose (first) abandoned checkout follows their latest session
AT_RISK_KEY_ACCOUNTS = 2  # key accounts whose members contact support often in the last month
SURGE_TICKETS = 5  # extra tickets an at-risk account's members open together in the last weeks
SURGE_MAX_PER_MEMBER = 4
SURGE_DAYS = (3, 21)  # surge tickets fall this many days before the window's end
ABANDON_HOURS = 24  # a checkout with no order in this long is abandoned (as the shipped audience says)


@dataclass(frozen=True)
class ExtraPlan:
    converted: np.ndarray  # per person: how many of their orders get a Checkout Started before them
    abandoned: np.ndarray  # per person: checkouts with no order after them
    surge_tickets: np.ndarray  # per person: support tickets of an at-risk key account's member
    at_risk: np.ndarray  # company indices of the at-risk key accounts

    @property
    def per_person(self) -> np.ndarray:
        return self.converted + self.abandoned + self.surge_tickets


@dataclass(frozen=True)
class Checkouts:
    person: np.ndarray
    time_ms: np.ndarray
    order: np.ndarray  # index into the orders it became, -1 when abandoned
    value_cents: np.ndarray
    checkout_id: pa.StringArray

    def properties(self) -> pa.Array:
        """Checkout Started properties, one per checkout."""
        n = len(self.person)
        return json_object(
            [
                ("checkout_id", quoted(self.checkout_id)),
                ("value", decimal_amounts(self.value_cents)),
                ("currency", '"USD"'),
            ],
            n,
        )


def plan_extras(rng: np.random.Generator, persons: Persons, plan: ServerPlan) -> ExtraPlan:
    """How many checkouts and surge tickets each person gets, out of their browsing budget."""
    p = len(persons)
    # What plan_server_events left for browsing (signup and login calls aside).
    browsing = np.maximum(persons.budget - plan.per_person - np.where(persons.new, 5, 4), 0)
    silent = persons.in_group(CHURNER | TRIAL_NEVER_SUBSCRIBED)

    # At-risk key accounts first (they are few and need the room): SURGE_TICKETS tickets shared by the
    # account's active members (a loop over the handful of key accounts), none getting more than
    # SURGE_MAX_PER_MEMBER, so they stay out of the planted support_heavy group. Only accounts whose buyers
    # order (so they cross $1M a year) qualify; the most ordering ones are picked.
    key_member = (persons.company >= 0) & (persons.company < KEY_ACCOUNTS)
    active = key_member & persons.known & ~silent & (browsing >= 2)
    surge = np.zeros(p, dtype=np.int64)
    candidates = []
    for account in range(KEY_ACCOUNTS):
        members = np.flatnonzero(active & (persons.company == account))
        if len(members) == 0:
            continue
        even = SURGE_TICKETS // len(members) + (np.arange(len(members)) < SURGE_TICKETS % len(members))
        share = np.minimum(np.minimum(even, browsing[members] - 1), SURGE_MAX_PER_MEMBER)
        orders = int(plan.orders[key_member & (persons.company == account)].sum())
        if share.sum() >= SURGE_TICKETS - 1 and orders >= 2:  # more than 3 in the month, as the audience asks
            candidates.append((orders, account, members, share))
    candidates.sort(key=lambda candidate: (-candidate[0], candidate[1]))
    for _, _, members, share in candidates[:AT_RISK_KEY_ACCOUNTS]:
        surge[members] = share
    at_risk = np.sort(np.array([account for _, account, _, _ in candidates[:AT_RISK_KEY_ACCOUNTS]], np.int64))

    # Checkouts out of half of what browsing remains, so pages and products keep the rest.
    spare = (browsing - surge) // 2
    converted = np.minimum(plan.orders, spare)
    spare = spare - converted
    abandoner = persons.known & ~persons.fake_email & ~silent & (spare >= 1)
    abandoned = (abandoner & (rng.random(p) < ABANDONER_SHARE)).astype(np.int64)
    abandoned += np.where((abandoned > 0) & (spare >= 2), rng.random(p) < 0.2, 0).astype(np.int64)
    return ExtraPlan(converted=converted, abandoned=abandoned, surge_tickets=surge, at_risk=at_risk)


def add_extras(
    rng: np.random.Generator,
    persons: Persons,
    extra: ExtraPlan,
    server: ServerEvents,
    sessions: Sessions,
    window: Window,
    signup_ms: np.ndarray,
) -> tuple[ServerEvents, Checkouts]:
    """The server events with the planned checkouts and surge tickets appended."""
    p = len(persons)
    latest = persons.latest_ms - 1_000
    earliest = np.minimum(np.where(persons.new, signup_ms + MINUTE_MS, window.start_ms), latest)
    orders = server.orders

    # Converted: the first `converted` orders of each person, 1 to 15 minutes after their checkout.
    order_rank = _rank_by_person(orders.person)
    with_checkout = np.flatnonzero(order_rank < extra.converted[orders.person])
    converted_person = orders.person[with_checkout]
    converted_ms = orders.time_ms[with_checkout] - rng.uniform(1, 15, len(with_checkout)) * MINUTE_MS
    converted_ms = np.clip(
        converted_ms.astype(np.int64), earliest[converted_person], orders.time_ms[with_checkout]
    )

    # Abandoned: minutes after a logged-in session (often the latest), and no order for 24 hours after it.
    identified, offsets = sessions.identified_by_person(p)
    abandoner = np.repeat(np.arange(p), extra.abandoned)
    count = offsets[abandoner + 1] - offsets[abandoner]
    first = np.concatenate([[True], abandoner[1:] != abandoner[:-1]]) if len(abandoner) else np.zeros(0, bool)
    last = first & (rng.random(len(abandoner)) < ABANDON_IN_LAST_SESSION)
    pick = np.where(last, count - 1, np.floor(rng.random(len(abandoner)) * count)).astype(np.int64)
    start = np.where(
        count > 0, sessions.start_ms[identified[offsets[abandoner] + np.maximum(pick, 0)]], window.start_ms
    )
    abandoned_ms = np.clip(
        (start + rng.uniform(2, 30, len(abandoner)) * MINUTE_MS).astype(np.int64),
        earliest[abandoner],
        latest[abandoner],
    )
    cart = orders.revenue_cents[np.flatnonzero(~persons.key_account_buyer[orders.person])]
    cart_value = rng.choice(cart, len(abandoner)) if len(cart) else np.full(len(abandoner), 4_999)

    checkouts = Checkouts(
        person=np.concatenate([converted_person, abandoner]),
        time_ms=np.concatenate([converted_ms, abandoned_ms]),
        order=np.concatenate([with_checkout, np.full(len(abandoner), -1)]),
        value_cents=np.concatenate([orders.revenue_cents[with_checkout], cart_value]).astype(np.int64),
        checkout_id=zero_padded(rng.permutation(len(with_checkout) + len(abandoner)) + 1, 9, prefix="chk_"),
    )

    # Surge tickets: a few per active member of an at-risk key account, in the window's last three weeks.
    surge_person = np.repeat(np.arange(p), extra.surge_tickets)
    low, high = SURGE_DAYS
    surge_ms = window.end_ms - (rng.uniform(low, high, len(surge_person)) * DAY_MS).astype(np.int64)
    surge_ms = np.clip(surge_ms, earliest[surge_person], latest[surge_person])
    general = len(vocab.TICKET_SUBJECTS)
    tickets = server.tickets
    n_tickets = len(tickets.person)
    all_tickets = Tickets(
        person=np.concatenate([tickets.person, surge_person]),
        time_ms=np.concatenate([tickets.time_ms, surge_ms]),
        priority=np.concatenate(
            [tickets.priority, rng.choice([2, 3], len(surge_person), p=[0.6, 0.4])]  # high or urgent
        ),
        subject=np.concatenate([tickets.subject, rng.integers(0, general, len(surge_person))]),
    )

    return (
        replace(
            server,
            person=np.concatenate([server.person, checkouts.person, surge_person]),
            kind=np.concatenate(
                [
                    server.kind,
                    np.full(len(checkouts.person), kinds.CHECKOUT_STARTED, dtype=np.int8),
                    np.full(len(surge_person), kinds.SUPPORT_TICKET_OPENED, dtype=np.int8),
                ]
            ),
            time_ms=np.concatenate([server.time_ms, checkouts.time_ms, surge_ms]),
            # Checkout Started rows point into the checkouts through `order` (see messages).
            order=np.concatenate(
                [server.order, np.arange(len(checkouts.person)), np.full(len(surge_person), -1)]
            ),
            ticket=np.concatenate(
                [server.ticket, np.full(len(checkouts.person), -1), n_tickets + np.arange(len(surge_person))]
            ),
            tickets=all_tickets,
            checkouts=checkouts,
        ),
        checkouts,
    )


def abandoned_within(
    person_: np.ndarray, started_ms: np.ndarray, orders_person: np.ndarray, orders_ms: np.ndarray, hours: int
) -> np.ndarray:
    """Per checkout: no order of the same person in the `hours` after it (the audience's definition)."""
    order = np.lexsort((orders_ms, orders_person))
    person, at = orders_person[order], orders_ms[order]
    # One sortable int64 key, person-major and time-minor (times stay below 1e13 ms, people below 900k).
    key = person.astype(np.int64) * 10**13 + at
    start = person_.astype(np.int64) * 10**13 + started_ms
    nxt = np.searchsorted(key, start, side="left")
    has_next = nxt < len(key)
    nxt_person = np.where(has_next, person[np.minimum(nxt, len(key) - 1)], -1)
    nxt_ms = np.where(has_next, at[np.minimum(nxt, len(key) - 1)], 0)
    return ~((nxt_person == person_) & (nxt_ms <= started_ms + hours * HOUR_MS))


def _rank_by_person(person: np.ndarray) -> np.ndarray:
    """0, 1, 2 … over each person's rows, in row order (rows are grouped by person)."""
    starts = np.concatenate([[True], person[1:] != person[:-1]]) if len(person) else np.zeros(0, bool)
    first = np.maximum.accumulate(np.where(starts, np.arange(len(person)), 0))
    return np.arange(len(person)) - first
