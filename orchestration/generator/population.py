"""Who the synthetic customers are: personas, planted groups, event budgets, lifetimes, plans and identifiers.

Everything is a numpy or Arrow column with one row per person, so 100k people take milliseconds. The
planted groups are ground truth the tests and audiences check against; budgets say how many events each
person will produce (heavy-tailed: most people visit a couple of times, a few produce hundreds of events).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.generator import vocabulary as vocab
from orchestration.generator.formatting import BASE36, DAY_MS, random_tokens, zero_padded

# Planted groups as bits of `Persons.groups`.
CHURNER, BIG_SPENDER, BRAND_LOVER, SUPPORT_HEAVY, TRIAL_NEVER_SUBSCRIBED = (1 << i for i in range(5))
# Share of all persons planted in each group (in vocab.GROUPS order).
GROUP_SHARE = (0.06, 0.02, 0.04, 0.03, 0.03)
# Fewest events a member needs for the group to be visible in the data (orders, tickets, a trial …).
GROUP_MIN_EVENTS = (10, 40, 16, 24, 12)
# Silent groups need 30 quiet days plus a little activity before them.
MIN_DAYS_FOR_SILENT_GROUPS = 40
SILENT_DAYS = 30
# Regulars (this many events or more) who are not planted silent keep coming back until the window's last
# RECENT_DAYS, so "regular, then silent for 30 days" picks out the planted churners.
REGULAR_EVENTS = 5
RECENT_DAYS = 25

TRIAL, BASIC, PRO = range(3)
# Key accounts: the first companies (companies are assigned at random, so these are a random few). Their
# buyers order in bulk, so each spends well over $1M a year, as account-level audiences need.
KEY_ACCOUNTS = 5
KEY_ACCOUNT_VOLUME = 1000  # quantity multiplier on a key account buyer's order lines

_PERSONA_ACTIVITY = np.array([1.2, 1.0, 1.4, 1.1, 0.9])
_PERSONA_ACCOUNT_RATE = np.array([0.6, 1.0, 1.4, 1.0, 1.3])


class TooFewEvents(ValueError):
    """The event budget cannot give every profile its minimum number of events."""

    def __init__(self, needed: int) -> None:
        super().__init__(f"at least {needed} unique events are needed")
        self.needed = needed


@dataclass(frozen=True)
class Window:
    """The `days` whole UTC days ending with `end_date`; times inside are milliseconds since the epoch."""

    end_date: dt.date
    days: int

    @property
    def start_ms(self) -> int:
        start = self.end_date - dt.timedelta(days=self.days - 1)
        return int(dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC).timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.days * DAY_MS

    @property
    def silent_from_ms(self) -> int:
        """Planted churners produce nothing from here on."""
        return self.end_ms - SILENT_DAYS * DAY_MS


@dataclass(frozen=True)
class Persons:
    person_id: pa.StringArray
    persona: np.ndarray
    groups: np.ndarray  # bitmask of planted groups
    budget: np.ndarray  # events planned for the person
    known: np.ndarray  # has an account at some point in the window
    new: np.ndarray  # signs up inside the window (the others signed up before it)
    time_zone: np.ndarray  # index into vocab.TIME_ZONES
    first_day: np.ndarray  # active days, as day offsets from the window start
    last_day: np.ndarray
    latest_ms: np.ndarray  # nothing of this person's may happen at or after this time
    trial: np.ndarray
    subscribes: np.ndarray
    paid_plan: np.ndarray  # BASIC or PRO once subscribed
    plan: np.ndarray  # plan at the end of the window, -1 without an account
    signed_up_before_ms: np.ndarray  # signup time of people who joined before the window, else -1
    favorite_brand: np.ndarray  # planted for brand lovers, else -1
    in_crm: np.ndarray
    crm_linked: np.ndarray  # the CRM contact carries the app's user id
    has_phone: np.ndarray
    fake_email: np.ndarray  # signed up as test@example.com
    legacy_alias: np.ndarray  # has an old user id aliased to the new one
    alias_at_signup: np.ndarray  # the web app called alias() on signup
    first_name: np.ndarray
    last_name: np.ndarray
    company: np.ndarray  # -1 unless a b2b buyer
    email: pa.StringArray  # canonical: trimmed and lower-case
    phone_national: np.ndarray  # ten digits, valid only where has_phone
    user_id: pa.StringArray
    legacy_id: pa.StringArray
    salesforce_id: pa.StringArray
    stripe_id: pa.StringArray

    def __len__(self) -> int:
        return len(self.persona)

    @property
    def stays_active(self) -> np.ndarray:
        """Regulars who are not planted silent: their last session falls on their last active day."""
        return ~self.in_group(CHURNER | TRIAL_NEVER_SUBSCRIBED) & (self.budget >= REGULAR_EVENTS)

    @property
    def key_account_buyer(self) -> np.ndarray:
        return (self.company >= 0) & (self.company < KEY_ACCOUNTS)

    def in_group(self, group: int) -> np.ndarray:
        return (self.groups & group) != 0


@dataclass(frozen=True)
class Companies:
    group_id: pa.StringArray
    name: list[str]
    domain: list[str]
    industry: np.ndarray
    employees: np.ndarray


def build_persons(
    rng: np.random.Generator, profiles: int, unique_events: int, window: Window
) -> tuple[Persons, Companies]:
    p = profiles
    persona = rng.choice(len(vocab.PERSONAS), p, p=vocab.PERSONA_SHARE)
    activity = rng.lognormal(0.0, 1.0, p) * _PERSONA_ACTIVITY[persona]
    # Heavier users are likelier to have an account.
    activity_rank = np.argsort(np.argsort(activity, kind="stable"), kind="stable") / max(p - 1, 1)
    account_rate = np.minimum((0.12 + 0.45 * activity_rank) * _PERSONA_ACCOUNT_RATE[persona], 0.95)
    known = rng.random(p) < account_rate
    new = known & (rng.random(p) < 0.55)

    groups = _plant_groups(rng, persona, known, new, activity, window)
    budget = _event_budgets(rng, unique_events, known, new, groups, activity)
    first_day, last_day, latest_ms = _lifetimes(rng, budget, groups, window)

    tns = (groups & TRIAL_NEVER_SUBSCRIBED) != 0
    trial = (new & (rng.random(p) < 0.85)) | tns
    subscribes = new & ~tns & (~trial | (rng.random(p) < 0.42))
    pro_rate = np.where(persona == vocab.PERSONAS.index("b2b_buyer"), 0.55, 0.3)
    pro_rate = np.where((groups & BIG_SPENDER) != 0, 0.7, pro_rate)
    paid_plan = np.where(rng.random(p) < pro_rate, PRO, BASIC)
    plan = np.where(known & (~new | subscribes), paid_plan, np.where(trial, TRIAL, -1))
    joined_days_before = rng.integers(30, 900, p)
    signed_up_before_ms = np.where(known & ~new, window.start_ms - joined_days_before * DAY_MS, -1)
    signed_up_before_ms = signed_up_before_ms - np.where(known & ~new, rng.integers(0, DAY_MS, p), 0)

    favorite_brand = np.where((groups & BRAND_LOVER) != 0, rng.integers(0, len(vocab.BRANDS), p), -1)
    b2b = persona == vocab.PERSONAS.index("b2b_buyer")
    in_crm = known & (rng.random(p) < np.where(b2b, 0.9, 0.45))
    first_name = rng.integers(0, len(vocab.FIRST_NAMES), p)
    last_name = rng.integers(0, len(vocab.LAST_NAMES), p)
    companies_needed = max(1, int(b2b.sum()) // 3)
    company = np.where(b2b, rng.integers(0, companies_needed, p), -1)
    companies = build_companies(rng, companies_needed)
    return Persons(
        person_id=zero_padded(np.arange(1, p + 1), max(7, len(str(p))), prefix="person-"),
        persona=persona,
        groups=groups,
        budget=budget,
        known=known,
        new=new,
        time_zone=rng.choice(len(vocab.TIME_ZONES), p, p=[tz[3] for tz in vocab.TIME_ZONES]),
        first_day=first_day,
        last_day=last_day,
        latest_ms=latest_ms,
        trial=trial,
        subscribes=subscribes,
        paid_plan=paid_plan,
        plan=plan,
        signed_up_before_ms=signed_up_before_ms,
        favorite_brand=favorite_brand,
        in_crm=in_crm,
        crm_linked=in_crm & (rng.random(p) < 0.7),
        has_phone=known & (rng.random(p) < 0.55),
        # Junk stays rare and away from planted people, whose emails the audiences are built on.
        fake_email=known & (groups == 0) & (rng.random(p) < 0.03),
        legacy_alias=known & ~new & (rng.random(p) < 0.25),
        alias_at_signup=new & (rng.random(p) < 0.2),
        first_name=first_name,
        last_name=last_name,
        company=company,
        email=_emails(rng, first_name, last_name, company, companies),
        phone_national=_phone_numbers(rng, p),
        user_id=random_tokens(rng, p, 12, prefix="usr_", alphabet=BASE36),
        legacy_id=zero_padded(rng.permutation(p) + 1_000_000, 7),
        salesforce_id=random_tokens(rng, p, 15, prefix="003"),
        stripe_id=random_tokens(rng, p, 14, prefix="cus_"),
    ), companies


def _plant_groups(
    rng: np.random.Generator,
    persona: np.ndarray,
    known: np.ndarray,
    new: np.ndarray,
    activity: np.ndarray,
    window: Window,
) -> np.ndarray:
    p = len(persona)
    groups = np.zeros(p, dtype=np.uint8)
    silent_possible = window.days >= MIN_DAYS_FOR_SILENT_GROUPS

    def plant(bit: int, candidates: np.ndarray, share: float, weighted: bool = False) -> None:
        pool = np.flatnonzero(candidates)
        size = min(round(share * p), len(pool))
        if size == 0:
            return
        weights = activity[pool] / activity[pool].sum() if weighted else None
        groups[rng.choice(pool, size, replace=False, p=weights)] |= bit

    churn, big, brand, support, tns = GROUP_SHARE
    if silent_possible:
        plant(TRIAL_NEVER_SUBSCRIBED, known & new, tns)
    not_tns = (groups & TRIAL_NEVER_SUBSCRIBED) == 0
    plant(BIG_SPENDER, known & not_tns, big, weighted=True)
    plant(BRAND_LOVER, known & not_tns, brand)
    plant(SUPPORT_HEAVY, known, support)
    if silent_possible:
        plant(CHURNER, not_tns, churn)
    return groups


def _event_budgets(
    rng: np.random.Generator,
    unique_events: int,
    known: np.ndarray,
    new: np.ndarray,
    groups: np.ndarray,
    activity: np.ndarray,
) -> np.ndarray:
    minimum = np.where(known, np.where(new, 5, 4), 1)
    weight = activity.copy()
    for bit, floor, boost in zip(
        (CHURNER, BIG_SPENDER, BRAND_LOVER, SUPPORT_HEAVY, TRIAL_NEVER_SUBSCRIBED),
        GROUP_MIN_EVENTS,
        (1.0, 3.0, 1.5, 1.5, 1.0),
        strict=True,
    ):
        member = (groups & bit) != 0
        minimum = np.where(member, np.maximum(minimum, floor), minimum)
        weight = np.where(member, weight * boost, weight)
    spare = unique_events - int(minimum.sum())
    if spare < 0:
        raise TooFewEvents(int(minimum.sum()))
    return minimum + rng.multinomial(spare, weight / weight.sum())


def _lifetimes(
    rng: np.random.Generator, budget: np.ndarray, groups: np.ndarray, window: Window
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First and last active day per person; silent groups stop well before the last 30 days."""
    p = len(budget)
    silent = (groups & (CHURNER | TRIAL_NEVER_SUBSCRIBED)) != 0
    # Sessions on day d can run into the next UTC day (time zones, long sessions): keep one spare day.
    last_allowed = np.where(silent, window.days - SILENT_DAYS - 2, window.days - 1)
    reach = 1.0 - np.exp(-(budget - 1) / 15.0)
    span = np.floor(last_allowed * reach * rng.uniform(0.5, 1.0, p)).astype(np.int64)
    lowest = np.where(
        ~silent & (budget >= REGULAR_EVENTS), np.maximum(0, window.days - RECENT_DAYS - span), 0
    )
    first_day = lowest + np.floor(rng.random(p) * (last_allowed - span + 1 - lowest)).astype(np.int64)
    latest_ms = np.where(silent, window.silent_from_ms - 3_600_000, window.end_ms - 5_000)
    return first_day, first_day + span, latest_ms


def build_companies(rng: np.random.Generator, count: int) -> Companies:
    words, suffixes = vocab.COMPANY_WORDS, vocab.COMPANY_SUFFIXES
    combos = len(words) * len(suffixes)
    picks = rng.permutation(max(combos, count))[:count]
    names, domains = [], []
    for pick in picks.tolist():
        base = f"{words[pick % len(words)]} {suffixes[pick // len(words) % len(suffixes)]}"
        round_ = pick // combos  # more companies than name combinations: number them
        names.append(base if round_ == 0 else f"{base} {round_ + 1}")
        domains.append(_slug(names[-1]).replace("-", "") + ".example")
    return Companies(
        group_id=random_tokens(rng, count, 10, prefix="acct_", alphabet=BASE36),
        name=names,
        domain=domains,
        industry=rng.integers(0, len(vocab.INDUSTRIES), count),
        employees=np.round(rng.lognormal(3.5, 1.3, count)).astype(np.int64) + 2,
    )


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return ascii_text.lower().replace(" ", "-")


def _emails(
    rng: np.random.Generator,
    first_name: np.ndarray,
    last_name: np.ndarray,
    company: np.ndarray,
    companies: Companies,
) -> pa.StringArray:
    """Canonical emails like `jane.doe@mail.example`, numbered where two people would collide."""
    p = len(first_name)
    firsts = pa.array([_slug(name) for name in vocab.FIRST_NAMES])
    lasts = pa.array([_slug(name).replace("-", "") for name in vocab.LAST_NAMES])
    first = firsts.take(pa.array(first_name))
    style = rng.integers(0, 4, p)  # jane.doe, janedoe, jdoe, jane_doe
    first = pc.if_else(pa.array(style == 2), pc.utf8_slice_codeunits(first, 0, 1), first)
    separator = pa.array([".", "", "", "_"]).take(pa.array(style))
    local = pc.binary_join_element_wise(first, lasts.take(pa.array(last_name)), separator)
    personal = pa.array(vocab.EMAIL_DOMAINS).take(
        pa.array(rng.choice(len(vocab.EMAIL_DOMAINS), p, p=vocab.EMAIL_DOMAIN_SHARE))
    )
    work = pa.array(companies.domain).take(pa.array(np.maximum(company, 0)))
    domain = pc.if_else(pa.array(company >= 0), work, personal)
    frame = pd.DataFrame(
        {"local": local.to_numpy(zero_copy_only=False), "domain": domain.to_numpy(zero_copy_only=False)}
    )
    clash = frame.groupby(["local", "domain"], sort=False).cumcount().to_numpy()
    number = pc.if_else(pa.array(clash > 0), pc.cast(pa.array(clash + 1), pa.string()), "")
    return pc.binary_join_element_wise(local, number, "@", domain, "")


def _phone_numbers(rng: np.random.Generator, p: int) -> np.ndarray:
    """Distinct ten-digit US numbers in the fictional 555 exchange (more exchanges only past 400k people)."""
    areas = np.array(vocab.AREA_CODES, dtype=np.int64)
    pick = rng.choice(max(p, len(areas) * 10_000), p, replace=False)
    line = pick // len(areas) % 10_000
    exchange = 555 + pick // (len(areas) * 10_000)
    return areas[pick % len(areas)] * 10_000_000 + exchange * 10_000 + line
