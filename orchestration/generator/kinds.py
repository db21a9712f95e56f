"""The kinds of event the generator emits, and the Segment call, event name and source of each."""

from __future__ import annotations

import numpy as np

# Client-side kinds (sent by the web or ios app of the device the person is on).
PAGE = 0
SCREEN = 1
PRODUCT_VIEWED = 2
SIGNED_UP = 3
LOGGED_IN = 4
TRIAL_STARTED = 5
IDENTIFY_DEVICE = 6
ALIAS_DEVICE = 7
GROUP = 8
# Server-side kinds (sent by a backend source).
SUBSCRIPTION_STARTED = 9
ORDER_COMPLETED = 10
IDENTIFY_BILLING = 11
IDENTIFY_CRM = 12
ALIAS_LEGACY = 13
SUPPORT_TICKET_OPENED = 14
CHECKOUT_STARTED = 15

FIRST_SERVER_KIND = SUBSCRIPTION_STARTED

CALL_TYPES = ("track", "page", "screen", "identify", "alias", "group")
# Per kind: index into CALL_TYPES.
KIND_CALL = np.array([1, 2, 0, 0, 0, 0, 3, 4, 5, 0, 0, 3, 3, 4, 0, 0])

TRACK_EVENTS = (
    "Product Viewed",
    "Signed Up",
    "Logged In",
    "Trial Started",
    "Subscription Started",
    "Order Completed",
    "Support Ticket Opened",
    "Checkout Started",
)
# Per kind: index into TRACK_EVENTS, -1 for calls that are not tracks.
KIND_EVENT = np.array([-1, -1, 0, 1, 2, 3, -1, -1, -1, 4, 5, -1, -1, -1, 6, 7])

WEB, IOS, CRM, BILLING, SUPPORT = range(5)  # indices into vocabulary.SOURCES
# Per server kind: its source (client kinds take the source of their device).
KIND_SERVER_SOURCE = np.array([-1] * 9 + [BILLING, BILLING, BILLING, CRM, CRM, SUPPORT, BILLING])
