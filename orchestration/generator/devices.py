"""The browsers and phones people use: one anonymousId each, ios devices also a device id and an IDFA.

A person with an account owns one to three devices, a visitor who never signs in one. A few families share one more (a tablet or a home computer), so one
anonymousId and device id belong to two or three people. Some devices send junk: a zeroed device id or
advertising id, or a buggy web release that sets userId to "undefined"-like strings while anonymous.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.generator import vocabulary as vocab
from orchestration.generator.formatting import ZERO_UUID, uuid4_strings
from orchestration.generator.population import Persons

SHARED_DEVICE_SHARE = 0.03  # of persons, who share a device with one or two others
FAMILY_TABLET = len(vocab.IOS_MODELS) - 1


@dataclass(frozen=True)
class Devices:
    ios: np.ndarray  # else a web browser
    shared: np.ndarray
    anonymous_id: pa.StringArray
    device_id: pa.StringArray  # sent by ios only
    advertising_id: pa.StringArray  # sent by ios only; zeroed when ad tracking is limited
    ad_tracking: np.ndarray
    model: np.ndarray  # index into vocab.IOS_MODELS
    os_version: np.ndarray
    app_version: np.ndarray
    user_agent: np.ndarray  # index into vocab.USER_AGENTS (web)
    ip: pa.StringArray
    junk_user_id: np.ndarray  # index into vocab.JUNK_USER_IDS sent while anonymous, or -1
    clock_skew_ms: np.ndarray  # device clock minus true time
    # Devices of person i: slot_device[slot_offsets[i]:slot_offsets[i + 1]], own devices first.
    slot_offsets: np.ndarray
    slot_device: np.ndarray
    own_devices: np.ndarray  # per person

    def __len__(self) -> int:
        return len(self.ios)

    def last_own_device(self) -> np.ndarray:
        """Per person, the own device an alias() call names as the previous anonymousId."""
        return self.slot_device[self.slot_offsets[:-1] + self.own_devices - 1]


def build_devices(rng: np.random.Generator, persons: Persons) -> Devices:
    p = len(persons)
    own = 1 + (rng.random(p) < 0.35) + (rng.random(p) < 0.12)
    # A visitor who never signs in leaves nothing that links two browsers, so no CDP could tell they are
    # one person; giving such visitors several devices would plant splits that only the ground truth knows.
    own = np.where((persons.budget <= 2) | ~persons.known, 1, own)
    owner = np.repeat(np.arange(p), own)
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(own) - own, own)
    mobile = persons.persona[owner] == vocab.PERSONAS.index("mobile_first")
    ios_rate = np.where(rank == 0, np.where(mobile, 0.85, 0.2), np.where(mobile, 0.7, 0.45))
    own_ios = rng.random(len(owner)) < ios_rate

    members, family = _families(rng, persons.budget, persons.known)
    families = int(family.max()) + 1 if len(family) else 0
    family_ios = rng.random(families) < 0.65

    ios = np.concatenate([own_ios, family_ios])
    shared = np.concatenate([np.zeros(len(owner), bool), np.ones(families, bool)])
    n = len(ios)
    # Slots: a person's own devices in order, then the shared one.
    slot_person = np.concatenate([owner, members])
    slot_device = np.concatenate([np.arange(len(owner)), len(owner) + family])
    slot_order = np.concatenate([rank, np.full(len(members), 99)])
    order = np.lexsort((slot_order, slot_person))
    slot_offsets = np.concatenate([[0], np.cumsum(np.bincount(slot_person, minlength=p))])

    anonymous_id = uuid4_strings(rng, n)
    # analytics-ios generates upper-case UUIDs, analytics.js lower-case ones.
    anonymous_id = pc.if_else(pa.array(ios), pc.utf8_upper(anonymous_id), anonymous_id)
    device_id = uuid4_strings(rng, n, upper=True)
    device_id = pc.if_else(pa.array(ios & (rng.random(n) < 0.015)), ZERO_UUID, device_id)
    ad_tracking = rng.random(n) >= 0.06
    advertising_id = pc.if_else(pa.array(ad_tracking), uuid4_strings(rng, n, upper=True), ZERO_UUID)
    model = np.where(shared, FAMILY_TABLET, rng.integers(0, FAMILY_TABLET, n))
    junk_user_id = np.where(~ios & (rng.random(n) < 0.04), rng.integers(0, len(vocab.JUNK_USER_IDS), n), -1)
    skewed = rng.random(n) < 0.03
    skew = np.where(
        skewed,
        rng.choice([-1, 1], n) * rng.integers(60_000, 90 * 60_000, n),
        np.round(rng.normal(0, 300, n)),
    )
    return Devices(
        ios=ios,
        shared=shared,
        anonymous_id=anonymous_id,
        device_id=device_id,
        advertising_id=advertising_id,
        ad_tracking=ad_tracking,
        model=model,
        os_version=rng.integers(0, len(vocab.IOS_VERSIONS), n),
        app_version=rng.integers(0, len(vocab.IOS_APP_VERSIONS), n),
        user_agent=rng.integers(0, len(vocab.USER_AGENTS), n),
        ip=_documentation_ips(rng, n),
        junk_user_id=junk_user_id,
        clock_skew_ms=skew.astype(np.int64),
        slot_offsets=slot_offsets,
        slot_device=slot_device[order],
        own_devices=own,
    )


def _families(
    rng: np.random.Generator, budget: np.ndarray, known: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Persons who share a device, and the family (shared device) each belongs to; families of 2 or 3."""
    # People active enough to show up on both sides of the tablet, with accounts so they sign in on it.
    pool = np.flatnonzero((budget >= 6) & known)
    wanted = min(round(SHARED_DEVICE_SHARE * len(budget)), len(pool))
    sizes = rng.choice([2, 3], max(wanted // 2, 0), p=[0.6, 0.4])
    sizes = sizes[np.cumsum(sizes) <= wanted]
    members = rng.choice(pool, int(sizes.sum()), replace=False) if len(sizes) else np.array([], np.int64)
    return members.astype(np.int64), np.repeat(np.arange(len(sizes)), sizes)


def _documentation_ips(rng: np.random.Generator, n: int) -> pa.StringArray:
    prefixes = pa.array(["192.0.2.", "198.51.100.", "203.0.113."])
    prefix = prefixes.take(pa.array(rng.integers(0, 3, n)))
    host = pc.cast(pa.array(rng.integers(1, 255, n)), pa.string())
    return pc.binary_join_element_wise(prefix, host, "")
