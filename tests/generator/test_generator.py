"""The synthetic event generator: layout, Segment validity, ground truth and planted behaviour."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd
import pytest

from orchestration.generator import GenerationSummary, generate

EVENTS, PROFILES, DAYS, SEED = 20_000, 2_000, 90, 7
END = dt.date(2024, 6, 30)
WINDOW_START = dt.datetime(2024, 4, 2, tzinfo=dt.UTC)
WINDOW_END = dt.datetime(2024, 7, 1, tzinfo=dt.UTC)
SILENT_FROM = WINDOW_END - dt.timedelta(days=30)
MOST_SHARED_DEVICES = 0.75  # share of shared devices on which two different people sign in
SOURCES = {"web", "ios", "crm", "billing", "support"}
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})/(web|ios|crm|billing|support)/events-(\d{4})\.jsonl\.gz$")
COMMON = {
    "messageId",
    "type",
    "timestamp",
    "originalTimestamp",
    "sentAt",
    "receivedAt",
    "context",
    "integrations",
}
REQUIRED_BY_TYPE = {
    "track": {"event", "properties"},
    "page": {"name", "properties"},
    "screen": {"name", "properties"},
    "identify": {"traits"},
    "group": {"groupId", "traits"},
    "alias": {"previousId", "userId"},
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    return generate(EVENTS, PROFILES, DAYS, SEED, tmp_path_factory.mktemp("gen") / "out", END)


@pytest.fixture(scope="module")
def lines(run: GenerationSummary) -> list[tuple[str, str]]:
    """(file path relative to the output folder, raw line) for every line written."""
    out = []
    for path in sorted(run.out.glob("*/*/*.jsonl.gz")):
        relative = path.relative_to(run.out).as_posix()
        out.extend((relative, line) for line in read_lines(path))
    return out


@pytest.fixture(scope="module")
def events(lines: list[tuple[str, str]]) -> list[dict]:
    return [json.loads(line) for _, line in lines]


@pytest.fixture(scope="module")
def identifiers(run: GenerationSummary) -> pd.DataFrame:
    return pd.read_parquet(run.out / "_ground_truth" / "identifiers.parquet")


@pytest.fixture(scope="module")
def persons(run: GenerationSummary) -> pd.DataFrame:
    return pd.read_parquet(run.out / "_ground_truth" / "persons.parquet")


@pytest.fixture(scope="module")
def owner(identifiers: pd.DataFrame) -> dict[tuple[str, str], str]:
    """(id_type, normalised value) -> person_id, for identifiers that identify exactly one person."""
    owned = identifiers.dropna(subset=["person_id"])
    return dict(zip(zip(owned.id_type, owned.id_value, strict=True), owned.person_id, strict=True))


def normalise_email(value: str) -> str:
    return value.strip().lower()


def normalise_phone(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    return "+" + (digits if len(digits) == 11 else "1" + digits)


def carried_identifiers(event: dict) -> list[tuple[str, str]]:
    """Every (id_type, normalised value) a message carries, read from the documented places."""
    found = []
    context, traits = event["context"], event.get("traits", {})
    if "userId" in event:
        found.append(("user_id", event["userId"]))
    if "anonymousId" in event:
        found.append(("anonymous_id", event["anonymousId"]))
    if "previousId" in event:
        kind = "anonymous_id" if len(event["previousId"]) == 36 else "user_id"
        found.append((kind, event["previousId"]))
    device = context.get("device", {})
    if "id" in device:
        found.append(("device_id", device["id"]))
    if "advertisingId" in device:
        found.append(("advertising_id", device["advertisingId"]))
    for email in (
        traits.get("email") if event["type"] == "identify" else None,
        context.get("traits", {}).get("email"),
    ):
        if email is not None:
            found.append(("email", normalise_email(email)))
    if "phone" in traits:
        found.append(("phone", normalise_phone(traits["phone"])))
    if "stripe_customer_id" in traits:
        found.append(("stripe_customer_id", traits["stripe_customer_id"]))
    found.extend((external["type"], external["id"]) for external in context.get("externalIds", []))
    return found


def person_of(event: dict, owner: dict[tuple[str, str], str]) -> str | None:
    """Resolve an event to a person through the ground truth, strongest identifier first."""
    for key in carried_identifiers(event):
        if key[0] in ("user_id", "email", "anonymous_id") and key in owner:
            return owner[key]
    return None


def when(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def read_lines(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return list(handle)


def file_bytes(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_same_inputs_give_byte_identical_output(run: GenerationSummary, tmp_path: Path) -> None:
    again = generate(EVENTS, PROFILES, DAYS, SEED, tmp_path / "again", END)
    assert file_bytes(again.out) == file_bytes(run.out)


def test_another_seed_gives_other_events(run: GenerationSummary, tmp_path: Path) -> None:
    other = generate(EVENTS, PROFILES, DAYS, SEED + 1, tmp_path / "other", END)
    assert file_bytes(other.out) != file_bytes(run.out)


def test_layout_is_day_then_source_folders_of_gzipped_ndjson(run: GenerationSummary, events, lines) -> None:
    relative = {path.relative_to(run.out).as_posix() for path in run.files}
    assert all(FILE.match(path) for path in relative)
    assert {path.split("/")[1] for path in relative} == SOURCES
    assert sorted(entry.name for entry in (run.out / "_ground_truth").iterdir()) == [
        "account_members.parquet",
        "accounts.parquet",
        "checkouts.parquet",
        "identifiers.parquet",
        "persons.parquet",
    ]
    assert len(lines) == EVENTS == run.events
    for (path, _), event in zip(lines, events, strict=True):
        day, source, _ = FILE.match(path).groups()
        assert event["timestamp"].startswith(day)
        assert WINDOW_START <= when(event["timestamp"]) < WINDOW_END
        assert event["context"]["library"]["name"] in {
            "web": {"analytics.js"},
            "ios": {"analytics-ios"},
        }.get(source, {"analytics-python", "analytics-node"})


def test_lines_within_a_file_arrive_in_order(lines, events) -> None:
    by_file = defaultdict(list)
    for (path, _), event in zip(lines, events, strict=True):
        by_file[path].append(event)
    for file_events in by_file.values():
        # Re-deliveries keep the original body (and receivedAt), so only first deliveries are in order.
        first, seen = [], set()
        for event in file_events:
            if event["messageId"] not in seen:
                seen.add(event["messageId"])
                first.append(event["receivedAt"])
        assert first == sorted(first)


def test_large_days_are_split_into_numbered_files(tmp_path: Path) -> None:
    summary = generate(3_000, 300, 10, SEED, tmp_path / "small", END, max_events_per_file=40)
    per_folder = defaultdict(list)
    for path in summary.files:
        assert 1 <= len(read_lines(path)) <= 40
        per_folder[path.parent].append(int(path.name[7:11]))
    assert any(len(numbers) > 1 for numbers in per_folder.values())
    assert all(sorted(numbers) == list(range(len(numbers))) for numbers in per_folder.values())
    assert sum(len(read_lines(path)) for path in summary.files) == 3_000


def test_every_line_is_a_segment_message(events) -> None:
    for event in events:
        assert event.keys() >= COMMON | REQUIRED_BY_TYPE[event["type"]], event
        assert "userId" in event or "anonymousId" in event
        assert all(value is not None for value in event.values())
        for field in ("timestamp", "originalTimestamp", "sentAt", "receivedAt"):
            assert ISO_MS.match(event[field]), event[field]
        # Segment's clock-skew correction holds exactly.
        skew = when(event["sentAt"]) - when(event["originalTimestamp"])
        assert when(event["timestamp"]) == when(event["receivedAt"]) - skew
        assert re.fullmatch(
            r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", event["messageId"]
        )
        if event["type"] == "page":
            assert {"url", "path", "referrer", "title"} <= event["properties"].keys()


def test_events_carry_the_documented_properties(events) -> None:
    tracks = Counter(event["event"] for event in events if event["type"] == "track")
    assert set(tracks) == {
        "Product Viewed",
        "Signed Up",
        "Logged In",
        "Trial Started",
        "Subscription Started",
        "Order Completed",
        "Support Ticket Opened",
        "Checkout Started",
    }
    for event in events:
        props = event.get("properties", {})
        if event.get("event") == "Order Completed":
            assert {"order_id", "revenue", "currency", "products", "brand"} <= props.keys()
            assert props["brand"] == props["products"][0]["brand"]
            item_keys = {"product_id", "sku", "name", "brand", "category", "price", "quantity"}
            assert all(item.keys() == item_keys for item in props["products"])
            total = sum(round(item["price"] * 100) * item["quantity"] for item in props["products"])
            assert round(props["revenue"] * 100) == total
            assert "userId" in event
        if event.get("event") == "Support Ticket Opened":
            assert {"ticket_id", "priority", "subject"} <= props.keys()
            assert "userId" not in event and "email" in event["context"]["traits"]
        if event.get("event") == "Checkout Started":
            assert {"checkout_id", "value", "currency"} <= props.keys() and "userId" in event
        if event.get("event") in ("Trial Started", "Subscription Started"):
            assert props["plan"] in ("trial", "basic", "pro")
        if event["type"] == "identify" and "plan" in event["traits"]:
            assert event["traits"]["plan"] in ("trial", "basic", "pro")
    crm_external_ids = [
        event["context"].get("externalIds") for event in events if event["type"] == "identify"
    ]
    assert any(
        ids and ids[0]["type"] == "salesforce_contact_id" and ids[0]["id"].startswith("003")
        for ids in crm_external_ids
    )
    ios = [event for event in events if event["context"]["library"]["name"] == "analytics-ios"]
    assert all(
        event["context"]["device"]["id"] and "advertisingId" in event["context"]["device"] for event in ios
    )


def test_every_identifier_in_the_events_is_in_the_ground_truth(events, identifiers) -> None:
    known = set(zip(identifiers.id_type, identifiers.id_value, strict=True))
    carried = {key for event in events for key in carried_identifiers(event)}
    assert carried - known == set()
    assert {id_type for id_type, _ in carried} == {
        "user_id",
        "anonymous_id",
        "device_id",
        "advertising_id",
        "email",
        "phone",
        "salesforce_contact_id",
        "stripe_customer_id",
    }


def test_identifier_flags_are_consistent(identifiers) -> None:
    assert not identifiers.duplicated(["id_type", "id_value"]).any()
    unowned = identifiers.is_shared | identifiers.is_junk
    assert identifiers.person_id.isna().equals(unowned)


def test_junk_values_are_flagged_and_belong_to_nobody(identifiers) -> None:
    junk = identifiers[identifiers.is_junk]
    assert set(zip(junk.id_type, junk.id_value, strict=True)) >= {
        ("email", "test@example.com"),
        ("user_id", "undefined"),
        ("user_id", "null"),
        ("user_id", "0"),
        ("user_id", "anonymous"),
        ("device_id", "00000000-0000-0000-0000-000000000000"),
    }
    assert junk.person_id.isna().all()


def test_junk_stays_a_few_percent_of_identify_calls(events) -> None:
    identifies = [event for event in events if event["type"] == "identify"]
    junk = [event for event in identifies if normalise_email(event["traits"]["email"]) == "test@example.com"]
    assert 0 < len(junk) / len(identifies) < 0.06


def test_shared_devices_link_several_people_and_are_flagged(events, identifiers, owner) -> None:
    shared = identifiers[identifiers.is_shared & ~identifiers.is_junk]
    assert {"anonymous_id", "device_id"} <= set(shared.id_type)
    shared_anonymous = set(shared[shared.id_type == "anonymous_id"].id_value)
    people = {anonymous_id: set() for anonymous_id in shared_anonymous}
    for event in events:
        if event.get("anonymousId") in shared_anonymous and "userId" in event:
            person = owner.get(("user_id", event["userId"]))
            if person is not None:  # junk user ids ("undefined", "0") are nobody
                people[event["anonymousId"]].add(person)
    # Someone signed in on each shared device, and two different people on most of them.
    assert shared_anonymous and all(people.values()), [a for a, who in people.items() if not who]
    several = sum(len(who) >= 2 for who in people.values())
    assert several / len(people) >= MOST_SHARED_DEVICES, (several, len(people))


def test_email_and_phone_variants_resolve_to_one_person(events, owner) -> None:
    spellings = defaultdict(set)
    for event in events:
        for email in (event.get("traits", {}).get("email"), event["context"].get("traits", {}).get("email")):
            if email and event["type"] in ("identify", "track"):
                spellings[("email", normalise_email(email))].add(email)
        if "phone" in event.get("traits", {}):
            spellings[("phone", normalise_phone(event["traits"]["phone"]))].add(event["traits"]["phone"])
    assert any(len(raw) >= 3 for key, raw in spellings.items() if key[0] == "email")
    assert any(len(raw) >= 3 for key, raw in spellings.items() if key[0] == "phone")
    assert any(
        raw != raw.strip() for (kind, _), values in spellings.items() if kind == "email" for raw in values
    )
    for key in spellings:
        if key != ("email", "test@example.com"):
            assert key in owner, key


def test_identify_links_anonymous_browsing_to_the_user(events, owner) -> None:
    # The anonymous id of every signup is tied to the new userId by an identify (or alias) carrying both,
    # and those anonymous ids also carry events from before the signup (no userId yet).
    linked = {
        (event["anonymousId"], event["userId"])
        for event in events
        if event["type"] in ("identify", "alias") and "anonymousId" in event and "userId" in event
    }
    anonymous_ids = {anonymous for anonymous, _ in linked}
    signups = [event for event in events if event.get("event") == "Signed Up"]
    assert signups and all(event["anonymousId"] in anonymous_ids for event in signups)
    first_anonymous: dict[str, dt.datetime] = {}
    for event in events:
        if "userId" not in event and "anonymousId" in event:
            at = when(event["timestamp"])
            first_anonymous[event["anonymousId"]] = min(at, first_anonymous.get(event["anonymousId"], at))
    browsed_first = [
        s
        for s in signups
        if first_anonymous.get(s["anonymousId"], when(s["timestamp"])) < when(s["timestamp"])
    ]
    # Nearly every new customer browsed anonymously first (a few sign up on their very first page).
    assert len(browsed_first) >= 0.9 * len(signups), (len(browsed_first), len(signups))


def test_user_ids_appear_only_after_signup(events, persons, owner) -> None:
    signed_up = persons[persons.signup_at >= pd.Timestamp(WINDOW_START)]
    signup_at = dict(zip(signed_up.person_id, signed_up.signup_at, strict=True))
    checked = 0
    for event in events:
        person = owner.get(("user_id", event.get("userId")))
        if person in signup_at:
            assert pd.Timestamp(event["timestamp"]) >= signup_at[person], event
            checked += 1
    assert checked > 0
    signup_events = {
        owner[("user_id", e["userId"])]: e["timestamp"] for e in events if e.get("event") == "Signed Up"
    }
    assert {person: pd.Timestamp(at) for person, at in signup_events.items()} == signup_at


def test_aliases_name_earlier_ids(events, identifiers) -> None:
    aliases = [event for event in events if event["type"] == "alias"]
    previous = {event["previousId"] for event in aliases}
    kinds = dict(zip(identifiers.id_value, identifiers.id_type, strict=True))
    assert {kinds[value] for value in previous} == {"anonymous_id", "user_id"}


def test_persons_ground_truth_has_the_documented_columns(persons) -> None:
    assert list(persons.columns) == [
        "person_id",
        "groups",
        "persona",
        "signup_at",
        "first_seen",
        "last_seen",
        "plan",
        "favorite_brand",
    ]
    assert len(persons) == PROFILES and persons.person_id.is_unique
    assert set(persons.persona) == {
        "window_shopper",
        "bargain_hunter",
        "loyalist",
        "mobile_first",
        "b2b_buyer",
    }
    assert set(persons.plan.dropna()) == {"trial", "basic", "pro"}
    planted = Counter(group for groups in persons.groups for group in groups)
    assert set(planted) == {
        "churner",
        "big_spender",
        "brand_lover",
        "support_heavy",
        "trial_never_subscribed",
    }
    assert persons.first_seen.notna().all() and (persons.first_seen <= persons.last_seen).all()
    assert persons.favorite_brand.notna().equals(persons.groups.map(lambda groups: "brand_lover" in groups))


def members(persons: pd.DataFrame, group: str) -> set[str]:
    return set(persons[persons.groups.map(lambda groups: group in groups)].person_id)


@pytest.fixture(scope="module")
def events_by_person(events, owner) -> dict[str, list[dict]]:
    """Each person's events, re-deliveries left out."""
    grouped = defaultdict(list)
    unique = {event["messageId"]: event for event in events}
    for event in unique.values():
        person = person_of(event, owner)
        if person is not None:
            grouped[person].append(event)
    return grouped


def test_churners_are_silent_for_the_last_30_days(persons, events_by_person) -> None:
    churners = members(persons, "churner") | members(persons, "trial_never_subscribed")
    assert churners
    assert (persons[persons.person_id.isin(churners)].last_seen < pd.Timestamp(SILENT_FROM)).all()
    for person in churners:
        assert all(when(event["timestamp"]) < SILENT_FROM for event in events_by_person[person])
    # And they were active before that: present in the events at all.
    assert sum(1 for person in churners if events_by_person[person]) > 0.8 * len(churners)


def test_regulars_who_do_not_churn_are_seen_in_the_last_25_days(persons, events_by_person) -> None:
    silent = members(persons, "churner") | members(persons, "trial_never_subscribed")
    regulars = [
        p for p, person_events in events_by_person.items() if len(person_events) >= 10 and p not in silent
    ]
    assert regulars
    recent = WINDOW_END - dt.timedelta(days=26)
    assert all(max(when(e["timestamp"]) for e in events_by_person[p]) >= recent for p in regulars)


def test_checkouts_come_before_orders_and_the_abandoned_ones_are_true(
    run: GenerationSummary, events, owner
) -> None:
    checkouts = pd.read_parquet(run.out / "_ground_truth" / "checkouts.parquet")
    started = [e for e in events if e.get("event") == "Checkout Started"]
    orders = [e for e in events if e.get("event") == "Order Completed"]
    assert len(started) >= len(checkouts) == checkouts.checkout_id.nunique() > 0  # duplicates re-deliver
    assert 0.8 * len(orders) <= checkouts.converted.sum() <= len(orders)
    assert checkouts.abandoned.sum() > 20 and not (checkouts.abandoned & checkouts.converted).any()
    ordered_at: dict[str, list[dt.datetime]] = {}
    for event in orders:
        ordered_at.setdefault(person_of(event, owner), []).append(when(event["timestamp"]))
    by_id = {e["properties"]["checkout_id"]: e for e in started}
    for row in checkouts.itertuples():
        event = by_id[row.checkout_id]
        assert person_of(event, owner) == row.person_id
        at = when(event["timestamp"])
        assert at == row.started_at.to_pydatetime()
        followed = any(at <= t <= at + dt.timedelta(hours=24) for t in ordered_at.get(row.person_id, []))
        assert row.abandoned == (not followed), row


def test_at_risk_key_accounts_open_tickets_in_the_last_weeks(run: GenerationSummary, events, owner) -> None:
    accounts = pd.read_parquet(run.out / "_ground_truth" / "accounts.parquet")
    links = pd.read_parquet(run.out / "_ground_truth" / "account_members.parquet")
    at_risk = set(accounts[accounts.at_risk].account_id)
    assert at_risk and at_risk <= set(accounts[accounts.key_account].account_id)
    grouped = {(e["groupId"], person_of(e, owner)) for e in events if e["type"] == "group"}
    assert grouped == set(zip(links.account_id, links.person_id, strict=True))
    account_of = dict(zip(links.person_id, links.account_id, strict=True))
    month = WINDOW_END - dt.timedelta(days=30)
    recent: dict[str, int] = {}
    for event in events:
        if event.get("event") == "Support Ticket Opened" and when(event["timestamp"]) >= month:
            account = account_of.get(person_of(event, owner))
            recent[account] = recent.get(account, 0) + 1
    # At-risk: exactly the key accounts whose members opened more than 3 tickets in the last 30 days.
    key = set(accounts[accounts.key_account].account_id)
    assert at_risk == {account for account in key if recent.get(account, 0) > 3}


def orders_of(person_events: list[dict]) -> list[dict]:
    return [event["properties"] for event in person_events if event.get("event") == "Order Completed"]


def test_brand_lovers_buy_mostly_their_favorite_brand(persons, events_by_person) -> None:
    lovers = persons[persons.groups.map(lambda groups: "brand_lover" in groups)]
    assert len(lovers) > 0
    for person, brand in zip(lovers.person_id, lovers.favorite_brand, strict=True):
        items = [item for order in orders_of(events_by_person[person]) for item in order["products"]]
        assert items, person
        favorite = sum(item["quantity"] for item in items if item["brand"] == brand)
        assert favorite / sum(item["quantity"] for item in items) >= 0.7


def test_big_spenders_place_many_large_orders(persons, events_by_person) -> None:
    big = members(persons, "big_spender")
    revenue = {
        person: sum(o["revenue"] for o in orders_of(events)) for person, events in events_by_person.items()
    }
    buyers = pd.Series({person: total for person, total in revenue.items() if total > 0})
    assert all(len(orders_of(events_by_person[person])) >= 8 for person in big)
    assert buyers[buyers.index.isin(big)].median() > 5 * buyers[~buyers.index.isin(big)].median()


def test_support_heavy_people_open_many_tickets(persons, events_by_person) -> None:
    def tickets(person: str) -> int:
        return sum(1 for event in events_by_person[person] if event.get("event") == "Support Ticket Opened")

    heavy = members(persons, "support_heavy")
    assert heavy and all(tickets(person) >= 6 for person in heavy)
    others = [tickets(person) for person in set(persons.person_id) - heavy]
    assert sum(others) / len(others) < 1


def test_trial_never_subscribed_is_the_demo_audience(persons, events_by_person) -> None:
    audience = members(persons, "trial_never_subscribed")
    assert audience
    for person in audience:
        names = Counter(event.get("event") for event in events_by_person[person])
        assert names["Trial Started"] == 1 and names["Support Ticket Opened"] >= 1
        assert names["Subscription Started"] == 0
    assert set(persons[persons.person_id.isin(audience)].plan) == {"trial"}


def test_activity_is_heavy_tailed_and_diurnal(persons, events_by_person) -> None:
    counts = pd.Series({person: len(events) for person, events in events_by_person.items()})
    assert counts.max() > 10 * counts.median()
    hours = Counter(when(event["timestamp"]).hour for events in events_by_person.values() for event in events)
    assert max(hours.values()) > 3 * min(hours.values())


def test_duplicate_deliveries_are_exact_copies(run: GenerationSummary, lines) -> None:
    by_id = defaultdict(list)
    for _, line in lines:
        by_id[json.loads(line)["messageId"]].append(line)
    repeated = {message_id: copies for message_id, copies in by_id.items() if len(copies) > 1}
    assert run.duplicates == round(EVENTS * 0.002) == sum(len(copies) - 1 for copies in repeated.values())
    assert all(len(set(copies)) == 1 for copies in repeated.values())


def test_duplicate_fraction_is_configurable(tmp_path: Path) -> None:
    summary = generate(5_000, 500, 10, SEED, tmp_path / "dups", END, duplicate_fraction=0.05)
    ids = Counter(json.loads(line)["messageId"] for path in summary.files for line in read_lines(path))
    assert summary.duplicates == 250 == sum(count - 1 for count in ids.values())


def test_summary_counts_what_was_written(run: GenerationSummary, events) -> None:
    assert run.events_by_type == dict(sorted(Counter(event["type"] for event in events).items()))
    assert sum(run.events_by_source.values()) == EVENTS
    assert run.persons == PROFILES
    assert run.seconds > 0


def test_refuses_to_write_into_a_folder_with_data(run: GenerationSummary, tmp_path: Path) -> None:
    with pytest.raises(FileExistsError):
        generate(1_000, 100, 10, SEED, run.out, END)
    target = tmp_path / "replace"
    generate(1_000, 100, 10, SEED, target, END)
    (target / "keep.txt").write_text("not ours")
    summary = generate(1_000, 100, 5, SEED, target, END, overwrite=True)
    days = {path.name for path in target.iterdir() if path.is_dir() and not path.name.startswith("_")}
    assert len(days) == 5 and (target / "keep.txt").exists() and summary.events == 1_000


def test_too_few_events_for_the_profiles_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="profiles"):
        generate(100, 1_000, 10, SEED, tmp_path / "few", END)
