"""Shared base for HTTP API destinations: one session, TLS verified, timeouts, no redirects, errors classified."""

from __future__ import annotations

import datetime as dt
import email.utils
from typing import Any, ClassVar

import orjson
import requests
from requests.adapters import HTTPAdapter

from reverse_etl.destinations.base import (
    BatchRejected,
    DeliveryError,
    DeliverySettings,
    Destination,
    FatalError,
    RetryableError,
)
from reverse_etl.network import check_destination_url
from reverse_etl.redaction import redact, redact_excerpt

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
FATAL_STATUS = frozenset({401, 403, 404, 405})


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds: either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


class HttpDestination(Destination):
    """Subclasses call `self.request(...)`; it returns only 2xx responses and raises the engine's errors."""

    default_max_in_flight: ClassVar[int] = 4  # requests' Session with a pool of 4 is safe across threads

    def __init__(self, name: str, settings: DeliverySettings) -> None:
        super().__init__(name, settings)
        check_destination_url(self.base_url, allow_link_local=settings.allow_link_local)
        self.session = requests.Session()
        self.session.verify = True  # never disabled: a destination with a private CA sets REQUESTS_CA_BUNDLE
        self.session.trust_env = False  # no proxies or netrc credentials picked up from the environment
        # The engine does retries itself (it needs to see every attempt); urllib3's pool just keeps alive.
        adapter = HTTPAdapter(max_retries=0, pool_connections=1, pool_maxsize=4)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    @property
    def base_url(self) -> str:
        raise NotImplementedError

    def auth_headers(self) -> dict[str, str]:
        return {}

    def classify_error(self, response: requests.Response) -> DeliveryError | None:
        """Destination-specific reading of an error answer (e.g. Meta signals throttling with a 400)."""
        return None

    def request(self, method: str, url: str, *, body: Any = None, **kwargs: Any) -> requests.Response:
        headers = {"Content-Type": "application/json", **self.auth_headers(), **kwargs.pop("headers", {})}
        data = body if isinstance(body, bytes | None) else orjson.dumps(body)
        timeout = self.settings.timeout_seconds
        try:
            response = self.session.request(
                method,
                url,
                data=data,
                headers=headers,
                timeout=(min(timeout, 10.0), timeout),
                allow_redirects=False,
                **kwargs,
            )
        except requests.exceptions.SSLError as error:
            # A certificate that does not verify will not start verifying on a retry.
            raise FatalError(f"{self.name}: TLS verification failed: {redact(str(error))[:300]}") from error
        except requests.Timeout as error:
            raise RetryableError(f"{self.name}: request timed out after {timeout:g}s") from error
        except requests.ConnectionError as error:
            raise RetryableError(f"{self.name}: connection failed: {redact(str(error))[:300]}") from error
        status = response.status_code
        if status < 300:
            return response
        detail = redact_excerpt(response.text, 500)
        specific = self.classify_error(response)
        if specific is not None:
            raise specific
        if status in RETRYABLE_STATUS:
            raise RetryableError(
                f"{self.name}: HTTP {status}: {detail}",
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if status in FATAL_STATUS or 300 <= status < 400:
            raise FatalError(f"{self.name}: HTTP {status}: {detail}")
        try:
            body = response.json()
        except ValueError:
            body = None
        raise BatchRejected(f"{self.name}: HTTP {status}: {detail}", body=body)

    def close(self) -> None:
        self.session.close()
