"""Synthetic Segment-spec events with known identities: the data behind `cdp generate` and `cdp demo`.

    generate(events, profiles, days, seed, out, end_date=None) -> GenerationSummary

Output is byte-for-byte deterministic for a given (seed, end_date, events, profiles, days) and options.

Events
------
`OUT/YYYY-MM-DD/<source>/events-NNNN.jsonl.gz`: gzip NDJSON, one folder per UTC day of `timestamp`, then one
per source (`web`, `ios`, `crm`, `billing`, `support`), at most `max_events_per_file` lines per file, lines
ordered by `receivedAt`. The window is the `days` whole UTC days ending with `end_date` (inclusive; default
today, so the last day can hold times later than now). Exactly `events` lines are written; a fraction
(`duplicate_fraction`) are exact re-deliveries of another line (same messageId, same bytes), in the same file.

Every line is one Segment message: `messageId` (UUID v4), `type`, `timestamp`, `originalTimestamp`,
`sentAt`, `receivedAt` (ISO-8601 UTC with milliseconds and `Z`; `timestamp = receivedAt - (sentAt -
originalTimestamp)`, devices with skewed clocks make the other three disagree), `context`, `integrations`
(`{}`), `channel` (`client` or `server`), and per type: track `event` + `properties`; page `name` +
`properties` {path, referrer, title, url}; screen `name` + `properties` {name}; identify `traits`; group
`groupId` + `traits` {name, industry, employees}; alias `previousId` + `userId`. Absent ids are omitted,
never null.

Track events: Product Viewed {product_id, sku, category, name, brand, price, currency}; Signed Up {method};
Logged In {method}; Trial Started {plan: "trial", trial_days}; Subscription Started {plan: basic|pro,
subscription_id, billing_interval, amount, currency} (billing); Order Completed {order_id, revenue, currency,
products: [{product_id, sku, name, brand, category, price, quantity}], brand} (billing; `brand` is the brand
of products[0], the main product; revenue = sum of price x quantity); Support Ticket Opened {ticket_id,
priority, subject} (support); Checkout Started {checkout_id, value, currency} (billing: the checkout service,
with the userId; 1 to 15 minutes before most orders, and alone for abandoned checkouts).

Where identifiers sit (what the identity graph has to read):
 - `userId`: the app's user id (`usr_…`) on logged-in web/ios events, billing events, billing identify,
   linked CRM identify; junk (`0`, `null`, `undefined`, `anonymous`) on anonymous web events of buggy clients.
 - `anonymousId`: the web cookie (lower-case UUID) or ios install id (upper-case UUID) on every web/ios
   event; on support events and unlinked CRM identifies, a one-off UUID made up per call by the integration.
 - `previousId` (alias): a web/ios alias at signup names an anonymousId of the same person, usually from
   another of their devices (id_type `anonymous_id`, a UUID); a CRM alias names a legacy numeric user id
   (7 digits, id_type `user_id`) of a customer from before the window.
 - `context.device.id` (IDFV, upper-case UUID) and `context.device.advertisingId` (IDFA; zeroed UUID when
   `adTrackingEnabled` is false): ios only. Web events carry no device id.
 - `traits.email`: on identify calls (web/ios, crm, billing), spelled with varying case and surrounding
   spaces; `context.traits.email` on Support Ticket Opened (support events carry no userId).
 - `traits.phone`: on crm identifies and some web/ios identifies, in formats such as `+1 415 555 0100`,
   `(415) 555-0100`, `4155550100`, `415-555-0100`, `+14155550100`, `1-415-555-0100`.
 - `context.externalIds`: `[{"id": "003…", "type": "salesforce_contact_id", "collection": "users",
   "encoding": "none"}]` on crm identifies.
 - `traits.stripe_customer_id` (`cus_…`) on billing identifies.
 - `groupId` is a company account, not a person identifier (accounts are in `accounts.parquet`).

Ground truth
------------
`OUT/_ground_truth/identifiers.parquet`: id_type (`user_id`, `anonymous_id`, `email`, `phone`, `device_id`,
`advertising_id`, `salesforce_contact_id`, `stripe_customer_id`), id_value (email trimmed and lower-cased,
phone as E.164 `+1…`, others as sent), person_id (null when shared or junk), is_shared (sent on behalf of
more than one person; junk values mostly are), is_junk (a placeholder that identifies nobody). Every
identifier that appears in the events is listed, built from the same arrays the messages are written from.

`OUT/_ground_truth/persons.parquet`: person_id, groups (planted: churner, big_spender, brand_lover,
support_heavy, trial_never_subscribed), persona (window_shopper, bargain_hunter, loyalist, mobile_first,
b2b_buyer), signup_at (the `timestamp` of Signed Up for people who sign up in the window, a time before
it for existing customers, null for people who never sign up), first_seen and last_seen (over their
events' `timestamp`), plan at the end of the window (trial, basic, pro or null) and favorite_brand (brand
lovers only).

`OUT/_ground_truth/accounts.parquet`: account_id (the `groupId` of its group calls), name, key_account
(the few accounts whose buyers order in bulk, so each spends over $1M a year), at_risk (key accounts whose
members opened more than 3 support tickets in the window's last 30 days: the generator plants two, whose
members open 5 between them 3 to 21 days before the window's end), spend_usd (its members' orders in the window) and
members (its buyers).
`OUT/_ground_truth/account_members.parquet`: account_id, person_id for every person with a group call.

`OUT/_ground_truth/checkouts.parquet`: one row per Checkout Started: checkout_id, person_id, started_at (its
`timestamp`), converted (its order followed), abandoned (no Order Completed of the person in the 24 hours
after it). One in five people with an account and a real email abandons a checkout, most of them
right after their latest session.

Planted behaviour (churner and trial_never_subscribed are planted only when `days` >= 40):
 - churner: a regular (10 or more events) active early, then no event at all in the last 30 days of the
   window; everyone else with 5 or more events (trial_never_subscribed aside) is still seen in the last 25
   days;
 - big_spender: 8 or more orders, mostly premium products;
 - brand_lover: at least 80 % of purchased items from favorite_brand;
 - support_heavy: 6 or more Support Ticket Opened;
 - trial_never_subscribed: Trial Started, at least one ticket, never Subscription Started, no event in the
   last 30 days.
Personas shape the event mix: window shoppers view many products and rarely buy, bargain hunters buy cheap
products, loyalists are the most active buyers, mobile-first people use the ios app, b2b buyers belong to a
company account (group calls, work emails, large quantities).
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from orchestration.generator import kinds
from orchestration.generator import vocabulary as vocab
from orchestration.generator.catalog import build_catalog
from orchestration.generator.checkouts import add_extras, plan_extras
from orchestration.generator.commerce import build_server_events, plan_server_events
from orchestration.generator.devices import build_devices
from orchestration.generator.events import assemble_events
from orchestration.generator.formatting import DAY_MS
from orchestration.generator.ground_truth import (
    GROUND_TRUTH_DIR,
    write_account_members,
    write_accounts,
    write_checkouts,
    write_identifiers,
    write_persons,
)
from orchestration.generator.messages import MessageEncoder
from orchestration.generator.population import TooFewEvents, Window, build_persons
from orchestration.generator.sessions import simulate_sessions
from orchestration.generator.writer import EventFileWriter

__all__ = ["GenerationSummary", "generate"]

CHUNK_EVENTS = 100_000  # events encoded at a time: big enough for Arrow kernels, small enough for memory


@dataclass(frozen=True)
class GenerationSummary:
    out: Path
    events: int  # lines written, duplicates included
    duplicates: int  # lines that re-deliver another line exactly
    persons: int
    identifiers: int  # rows of identifiers.parquet
    events_by_type: dict[str, int]  # Segment call type -> lines
    tracks_by_event: dict[str, int]  # track event name -> lines
    events_by_source: dict[str, int]
    files: tuple[Path, ...]  # event files, in write order
    seconds: float


def generate(
    events: int,
    profiles: int,
    days: int,
    seed: int,
    out: Path,
    end_date: dt.date | None = None,
    *,
    duplicate_fraction: float = 0.002,
    max_events_per_file: int = 200_000,
    compression_level: int = 1,
    overwrite: bool = False,
) -> GenerationSummary:
    """Write `events` Segment messages about `profiles` people over `days` days into `out` (see module doc).

    `out` must be empty or missing unless `overwrite`, which first removes earlier generator output there
    (day folders and `_ground_truth`) and nothing else.
    """
    started = time.perf_counter()
    if events < 1 or profiles < 1 or days < 1:
        raise ValueError("events, profiles and days must be positive")
    if not 0 <= duplicate_fraction < 0.5:
        raise ValueError("duplicate_fraction must be in [0, 0.5)")
    out = Path(out)
    _prepare(out, overwrite)
    window = Window(end_date or dt.datetime.now(dt.UTC).date(), days)
    duplicates = round(events * duplicate_fraction)

    def stream(step: int) -> np.random.Generator:
        # One independent stream per step, so changing one step never reshuffles the others.
        return np.random.default_rng([seed, step])

    catalog = build_catalog(stream(1))
    try:
        persons, companies = build_persons(stream(2), profiles, events - duplicates, window)
    except TooFewEvents as error:
        needed = math.ceil(error.needed / (1 - duplicate_fraction)) + 1
        raise ValueError(
            f"{events} events cannot cover {profiles} profiles: ask for at least {needed} events "
            "or fewer profiles"
        ) from None
    devices = build_devices(stream(3), persons)
    plan = plan_server_events(stream(4), persons)
    extra = plan_extras(stream(101), persons, plan)  # checkouts and key-account support surges
    server_per_person = plan.per_person + extra.per_person
    client_budget = np.maximum(1, persons.budget - server_per_person)
    client_total = events - duplicates - int(server_per_person.sum())
    sessions, client = simulate_sessions(
        stream(5), persons, devices, catalog, window, client_budget, client_total
    )
    server = build_server_events(stream(6), persons, plan, sessions, client, catalog, window)
    server, checkouts = add_extras(stream(102), persons, extra, server, sessions, window, client.signup_ms)
    table = assemble_events(stream(7), persons, devices, client, server, duplicates)
    signed_up_ms = np.where(persons.new, table.signup_timestamps(profiles), persons.signed_up_before_ms)
    encoder = MessageEncoder(table, persons, companies, devices, catalog, server, signed_up_ms, stream(8))

    writer = EventFileWriter(out, vocab.SOURCES, max_events_per_file, compression_level)
    identifier_keys = []
    order = table.delivery_order
    day = table.timestamp_ms // DAY_MS
    for start in range(0, len(order), CHUNK_EVENTS):
        rows = order[start : start + CHUNK_EVENTS]
        chunk = encoder.encode(rows)
        writer.write(chunk.lines, day[rows], table.source[rows])
        identifier_keys.append(chunk.identifiers)
    files = writer.close()

    truth = out / GROUND_TRUTH_DIR
    truth.mkdir(parents=True, exist_ok=True)
    seen = encoder.identifier_sources.table(np.unique(np.concatenate(identifier_keys)))
    identifiers = write_identifiers(truth / "identifiers.parquet", seen, persons)
    write_persons(truth / "persons.parquet", persons, table, signed_up_ms)
    write_accounts(
        truth / "accounts.parquet",
        persons,
        companies,
        table,
        server.orders.revenue_cents,
        window.silent_from_ms,
    )
    write_account_members(truth / "account_members.parquet", persons, companies, table)
    write_checkouts(truth / "checkouts.parquet", persons, table, checkouts)

    delivered_kind = table.kind[order]
    by_type = Counter(np.asarray(kinds.CALL_TYPES)[kinds.KIND_CALL[delivered_kind]].tolist())
    tracks = kinds.KIND_EVENT[delivered_kind]
    by_event = Counter(np.asarray(kinds.TRACK_EVENTS)[tracks[tracks >= 0]].tolist())
    by_source = Counter(np.asarray(vocab.SOURCES)[table.source[order]].tolist())
    return GenerationSummary(
        out=out,
        events=len(order),
        duplicates=table.duplicates,
        persons=profiles,
        identifiers=identifiers,
        events_by_type=dict(sorted(by_type.items())),
        tracks_by_event=dict(sorted(by_event.items())),
        events_by_source={source: by_source.get(source, 0) for source in vocab.SOURCES},
        files=tuple(files),
        seconds=time.perf_counter() - started,
    )


def _prepare(out: Path, overwrite: bool) -> None:
    if not out.exists():
        out.mkdir(parents=True)
        return
    entries = list(out.iterdir())
    if entries and not overwrite:
        raise FileExistsError(f"{out} is not empty; pass overwrite=True to replace earlier generated data")
    for entry in entries:
        if entry.is_dir() and (entry.name == GROUND_TRUTH_DIR or _is_day_folder(entry.name)):
            shutil.rmtree(entry)


def _is_day_folder(name: str) -> bool:
    try:
        dt.date.fromisoformat(name)
    except ValueError:
        return False
    return len(name) == 10
