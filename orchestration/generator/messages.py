"""Segment-spec JSON for a chunk of events, plus every identifier those messages carry.

The encoder prepares, once, the JSON of everything that repeats (pages, products, orders, tickets, device
contexts, per-person ids and names) and then builds a chunk's lines by taking from those tables and joining
fragments column by column (see json_fragments). The identifiers it reports come from the very arrays it
writes, so the ground truth cannot drift from the events.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.generator import kinds
from orchestration.generator import vocabulary as vocab
from orchestration.generator.catalog import Catalog
from orchestration.generator.commerce import ServerEvents
from orchestration.generator.devices import Devices
from orchestration.generator.events import EventTable
from orchestration.generator.formatting import decimal_amounts, iso_timestamps, random_tokens, zero_padded
from orchestration.generator.json_fragments import (
    concat,
    encoded,
    expand,
    json_array,
    json_object,
    quoted,
    take,
    unwrap,
)
from orchestration.generator.population import PRO, Companies, Persons

# Where identifier values come from: (id_type of the ground truth, table the codes index). Occurrences are
# kept as integer (source, code, person) keys so a million events reduce to distinct pairs cheaply.
(
    USER_ID,
    JUNK_USER_ID,
    LEGACY_USER_ID,
    DEVICE_ANONYMOUS_ID,
    ONE_OFF_ANONYMOUS_ID,
    DEVICE_ID,
    ADVERTISING_ID,
    EMAIL,
    JUNK_EMAIL,
    PHONE,
    SALESFORCE_ID,
    STRIPE_ID,
) = range(12)

# Server calls that always carry the person's userId.
_USER_ID_KINDS = [
    kinds.SUBSCRIPTION_STARTED,
    kinds.ORDER_COMPLETED,
    kinds.IDENTIFY_BILLING,
    kinds.ALIAS_LEGACY,
]
_CHANNELS = encoded(["client", "server"])


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


@dataclass(frozen=True)
class EncodedChunk:
    lines: pa.StringArray  # one JSON object and a newline per event
    identifiers: np.ndarray  # distinct packed (source, code, person) keys, see IdentifierSources


class IdentifierSources:
    """The identifier values events can carry, by source, and packing of (source, code, person) keys."""

    def __init__(self, sources: list[tuple[str, pa.Array]], persons: int) -> None:
        self.id_types = [id_type for id_type, _ in sources]
        self.values = [values for _, values in sources]
        self.persons = persons
        self.span = max(len(values) for values in self.values) + 1

    def pack(self, source: int, code: np.ndarray, person: np.ndarray) -> np.ndarray:
        return (source * self.span + code.astype(np.int64)) * self.persons + person

    def table(self, keys: np.ndarray) -> pa.Table:
        """One row per key: id_type, id_value (as normalised in the ground truth), person (index)."""
        person = keys % self.persons
        source, code = np.divmod(keys // self.persons, self.span)
        order = np.argsort(source, kind="stable")
        bounds = np.searchsorted(source[order], np.arange(len(self.values) + 1))
        parts = [
            self.values[i].take(pa.array(code[order[bounds[i] : bounds[i + 1]]]))
            for i in range(len(self.values))
        ]
        return pa.table(
            {
                "id_type": pa.array(self.id_types).take(pa.array(source[order])),
                "id_value": pa.concat_arrays(parts),
                "person": person[order],
            }
        )


class MessageEncoder:
    def __init__(
        self,
        table: EventTable,
        persons: Persons,
        companies: Companies,
        devices: Devices,
        catalog: Catalog,
        server: ServerEvents,
        signed_up_ms: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        self.table, self.persons, self.devices = table, persons, devices
        self.message_id = quoted(table.message_id)
        self.one_off_ids = quoted(table.one_off_ids)
        self.type_json = encoded(kinds.CALL_TYPES)
        self.event_json = encoded(kinds.TRACK_EVENTS)
        self.name_json = encoded(catalog.page_name + list(vocab.IOS_SCREENS))
        self.pages = len(catalog.page_name)
        # A page object is the page's constant part followed by the referrer, which varies per event.
        self.page_head = pa.array(
            [
                _json({"path": path, "title": title, "url": vocab.SITE + path})[:-1] + ',"referrer":'
                for path, title in zip(catalog.page_path, catalog.page_title, strict=True)
            ]
        )
        self.referrer_json = encoded(
            [vocab.SITE + path for path in catalog.page_path] + list(vocab.EXTERNAL_REFERRERS)
        )

        self.user_id = quoted(persons.user_id)
        self.junk_user_id = encoded(vocab.JUNK_USER_IDS)
        self.legacy_id = quoted(persons.legacy_id)
        self.anonymous_id = quoted(devices.anonymous_id)
        self.group_id = quoted(companies.group_id)
        self.stripe_id = quoted(persons.stripe_id)
        self.first_name = encoded(vocab.FIRST_NAMES).take(pa.array(persons.first_name))
        self.last_name = encoded(vocab.LAST_NAMES).take(pa.array(persons.last_name))
        self.created_at = iso_timestamps(np.maximum(signed_up_ms, 0), quoted=True)
        self.plan_json = encoded(vocab.PLANS)
        self.company_trait = encoded([{"name": name} for name in companies.name])
        self.group_traits = encoded(
            [
                {"name": name, "industry": vocab.INDUSTRIES[industry], "employees": int(employees)}
                for name, industry, employees in zip(
                    companies.name, companies.industry, companies.employees, strict=True
                )
            ]
        )
        self.junk_emails = pa.array(vocab.JUNK_EMAIL_VARIANTS)

        # Everything a track, screen or page-less call can carry as properties, in one table.
        parts = {
            kinds.SCREEN: encoded([{"name": screen} for screen in vocab.IOS_SCREENS]),
            kinds.PRODUCT_VIEWED: encoded([_product(catalog, i) for i in range(catalog.products)]),
            kinds.SIGNED_UP: encoded([{"method": method} for method in vocab.SIGNUP_METHODS]),
            kinds.LOGGED_IN: encoded([{"method": method} for method in vocab.LOGIN_METHODS]),
            kinds.TRIAL_STARTED: encoded([{"plan": "trial", "trial_days": vocab.TRIAL_DAYS}]),
            kinds.SUBSCRIPTION_STARTED: self._subscription_properties(rng, server),
            kinds.ORDER_COMPLETED: _order_properties(rng, catalog, server),
            kinds.SUPPORT_TICKET_OPENED: _ticket_properties(rng, server),
        }
        self.properties = pa.concat_arrays(list(parts.values()))
        self.properties_base = np.full(len(kinds.KIND_CALL), -1, dtype=np.int64)
        base = 0
        for kind, values in parts.items():
            self.properties_base[kind] = base
            base += len(values)

        self.device_contexts = _device_contexts(persons, devices)
        library = {source: {"library": lib} for source, lib in vocab.SERVER_LIBRARIES.items()}
        external_ids = pc.binary_join_element_wise(
            '{"externalIds":[{"id":',
            quoted(persons.salesforce_id),
            ',"type":"salesforce_contact_id","collection":"users","encoding":"none"}],',
            _json(library["crm"])[1:],
            "",
        )
        # Server contexts: per person for CRM identifies (their Salesforce id), then the constant ones.
        self.server_context = pa.concat_arrays([external_ids, encoded([library["crm"], library["billing"]])])
        self.support_context_head = _json(library["support"])[:-1] + ',"traits":'

        phones = pc.binary_join_element_wise("+1", pc.cast(pa.array(persons.phone_national), pa.string()), "")
        self.identifier_sources = IdentifierSources(
            [
                ("user_id", persons.user_id),
                ("user_id", pa.array(vocab.JUNK_USER_IDS)),
                ("user_id", persons.legacy_id),
                ("anonymous_id", devices.anonymous_id),
                ("anonymous_id", table.one_off_ids),
                ("device_id", devices.device_id),
                ("advertising_id", devices.advertising_id),
                ("email", persons.email),
                ("email", pa.array(vocab.JUNK_EMAILS)),
                ("phone", phones),
                ("salesforce_contact_id", persons.salesforce_id),
                ("stripe_customer_id", persons.stripe_id),
            ],
            len(persons),
        )

    def encode(self, rows: np.ndarray) -> EncodedChunk:
        t, persons = self.table, self.persons
        n = len(rows)
        kind, person, device = t.kind[rows], t.person[rows], t.device[rows]
        client = kind < kinds.FIRST_SERVER_KIND
        web = client & (t.source[rows] == kinds.WEB)
        ios = client & (t.source[rows] == kinds.IOS)
        identified = t.identified[rows]
        company = persons.company[person]

        # userId: the person's, or a broken client's placeholder while anonymous.
        has_user = (client & identified) | np.isin(kind, _USER_ID_KINDS)
        has_user |= (kind == kinds.IDENTIFY_CRM) & persons.crm_linked[person]
        junk_code = np.where(client & ~identified, self.devices.junk_user_id[np.maximum(device, 0)], -1)
        alias_device = self.devices.last_own_device()[person]

        page = t.page[rows]
        referrer = np.where(
            t.referrer_page[rows] >= 0, t.referrer_page[rows], self.pages + t.external_referrer[rows]
        )
        page_object = concat(take(self.page_head, page, web), take(self.referrer_json, referrer, web), "}")
        page_call = kind == kinds.PAGE
        screen = kind == kinds.SCREEN
        properties_index = self.properties_base[kind] + np.select(
            [
                screen,
                kind == kinds.PRODUCT_VIEWED,
                np.isin(kind, [kinds.SIGNED_UP, kinds.LOGGED_IN]),
                kind == kinds.SUBSCRIPTION_STARTED,
                kind == kinds.ORDER_COMPLETED,
                kind == kinds.SUPPORT_TICKET_OPENED,
            ],
            [t.screen[rows], t.product[rows], t.method[rows], person, t.order[rows], t.ticket[rows]],
            0,
        )
        has_properties = self.properties_base[kind] >= 0

        # Emails (identify and support calls) and the traits object built around them.
        with_email = np.flatnonzero(t.email_style[rows] >= 0)
        email_raw = self._emails(rows[with_email])
        phone_at = np.flatnonzero(t.phone_style[rows[with_email]] >= 0)
        phone_raw = self._phones(rows[with_email][phone_at])
        k, who = kind[with_email], person[with_email]
        in_app, crm, billing = (
            (k == kinds.IDENTIFY_DEVICE),
            (k == kinds.IDENTIFY_CRM),
            (k == kinds.IDENTIFY_BILLING),
        )
        traits_with_email = json_object(
            [
                ("email", quoted(email_raw)),
                ("phone", expand(quoted(phone_raw), phone_at, len(with_email))),
                ("firstName", take(self.first_name, who, in_app | crm)),
                ("lastName", take(self.last_name, who, in_app | crm)),
                ("plan", take(self.plan_json, t.plan[rows[with_email]], in_app | billing)),
                ("createdAt", take(self.created_at, who, in_app)),
                ("company", take(self.company_trait, company[with_email], crm)),
                ("stripe_customer_id", take(self.stripe_id, who, billing)),
            ],
            len(with_email),
        )
        identify = np.isin(kind, [kinds.IDENTIFY_DEVICE, kinds.IDENTIFY_CRM, kinds.IDENTIFY_BILLING])
        support = kind == kinds.SUPPORT_TICKET_OPENED
        server_context = np.select(
            [kind == kinds.IDENTIFY_CRM, kind == kinds.ALIAS_LEGACY, ~client & ~support],
            [person, len(persons), len(persons) + 1],
            -1,
        )

        contexts = self.device_contexts
        position = contexts.position[np.maximum(device, 0)]
        lines = json_object(
            [
                ("messageId", self.message_id.take(pa.array(rows))),
                ("type", take(self.type_json, kinds.KIND_CALL[kind])),
                ("event", take(self.event_json, kinds.KIND_EVENT[kind])),
                (
                    "name",
                    take(
                        self.name_json,
                        np.where(screen, self.pages + t.screen[rows], page),
                        page_call | screen,
                    ),
                ),
                ("userId", (take(self.user_id, person, has_user), take(self.junk_user_id, junk_code))),
                (
                    "anonymousId",
                    (take(self.anonymous_id, device), take(self.one_off_ids, t.one_off_anonymous[rows])),
                ),
                (
                    "previousId",
                    (
                        take(self.anonymous_id, alias_device, kind == kinds.ALIAS_DEVICE),
                        take(self.legacy_id, person, kind == kinds.ALIAS_LEGACY),
                    ),
                ),
                ("groupId", take(self.group_id, company, kind == kinds.GROUP)),
                (
                    "properties",
                    (
                        take(page_object, np.arange(n), page_call),
                        take(self.properties, properties_index, has_properties),
                    ),
                ),
                (
                    "traits",
                    (
                        expand(traits_with_email, with_email, n, identify),
                        take(self.group_traits, company, kind == kinds.GROUP),
                    ),
                ),
                (
                    "context",
                    (
                        concat("{", take(contexts.web, position, web), ',"page":', page_object, "}"),
                        take(contexts.ios, position + t.wifi[rows], ios),
                        take(self.server_context, server_context),
                        concat(
                            self.support_context_head, expand(traits_with_email, with_email, n, support), "}"
                        ),
                    ),
                ),
                ("integrations", "{}"),
                ("channel", take(_CHANNELS, (~client).astype(np.int64))),
                ("timestamp", iso_timestamps(t.timestamp_ms[rows], quoted=True)),
                ("originalTimestamp", iso_timestamps(t.original_ms[rows], quoted=True)),
                ("sentAt", iso_timestamps(t.sent_ms[rows], quoted=True)),
                ("receivedAt", iso_timestamps(t.received_ms[rows], quoted=True)),
            ],
            n,
            terminator="\n",
        )
        identifiers = self._identifiers(
            rows, has_user, junk_code, with_email, email_raw, phone_at, phone_raw, ios
        )
        return EncodedChunk(lines=lines, identifiers=identifiers)

    def _emails(self, rows: np.ndarray) -> pa.Array:
        """The email as this system spells it: case and whitespace vary, the address does not."""
        person = self.table.person[rows]
        style = self.table.email_style[rows].astype(np.int64)
        canonical = self.persons.email.take(pa.array(person))
        title = pc.utf8_title(canonical)
        spelled = pc.choose(
            pa.array(style),
            canonical,
            title,
            pc.utf8_upper(canonical),
            concat(" ", canonical),
            concat(canonical, " "),
            concat(" ", title, " "),
        )
        fake = self.junk_emails.take(pa.array(style % len(vocab.JUNK_EMAIL_VARIANTS)))
        return pc.if_else(pa.array(self.persons.fake_email[person]), fake, spelled)

    def _phones(self, rows: np.ndarray) -> pa.Array:
        """The phone number in the format this event's system uses (vocab.PHONE_FORMATS)."""
        number = self.persons.phone_national[self.table.person[rows]]
        digits = {
            "a": pc.cast(pa.array(number // 10_000_000), pa.string()),
            "e": pc.cast(pa.array(number // 10_000 % 1_000), pa.string()),
            "l": zero_padded(number % 10_000, 4),
        }
        formats = []
        for template in vocab.PHONE_FORMATS:
            # "+1 {a} {e} {l}" splits into literals (even positions) and digit groups (odd positions).
            pieces = re.split(r"\{(\w)\}", template)
            formats.append(concat(*[digits[piece] if i % 2 else piece for i, piece in enumerate(pieces)]))
        return pc.choose(pa.array(self.table.phone_style[rows].astype(np.int64)), *formats)

    def _identifiers(
        self,
        rows: np.ndarray,
        has_user: np.ndarray,
        junk_code: np.ndarray,
        with_email: np.ndarray,
        email_raw: pa.Array,
        phone_at: np.ndarray,
        phone_raw: pa.Array,
        ios: np.ndarray,
    ) -> np.ndarray:
        """Distinct (source, code, person) keys of every identifier in these rows' messages."""
        t, persons, sources = self.table, self.persons, self.identifier_sources
        kind, person, device = t.kind[rows], t.person[rows], t.device[rows]
        keys = []

        def add(source: int, code: np.ndarray, mask: np.ndarray) -> None:
            keys.append(sources.pack(source, code[mask], person[mask]))

        add(USER_ID, person, has_user)
        add(JUNK_USER_ID, junk_code, junk_code >= 0)
        add(LEGACY_USER_ID, person, kind == kinds.ALIAS_LEGACY)
        add(DEVICE_ANONYMOUS_ID, device, device >= 0)
        one_off = t.one_off_anonymous[rows]
        add(ONE_OFF_ANONYMOUS_ID, one_off, one_off >= 0)
        add(DEVICE_ANONYMOUS_ID, self.devices.last_own_device()[person], kind == kinds.ALIAS_DEVICE)
        add(DEVICE_ID, device, ios)
        add(ADVERTISING_ID, device, ios)
        add(SALESFORCE_ID, person, kind == kinds.IDENTIFY_CRM)
        add(STRIPE_ID, person, kind == kinds.IDENTIFY_BILLING)

        # Emails and phones are checked, not assumed: every spelling must normalise to the listed value.
        owner = person[with_email]
        fake = persons.fake_email[owner]
        email_source = np.where(fake, JUNK_EMAIL, EMAIL)
        email_code = np.where(fake, 0, owner)
        expected = pc.if_else(
            pa.array(fake),
            sources.values[JUNK_EMAIL].take(pa.array(np.zeros(len(owner), np.int64))),
            persons.email.take(pa.array(owner)),
        )
        _check_same(normalised_emails(email_raw), expected, "email")
        keys.append(sources.pack(email_source, email_code, owner))
        phone_owner = owner[phone_at]
        _check_same(normalised_phones(phone_raw), sources.values[PHONE].take(pa.array(phone_owner)), "phone")
        keys.append(sources.pack(PHONE, phone_owner, phone_owner))
        return np.unique(np.concatenate(keys))

    def _subscription_properties(self, rng: np.random.Generator, server: ServerEvents) -> pa.Array:
        p = len(self.persons)
        interval = server.billing_interval
        pro = self.persons.paid_plan == PRO
        monthly = np.where(pro, vocab.PLAN_PRICE_CENTS["pro"], vocab.PLAN_PRICE_CENTS["basic"])
        return json_object(
            [
                ("plan", take(self.plan_json, self.persons.paid_plan)),
                ("subscription_id", quoted(random_tokens(rng, p, 14, prefix="sub_"))),
                ("billing_interval", take(encoded(vocab.BILLING_INTERVALS), interval)),
                ("amount", decimal_amounts(np.where(interval == 1, monthly * 10, monthly))),
                ("currency", '"USD"'),
            ],
            p,
        )


@dataclass(frozen=True)
class DeviceContexts:
    """The context keys a device always sends, JSON-encoded once per device.

    Web contexts come without braces (each event adds its page); ios contexts are complete, once per
    `network.wifi` value. Device d's entry is `web[position[d]]`, or `ios[position[d] + wifi]`.
    """

    web: pa.Array
    ios: pa.Array
    position: np.ndarray


def _device_contexts(persons: Persons, devices: Devices) -> DeviceContexts:
    # A device's locale and time zone are those of (one of) the people using it.
    zone = np.zeros(len(devices), dtype=np.int64)
    slot_person = np.repeat(np.arange(len(persons)), np.diff(devices.slot_offsets))
    zone[devices.slot_device] = persons.time_zone[slot_person]
    timezones = encoded([z[0] for z in vocab.TIME_ZONES])
    locales = encoded([z[2] for z in vocab.TIME_ZONES])

    web = np.flatnonzero(~devices.ios)
    web_context = json_object(
        [
            ("ip", quoted(devices.ip.take(pa.array(web)))),
            ("library", _json(vocab.WEB_LIBRARY)),
            ("locale", locales.take(pa.array(zone[web]))),
            ("timezone", timezones.take(pa.array(zone[web]))),
            ("userAgent", encoded(vocab.USER_AGENTS).take(pa.array(devices.user_agent[web]))),
        ],
        len(web),
    )

    ios = np.flatnonzero(devices.ios)
    model = pa.array(devices.model[ios])
    device = json_object(
        [
            ("id", quoted(devices.device_id.take(pa.array(ios)))),
            ("advertisingId", quoted(devices.advertising_id.take(pa.array(ios)))),
            ("adTrackingEnabled", pc.if_else(pa.array(devices.ad_tracking[ios]), "true", "false")),
            ("manufacturer", '"Apple"'),
            ("model", encoded([m[0] for m in vocab.IOS_MODELS]).take(model)),
            ("type", '"ios"'),
        ],
        len(ios),
    )
    apps = [{**vocab.IOS_APP, "version": v, "build": b} for v, b in vocab.IOS_APP_VERSIONS]
    systems = [{"name": "iOS", "version": version} for version in vocab.IOS_VERSIONS]
    screens = [{"width": m[1], "height": m[2]} for m in vocab.IOS_MODELS]
    ios_fields = [
        ("app", encoded(apps).take(pa.array(devices.app_version[ios]))),
        ("device", device),
        ("ip", quoted(devices.ip.take(pa.array(ios)))),
        ("library", _json(vocab.IOS_LIBRARY)),
        ("locale", locales.take(pa.array(zone[ios]))),
        ("os", encoded(systems).take(pa.array(devices.os_version[ios]))),
        ("screen", encoded(screens).take(model)),
        ("timezone", timezones.take(pa.array(zone[ios]))),
    ]
    # Rows 2k and 2k + 1: the k-th ios device on a cellular network, then on wifi.
    ios_context = _interleave(
        json_object([*ios_fields, ("network", '{"wifi":false}')], len(ios)),
        json_object([*ios_fields, ("network", '{"wifi":true}')], len(ios)),
    )
    position = np.full(len(devices), -1, dtype=np.int64)
    position[web] = np.arange(len(web))
    position[ios] = 2 * np.arange(len(ios))
    return DeviceContexts(web=unwrap(web_context), ios=ios_context, position=position)


def _interleave(first: pa.Array, second: pa.Array) -> pa.Array:
    """first[0], second[0], first[1], second[1], …"""
    n = len(first)
    order = np.arange(2 * n) // 2 + (np.arange(2 * n) % 2) * n
    return pa.concat_arrays([first, second]).take(pa.array(order))


def _check_same(actual: pa.Array, expected: pa.Array, what: str) -> None:
    if len(actual) and not pc.all(pc.equal(actual, expected)).as_py():
        raise RuntimeError(f"a generated {what} does not normalise to the value in the ground truth")


def normalised_emails(raw: pa.Array) -> pa.Array:
    """Trimmed and lower-cased: how the ground truth (and the identity graph) spells an email."""
    return pc.utf8_lower(pc.utf8_trim_whitespace(raw))


def normalised_phones(raw: pa.Array) -> pa.Array:
    """E.164 (`+14155550100`) from any of the formats people type; US numbers only."""
    digits = pc.replace_substring_regex(raw, "[^0-9]", "")
    national = pc.if_else(pc.equal(pc.utf8_length(digits), 11), pc.utf8_slice_codeunits(digits, 1), digits)
    return pc.binary_join_element_wise("+1", national, "")


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


def _order_properties(rng: np.random.Generator, catalog: Catalog, server: ServerEvents) -> pa.Array:
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


def _ticket_properties(rng: np.random.Generator, server: ServerEvents) -> pa.Array:
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
