"""All events in one table: client and server rows together, with delivery times, sources and message ids.

Timestamps follow Segment's clock-skew rule. The device stamps `originalTimestamp` and `sentAt` with its own
(sometimes wrong) clock, the collector stamps `receivedAt`, and
`timestamp = receivedAt - (sentAt - originalTimestamp)`, which is the true time plus network latency.
The table also fixes the output order: by day of `timestamp`, then source, then `receivedAt`, with the
exact re-deliveries (same messageId, same body) slotted in a little later in the same file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from orchestration.generator import kinds
from orchestration.generator import vocabulary as vocab
from orchestration.generator.commerce import ServerEvents
from orchestration.generator.devices import Devices
from orchestration.generator.formatting import DAY_MS, uuid4_strings
from orchestration.generator.population import TRIAL, Persons
from orchestration.generator.sessions import ClientEvents

# Email spellings: as stored, Title.Case, UPPER, leading space, trailing space, both and Title.Case.
EMAIL_STYLES = 6
_EMAIL_STYLE_SHARE = {
    kinds.IDENTIFY_DEVICE: (0.55, 0.12, 0.04, 0.09, 0.14, 0.06),
    kinds.IDENTIFY_CRM: (0.30, 0.55, 0.10, 0.0, 0.0, 0.05),
    kinds.IDENTIFY_BILLING: (1.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    kinds.SUPPORT_TICKET_OPENED: (0.45, 0.20, 0.10, 0.10, 0.10, 0.05),
}
PHONE_IN_APP_IDENTIFY = 0.4


@dataclass(frozen=True)
class EventTable:
    person: np.ndarray
    kind: np.ndarray
    source: np.ndarray  # index into vocabulary.SOURCES
    device: np.ndarray  # client events, else -1
    identified: np.ndarray  # client events sent while logged in
    original_ms: np.ndarray
    sent_ms: np.ndarray
    received_ms: np.ndarray
    timestamp_ms: np.ndarray
    page: np.ndarray
    referrer_page: np.ndarray
    external_referrer: np.ndarray
    screen: np.ndarray
    product: np.ndarray
    method: np.ndarray
    wifi: np.ndarray
    order: np.ndarray
    ticket: np.ndarray
    email_style: np.ndarray  # identify and support events, else -1
    phone_style: np.ndarray  # index into vocabulary.PHONE_FORMATS, -1 when no phone is sent
    plan: np.ndarray  # plan at the time of the event (identify traits), -1 when unknown
    one_off_anonymous: np.ndarray  # index into one_off_ids for server calls with no user id, else -1
    one_off_ids: pa.StringArray
    message_id: pa.StringArray
    # File order, by row index; duplicated deliveries appear twice.
    delivery_order: np.ndarray
    duplicates: int

    def __len__(self) -> int:
        return len(self.kind)

    def signup_timestamps(self, persons: int) -> np.ndarray:
        """Per person, the `timestamp` of their Signed Up event, -1 without one."""
        signed_up = self.kind == kinds.SIGNED_UP
        at = np.full(persons, -1, dtype=np.int64)
        at[self.person[signed_up]] = self.timestamp_ms[signed_up]
        return at


def assemble_events(
    rng: np.random.Generator,
    persons: Persons,
    devices: Devices,
    client: ClientEvents,
    server: ServerEvents,
    duplicates: int,
) -> EventTable:
    nc, ns = len(client.kind), len(server.kind)
    n = nc + ns

    def client_only(values: np.ndarray) -> np.ndarray:
        return np.concatenate([values, np.full(ns, -1, dtype=values.dtype)])

    def server_only(values: np.ndarray) -> np.ndarray:
        return np.concatenate([np.full(nc, -1, dtype=values.dtype), values])

    person = np.concatenate([client.person, server.person])
    kind = np.concatenate([client.kind, server.kind]).astype(np.int8)
    device = client_only(client.device)
    ios = np.concatenate([devices.ios[client.device], np.zeros(ns, bool)])
    source = np.where(
        kind < kinds.FIRST_SERVER_KIND, np.where(ios, kinds.IOS, kinds.WEB), kinds.KIND_SERVER_SOURCE[kind]
    )
    true_ms = np.concatenate([client.time_ms, server.time_ms])

    skew = np.concatenate([devices.clock_skew_ms[client.device], np.zeros(ns, np.int64)])
    # Browsers flush within a second or two, the ios SDK batches and sometimes waits for a network.
    delay = np.where(ios, 1_000 + rng.exponential(20_000, n), 200 + rng.exponential(1_500, n))
    offline = ios & (rng.random(n) < 0.02)
    delay = np.where(offline, rng.uniform(10 * 60_000, 6 * 3_600_000, n), delay)
    delay = np.where(kind >= kinds.FIRST_SERVER_KIND, rng.uniform(50, 500, n), delay).astype(np.int64)
    latency = np.where(kind >= kinds.FIRST_SERVER_KIND, rng.uniform(20, 300, n), rng.uniform(30, 900, n))
    latency = latency.astype(np.int64)
    original_ms = true_ms + skew
    sent_ms = true_ms + delay + skew
    received_ms = true_ms + delay + latency
    timestamp_ms = received_ms - (sent_ms - original_ms)

    email_style = np.full(n, -1, dtype=np.int8)
    for email_kind, share in _EMAIL_STYLE_SHARE.items():
        rows = np.flatnonzero(kind == email_kind)
        email_style[rows] = rng.choice(EMAIL_STYLES, len(rows), p=share)
    phone_style = rng.integers(0, len(vocab.PHONE_FORMATS), n).astype(np.int8)
    sends_phone = persons.has_phone[person] & (
        (kind == kinds.IDENTIFY_CRM)
        | ((kind == kinds.IDENTIFY_DEVICE) & (rng.random(n) < PHONE_IN_APP_IDENTIFY))
    )
    phone_style = np.where(sends_phone, phone_style, -1).astype(np.int8)

    subscribed_ms = server.subscription_ms[person]
    plan = np.where(
        persons.new[person],
        np.where(
            (subscribed_ms >= 0) & (true_ms >= subscribed_ms),
            persons.paid_plan[person],
            np.where(persons.trial[person], TRIAL, -1),
        ),
        np.where(persons.known[person], persons.paid_plan[person], -1),
    )
    # Server-side libraries insist on an id; for contacts without a user id integrations make one up per call.
    one_off = (kind == kinds.SUPPORT_TICKET_OPENED) | (
        (kind == kinds.IDENTIFY_CRM) & ~persons.crm_linked[person]
    )
    one_off_anonymous = np.full(n, -1, dtype=np.int64)
    one_off_anonymous[one_off] = np.arange(int(one_off.sum()))

    unique_order, redelivered = _delivery_order(rng, source, timestamp_ms, received_ms, duplicates)
    return EventTable(
        person=person,
        kind=kind,
        source=source,
        device=device,
        identified=np.concatenate([client.identified, np.zeros(ns, bool)]),
        original_ms=original_ms,
        sent_ms=sent_ms,
        received_ms=received_ms,
        timestamp_ms=timestamp_ms,
        page=client_only(client.page),
        referrer_page=client_only(client.referrer_page),
        external_referrer=client_only(client.external_referrer),
        screen=client_only(client.screen),
        product=client_only(client.product),
        method=client_only(client.method),
        wifi=rng.random(n) < 0.7,
        order=server_only(server.order),
        ticket=server_only(server.ticket),
        email_style=email_style,
        phone_style=phone_style,
        plan=plan,
        one_off_anonymous=one_off_anonymous,
        one_off_ids=uuid4_strings(rng, int(one_off.sum())),
        message_id=uuid4_strings(rng, n),
        delivery_order=unique_order,
        duplicates=redelivered,
    )


def _delivery_order(
    rng: np.random.Generator,
    source: np.ndarray,
    timestamp_ms: np.ndarray,
    received_ms: np.ndarray,
    duplicates: int,
) -> tuple[np.ndarray, int]:
    """Rows in file order: day of `timestamp`, source, arrival. Re-deliveries arrive seconds to minutes later."""
    n = len(source)
    again = rng.choice(n, min(duplicates, n), replace=False)
    row = np.concatenate([np.arange(n), again])
    arrival = np.concatenate([received_ms, received_ms[again] + rng.integers(1_000, 30 * 60_000, len(again))])
    day = timestamp_ms[row] // DAY_MS
    order = np.lexsort((row, arrival, source[row], day))
    return row[order], len(again)
