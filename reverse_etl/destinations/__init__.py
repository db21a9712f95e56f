"""Destination registry: a new destination is one module and one line here."""

from __future__ import annotations

from reverse_etl.destinations.base import Destination
from reverse_etl.destinations.braze import BrazeDestination
from reverse_etl.destinations.demo import DemoWebhookDestination
from reverse_etl.destinations.files import FilesDestination
from reverse_etl.destinations.hubspot import HubSpotDestination
from reverse_etl.destinations.meta import MetaCustomAudienceDestination
from reverse_etl.destinations.postgres import PostgresDestination
from reverse_etl.destinations.salesforce import SalesforceDestination
from reverse_etl.destinations.segment import SegmentDestination
from reverse_etl.destinations.webhook import WebhookDestination

DESTINATION_TYPES: dict[str, type[Destination]] = {
    "webhook": WebhookDestination,
    "segment": SegmentDestination,
    "hubspot": HubSpotDestination,
    "salesforce": SalesforceDestination,
    "meta_custom_audience": MetaCustomAudienceDestination,
    "braze": BrazeDestination,
    "postgres": PostgresDestination,
    "files": FilesDestination,
    "demo": DemoWebhookDestination,
}
