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
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.generator import kinds
from orchestration.generator import vocabulary as vocab
from orchestration.generator.catalog import Catalog
from orchestration.generator.commerce import ServerEvents
from orchestration.generator.contexts import device_contexts
from orchestration.generator.devices import Devices
from orchestration.generator.events import EventTable
from orchestration.generator.formatting import iso_timestamps, zero_padded
from orchestration.generator.identifiers import (
    ADVERTISING_ID,
    DEVICE_ANONYMOUS_ID,
    DEVICE_ID,
    EMAIL,
    JUNK_EMAIL,
    JUNK_USER_ID,
    LEGACY_USER_ID,
    ONE_OFF_ANONYMOUS_ID,
    PHONE,
    SALESFORCE_ID,
    STRIPE_ID,
    USER_ID,
    IdentifierSources,
    check_normalised,
    normalised_emails,
    normalised_phones,
)
from orchestration.generator.json_fragments import concat, encoded, expand, json_object, literal, quoted, take
from orchestration.generator.population import Companies, Persons
from orchestration.generator.properties import (
    order_properties,
    product_properties,
    subscription_properties,
    ticket_properties,
)

# Server calls that always carry the person's userId.
_USER_ID_KINDS = [
    kinds.SUBSCRIPTION_STARTED,
    kinds.ORDER_COMPLETED,
    kinds.IDENTIFY_BILLING,
    kinds.ALIAS_LEGACY,
    kinds.CHECKOUT_STARTED,
]
_CHANNELS = encoded(["client", "server"])


@dataclass(frozen=True)
class EncodedChunk:
    lines: pa.StringArray  # one JSON object and a newline per event
    identifiers: np.ndarray  # distinct packed (source, code, person) keys, see IdentifierSources


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
                literal({"path": path, "title": title, "url": vocab.SITE + path})[:-1] + ',"referrer":'
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
            kinds.PRODUCT_VIEWED: product_properties(catalog),
            kinds.SIGNED_UP: encoded([{"method": method} for method in vocab.SIGNUP_METHODS]),
            kinds.LOGGED_IN: encoded([{"method": method} for method in vocab.LOGIN_METHODS]),
            kinds.TRIAL_STARTED: encoded([{"plan": "trial", "trial_days": vocab.TRIAL_DAYS}]),
            kinds.SUBSCRIPTION_STARTED: subscription_properties(rng, persons, server),
            kinds.ORDER_COMPLETED: order_properties(rng, catalog, server),
            kinds.SUPPORT_TICKET_OPENED: ticket_properties(rng, server),
        }
        if server.checkouts is not None:
            parts[kinds.CHECKOUT_STARTED] = server.checkouts.properties()
        self.properties = pa.concat_arrays(list(parts.values()))
        self.properties_base = np.full(len(kinds.KIND_CALL), -1, dtype=np.int64)
        base = 0
        for kind, values in parts.items():
            self.properties_base[kind] = base
            base += len(values)

        self.device_contexts = device_contexts(persons, devices)
        library = {source: {"library": lib} for source, lib in vocab.SERVER_LIBRARIES.items()}
        external_ids = pc.binary_join_element_wise(
            '{"externalIds":[{"id":',
            quoted(persons.salesforce_id),
            ',"type":"salesforce_contact_id","collection":"users","encoding":"none"}],',
            literal(library["crm"])[1:],
            "",
        )
        # Server contexts: per person for CRM identifies (their Salesforce id), then the constant ones.
        self.server_context = pa.concat_arrays([external_ids, encoded([library["crm"], library["billing"]])])
        self.support_context_head = literal(library["support"])[:-1] + ',"traits":'

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
                kind == kinds.CHECKOUT_STARTED,  # `order` indexes the checkouts on these rows
            ],
            [
                t.screen[rows],
                t.product[rows],
                t.method[rows],
                person,
                t.order[rows],
                t.ticket[rows],
                t.order[rows],
            ],
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
        check_normalised(normalised_emails(email_raw), expected, "email")
        keys.append(sources.pack(email_source, email_code, owner))
        phone_owner = owner[phone_at]
        check_normalised(
            normalised_phones(phone_raw), sources.values[PHONE].take(pa.array(phone_owner)), "phone"
        )
        keys.append(sources.pack(PHONE, phone_owner, phone_owner))
        return np.unique(np.concatenate(keys))
