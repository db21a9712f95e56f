"""Destination registry: a new destination is one module and one line here."""

from __future__ import annotations

from reverse_etl.destinations.base import Destination
from reverse_etl.destinations.webhook import WebhookDestination

DESTINATION_TYPES: dict[str, type[Destination]] = {
    "webhook": WebhookDestination,
}
