"""What people do in the web and ios apps: sessions of page views, screens and product views, signups, logins.

Each person's client events are grouped into sessions on one of their devices, at diurnal local times
inside their active days. Sessions before a person signs up are anonymous (anonymousId only); the signup
session carries Signed Up, the identify linking anonymousId to userId, Trial Started and sometimes alias
and group; the first later session on each other device starts with Logged In and an identify. Rows are
plain numpy columns; nothing here knows about JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from orchestration.generator import kinds
from orchestration.generator import vocabulary as vocab
from orchestration.generator.catalog import Catalog, pick_products
from orchestration.generator.devices import Devices
from orchestration.generator.formatting import DAY_MS
from orchestration.generator.population import BIG_SPENDER, Persons, Window

HOUR_MS = 3_600_000
SESSION_CONTINUE = 0.78  # chance a session goes on after each event: sessions of ~4.5 events
LOGGED_OUT_SESSIONS = 0.08  # sessions after signup where the person browses logged out
EXTRA_LOGIN = 0.2  # later sessions that begin with Logged In again (expired cookie)
SHARED_DEVICE_USE = 0.4  # sessions of a family member on the family's shared device


@dataclass(frozen=True)
class Sessions:
    person: np.ndarray  # sorted, and by start time within a person
    device: np.ndarray
    start_ms: np.ndarray
    identified: np.ndarray  # the person is logged in: events carry the userId

    def identified_by_person(self, persons: int) -> tuple[np.ndarray, np.ndarray]:
        """Indices of identified sessions grouped by person, and offsets into them (length persons + 1)."""
        index = np.flatnonzero(self.identified)
        counts = np.bincount(self.person[index], minlength=persons)
        return index, np.concatenate([[0], np.cumsum(counts)])


@dataclass(frozen=True)
class ClientEvents:
    person: np.ndarray
    device: np.ndarray
    kind: np.ndarray
    time_ms: np.ndarray  # true time of the action
    identified: np.ndarray
    page: np.ndarray  # web: index into the catalog's pages, else -1
    referrer_page: np.ndarray  # web: page the person came from in this session, -1 if from outside
    external_referrer: np.ndarray  # index into vocab.EXTERNAL_REFERRERS, used when referrer_page is -1
    screen: np.ndarray  # ios screens: index into vocab.IOS_SCREENS, else -1
    product: np.ndarray  # Product Viewed: index into the catalog, else -1
    method: np.ndarray  # Signed Up / Logged In: index into vocab.SIGNUP_METHODS / LOGIN_METHODS
    signup_ms: np.ndarray  # per person: time of Signed Up, -1 without one


def simulate_sessions(
    rng: np.random.Generator,
    persons: Persons,
    devices: Devices,
    catalog: Catalog,
    window: Window,
    client_budget: np.ndarray,
    client_total: int,
) -> tuple[Sessions, ClientEvents]:
    """Sessions and the client events in them, exactly `client_total` events over everyone."""
    p = len(persons)
    b2b = persons.persona == vocab.PERSONAS.index("b2b_buyer")
    slots = np.diff(devices.slot_offsets)
    # Signup and login events come out of the same budget as browsing; estimate them to size sessions.
    structural = np.where(
        persons.new,
        2 + persons.trial + persons.alias_at_signup + b2b,
        np.where(persons.known, 2 + b2b, 0),
    ) + np.where(persons.known, 2 * (slots - 1), 0)
    browsing = np.maximum(1, client_budget - structural)
    per_session = rng.binomial(browsing - 1, 1 - SESSION_CONTINUE)
    session_count = 1 + per_session
    sessions, signup_rank = _sessions(rng, persons, devices, window, session_count)
    session_offset = np.concatenate([[0], np.cumsum(session_count)])

    struct_session, struct_kind, struct_key = _structural_events(rng, persons, sessions, signup_rank, b2b)
    browse_session = _browsing_sessions(rng, browsing, session_count, session_offset)
    browse_session = _fit_total(rng, browse_session, client_total - len(struct_session))

    session = np.concatenate([browse_session, struct_session])
    key = np.concatenate([_rank_within(rng, browse_session).astype(float), struct_key])
    order = np.lexsort((key, session))
    session, key = session[order], key[order]
    kind = np.concatenate([np.full(len(browse_session), -1), struct_kind])[order]
    person = sessions.person[session]
    device = sessions.device[session]
    ios = devices.ios[device]

    browse = kind < 0
    shopper = persons.persona[person]
    browsers = [vocab.PERSONAS.index("window_shopper"), vocab.PERSONAS.index("bargain_hunter")]
    product_rate = np.where(np.isin(shopper, browsers), 0.5, 0.36)
    is_product = browse & (rng.random(len(kind)) < product_rate)
    kind = np.where(
        browse, np.where(is_product, kinds.PRODUCT_VIEWED, np.where(ios, kinds.SCREEN, kinds.PAGE)), kind
    )

    product = _products(rng, persons, catalog, person)
    product_page = (kind == kinds.PAGE) & (rng.random(len(kind)) < 0.4)
    static_page = rng.choice(len(vocab.STATIC_PAGES), len(kind), p=catalog.static_page_share)
    page = np.where(product_page | (kind == kinds.PRODUCT_VIEWED), catalog.product_page(product), static_page)
    page = np.where(key < 0, vocab.LOGIN_PAGE, page)  # events at the start of a session follow a login
    page = np.where((key > 0) & (key < 1), vocab.SIGNUP_PAGE, page)
    page = np.where(ios, -1, page)
    first_in_session = np.concatenate([[True], session[1:] != session[:-1]])
    referrer_page = _referrers(page, first_in_session)
    external = rng.choice(
        len(vocab.EXTERNAL_REFERRERS), len(sessions.person), p=vocab.EXTERNAL_REFERRER_SHARE
    )

    time_ms = _event_times(rng, persons, sessions, session, key, first_in_session)
    # In the signup session, what happens before Signed Up is still anonymous.
    signup_session = session_offset[:-1] + signup_rank
    before_signup = np.zeros(len(sessions.person), dtype=bool)
    before_signup[signup_session[persons.new]] = True
    identified = sessions.identified[session] & ~(before_signup[session] & (key < 0.5))
    signed_up = kind == kinds.SIGNED_UP
    signup_ms = np.full(p, -1, dtype=np.int64)
    signup_ms[person[signed_up]] = time_ms[signed_up]
    screen = rng.choice(len(vocab.IOS_SCREENS), len(kind), p=vocab.IOS_SCREEN_SHARE)
    method = np.where(
        kind == kinds.SIGNED_UP,
        rng.integers(0, len(vocab.SIGNUP_METHODS), len(kind)),
        rng.integers(0, len(vocab.LOGIN_METHODS), len(kind)),
    )
    return sessions, ClientEvents(
        person=person,
        device=device,
        kind=kind.astype(np.int8),
        time_ms=time_ms,
        identified=identified,
        page=page,
        referrer_page=referrer_page,
        external_referrer=external[session],
        screen=np.where(kind == kinds.SCREEN, screen, -1),
        product=np.where(kind == kinds.PRODUCT_VIEWED, product, -1),
        method=method,
        signup_ms=signup_ms,
    )


def _sessions(
    rng: np.random.Generator, persons: Persons, devices: Devices, window: Window, count: np.ndarray
) -> tuple[Sessions, np.ndarray]:
    person = np.repeat(np.arange(len(persons)), count)
    n = len(person)
    span = persons.last_day - persons.first_day
    day = persons.first_day[person] + np.floor(rng.random(n) * (span[person] + 1)).astype(np.int64)
    # Regulars who do not churn come back on their last active day (see population.REGULAR_EVENTS).
    last = np.arange(n) == np.repeat(np.cumsum(count) - 1, count)
    day = np.where(last & persons.stays_active[person], persons.last_day[person], day)
    hour = rng.choice(24, n, p=np.array(vocab.DIURNAL) / sum(vocab.DIURNAL))
    utc_offset = np.array([zone[1] for zone in vocab.TIME_ZONES])[persons.time_zone[person]]
    start = (
        window.start_ms + day * DAY_MS + hour * HOUR_MS + rng.integers(0, HOUR_MS, n) - utc_offset * HOUR_MS
    )
    start = np.clip(start, window.start_ms, persons.latest_ms[person] - 2 * HOUR_MS)
    start = start[np.lexsort((start, person))]  # sessions are interchangeable: sort times within person

    rank = np.arange(n) - np.repeat(np.cumsum(count) - count, count)
    # Mostly the first own device; people in a family pick up the shared tablet or computer often.
    own = devices.own_devices[person]
    slot = np.where(rng.random(n) < 0.5, 0, np.floor(rng.random(n) * own).astype(np.int64))
    has_shared = np.diff(devices.slot_offsets)[person] > own
    slot = np.where(has_shared & (rng.random(n) < SHARED_DEVICE_USE), own, slot)
    device = devices.slot_device[devices.slot_offsets[person] + slot]

    # New customers browse anonymously for a few sessions before signing up.
    signup_rank = np.minimum(count - 1, np.floor(count * rng.uniform(0.1, 0.65, len(persons)))).astype(
        np.int64
    )
    logged_out = rng.random(n) < LOGGED_OUT_SESSIONS
    at_signup = rank == signup_rank[person]
    identified = np.where(
        persons.new[person],
        at_signup | ((rank > signup_rank[person]) & ~logged_out),
        persons.known[person] & ((rank == 0) | ~logged_out),
    )
    signup_rank = np.where(persons.new, signup_rank, -1)
    return Sessions(person=person, device=device, start_ms=start, identified=identified), signup_rank


def _structural_events(
    rng: np.random.Generator,
    persons: Persons,
    sessions: Sessions,
    signup_rank: np.ndarray,
    b2b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signup, login, identify, alias and group calls: (session, kind, ordering key within the session).

    Browsing events get keys 0, 1, 2 …; the signup block sits just after the first one (keys 0.5…), login
    events before everything else (negative keys).
    """
    session_offset = np.searchsorted(sessions.person, np.arange(len(persons)))
    signup_session = session_offset + signup_rank
    parts: list[tuple[np.ndarray, int, float]] = []
    signup_block = (
        (persons.new, kinds.SIGNED_UP),
        (persons.new, kinds.IDENTIFY_DEVICE),
        (persons.new & persons.trial, kinds.TRIAL_STARTED),
        (persons.alias_at_signup, kinds.ALIAS_DEVICE),
        (persons.new & b2b, kinds.GROUP),
    )
    for step, (who, kind) in enumerate(signup_block):
        parts.append((signup_session[who], kind, 0.5 + 0.01 * step))

    # The first identified session of each (person, device), except the signup session, starts with a login.
    identified = np.flatnonzero(sessions.identified)
    pair = sessions.person[identified] * (int(sessions.device.max()) + 1) + sessions.device[identified]
    _, first = np.unique(pair, return_index=True)
    first_on_device = np.zeros(len(sessions.person), dtype=bool)
    first_on_device[identified[first]] = True
    is_signup_session = np.zeros(len(sessions.person), dtype=bool)
    is_signup_session[signup_session[persons.new]] = True
    login = first_on_device & ~is_signup_session
    parts.append((np.flatnonzero(login), kinds.LOGGED_IN, -0.2))
    parts.append((np.flatnonzero(login), kinds.IDENTIFY_DEVICE, -0.1))
    relogin = sessions.identified & ~first_on_device & ~is_signup_session
    relogin &= rng.random(len(relogin)) < EXTRA_LOGIN
    parts.append((np.flatnonzero(relogin), kinds.LOGGED_IN, -0.2))
    # Customers from before the window join their company account in their first session.
    existing_b2b = persons.known & ~persons.new & b2b
    parts.append((session_offset[existing_b2b], kinds.GROUP, -0.05))

    session = np.concatenate([where for where, _, _ in parts])
    kind = np.concatenate([np.full(len(where), kind) for where, kind, _ in parts])
    key = np.concatenate([np.full(len(where), key) for where, _, key in parts])
    return session, kind, key


def _browsing_sessions(
    rng: np.random.Generator, browsing: np.ndarray, session_count: np.ndarray, session_offset: np.ndarray
) -> np.ndarray:
    """The session of each browsing event: every session gets one, the rest land at random."""
    person = np.repeat(np.arange(len(browsing)), browsing)
    rank = np.arange(len(person)) - np.repeat(np.cumsum(browsing) - browsing, browsing)
    count = session_count[person]
    local = np.where(rank < count, rank, np.floor(rng.random(len(person)) * count).astype(np.int64))
    return session_offset[person] + local


def _fit_total(rng: np.random.Generator, browse_session: np.ndarray, wanted: int) -> np.ndarray:
    """Add or drop browsing events so the grand total is exactly what was asked for.

    Structural events are counted only once sessions exist, so the estimate above is off by a little;
    drops never empty a session, additions repeat a random event's session.
    """
    missing = wanted - len(browse_session)
    if missing >= 0:
        return np.concatenate([browse_session, browse_session[rng.integers(0, len(browse_session), missing)]])
    spare = np.flatnonzero(_rank_within(rng, browse_session) > 0)
    if len(spare) < -missing:
        raise ValueError("too few events for the signups and logins these profiles need; ask for more events")
    keep = np.ones(len(browse_session), dtype=bool)
    keep[rng.choice(spare, -missing, replace=False)] = False
    return browse_session[keep]


def _rank_within(rng: np.random.Generator, group: np.ndarray) -> np.ndarray:
    """A random order of the rows within each group value: 0, 1, 2 … per group."""
    order = np.lexsort((rng.random(len(group)), group))
    sorted_group = group[order]
    starts = np.concatenate([[True], sorted_group[1:] != sorted_group[:-1]])
    first = np.maximum.accumulate(np.where(starts, np.arange(len(group)), 0))
    rank = np.empty(len(group), dtype=np.int64)
    rank[order] = np.arange(len(group)) - first
    return rank


def _products(rng: np.random.Generator, persons: Persons, catalog: Catalog, person: np.ndarray) -> np.ndarray:
    return pick_products(
        rng,
        catalog,
        favorite_brand=persons.favorite_brand[person],
        brand_share=np.full(len(person), 0.5),
        bargain=persons.persona[person] == vocab.PERSONAS.index("bargain_hunter"),
        premium=persons.in_group(BIG_SPENDER)[person],
    )


def _referrers(page: np.ndarray, first_in_session: np.ndarray) -> np.ndarray:
    """The page each event's page was reached from: the previous page of the session, -1 for the first.

    Events on the page the previous event was on (identify after Signed Up) keep that page's referrer.
    """
    previous = np.roll(page, 1)
    loads = first_in_session | (page != previous)
    at_load = np.where(first_in_session, -1, previous)
    return at_load[np.maximum.accumulate(np.where(loads, np.arange(len(page)), 0))]


def _event_times(
    rng: np.random.Generator,
    persons: Persons,
    sessions: Sessions,
    session: np.ndarray,
    key: np.ndarray,
    first_in_session: np.ndarray,
) -> np.ndarray:
    """Session start plus the gaps before each event; sessions that would run too late are moved earlier."""
    n = len(session)
    browsing_gap = 2_000 + rng.exponential(40_000, n)
    structural_gap = rng.uniform(1_000, 4_000, n)  # more than latency jitter, so `timestamp` keeps the order
    gap = np.where(key == np.floor(key), browsing_gap, structural_gap).astype(np.int64)
    gap[first_in_session] = 0
    elapsed = np.cumsum(gap)
    elapsed -= np.maximum.accumulate(np.where(first_in_session, elapsed, 0))
    time_ms = sessions.start_ms[session] + elapsed
    limit = persons.latest_ms[sessions.person] - 2_000
    overrun = np.zeros(len(sessions.person), dtype=np.int64)
    np.maximum.at(overrun, session, time_ms - limit[session])
    return time_ms - overrun[session]
