"""`demo`: the webhook destination of `cdp demo`, delivering to a receiver it hosts while it syncs.

Each sync starts `reverse_etl.demo_server.DemoDestination` on 127.0.0.1 (a free port, a signing secret made
for this process), delivers over real HTTP exactly as `webhook` does, signatures and idempotency keys
included, and stops it when the sync ends. The receiver keeps what it was sent in `folder` (`state.json`:
audience -> key -> fields; `received.jsonl`: one line per applied batch), so nothing has to keep running
between syncs and no address or secret has to live in the environment or in destinations.yml.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import ClassVar

from reverse_etl.demo_server import DemoDestination
from reverse_etl.destinations.base import DeliverySettings
from reverse_etl.destinations.webhook import WebhookDestination, WebhookSettings


class DemoSettings(DeliverySettings):
    folder: str  # where the receiver keeps its state


class DemoWebhookDestination(WebhookDestination):
    type_name: ClassVar[str] = "demo"
    Settings: ClassVar[type[DeliverySettings]] = DemoSettings

    def __init__(self, name: str, settings: DeliverySettings) -> None:
        if not isinstance(settings, DemoSettings):
            raise TypeError(f"demo destination {name!r} needs DemoSettings")
        secret = secrets.token_hex(16)
        self.receiver = DemoDestination(Path(settings.folder).expanduser(), secret=secret)
        self.receiver.__enter__()
        try:
            delivery = settings.model_dump(exclude={"folder"})
            super().__init__(name, WebhookSettings(**delivery, url=self.receiver.url, secret=secret))
        except BaseException:
            self.receiver.__exit__(None, None, None)
            raise

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.receiver.__exit__(None, None, None)
