"""The `context` of web and ios events: what each device always sends, JSON-encoded once per device."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.generator import vocabulary as vocab
from orchestration.generator.devices import Devices
from orchestration.generator.json_fragments import encoded, json_object, literal, quoted, unwrap
from orchestration.generator.population import Persons


@dataclass(frozen=True)
class DeviceContexts:
    """The context keys a device always sends, JSON-encoded once per device.

    Web contexts come without braces (each event adds its page); ios contexts are complete, once per
    `network.wifi` value. Device d's entry is `web[position[d]]`, or `ios[position[d] + wifi]`.
    """

    web: pa.Array
    ios: pa.Array
    position: np.ndarray


def device_contexts(persons: Persons, devices: Devices) -> DeviceContexts:
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
            ("library", literal(vocab.WEB_LIBRARY)),
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
        ("library", literal(vocab.IOS_LIBRARY)),
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
